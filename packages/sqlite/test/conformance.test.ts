import { runConformanceSuite } from '@conveyor/adapters-conformance';
import { afterAll } from 'vitest';
import { createSqliteBackend } from '../src/index';
import { tempDir } from './helpers';

/**
 * The shared suite, unchanged. Every backend is a fresh WAL file in a temp directory (the kind of file production
 * uses), with the suite's hand-moved clock. 200 model runs (as the memory reference runs) keep this file well under a minute on a shared 2-core machine.
 */
const tmp = tempDir('conveyor-sqlite-conformance-');
let n = 0;

afterAll(() => tmp.cleanup());

runConformanceSuite({
  name: 'sqlite',
  createBackend: ({ clock }) => createSqliteBackend({ connection: tmp.file(`backend-${++n}.db`), clock: clock.now }),
  modelRuns: 200,
});
