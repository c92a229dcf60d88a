import { afterAll } from 'vitest';
import { describeDashboardApi } from '../../core/test/dashboard/api-suite';
import { createSqliteBackend } from '../src/index';
import { tempDir } from './helpers';

// The dashboard's endpoint suite (every endpoint's happy path and bad inputs, answers checked against the route's
// own response schema) once over SQLite: a fresh WAL file per test.
const tmp = tempDir('conveyor-sqlite-dashboard-');
let n = 0;
afterAll(() => tmp.cleanup());
describeDashboardApi('sqlite', (clock) => createSqliteBackend({ connection: tmp.file(`dash-${++n}.db`), clock }));
