/**
 * `npm run demo`: SQLite (no server to install), Express, three workers, a scheduler with recurring jobs, and a
 * generator of realistic jobs. The dashboard is at http://localhost:3000/dashboard.
 */
import { runExampleMain } from '@conveyor-examples/shared';
import { mountExpress } from '../../express/src/app';

process.env.CONVEYOR_BACKEND ??= 'sqlite';
process.env.CONVEYOR_SQLITE_FILE ??= '.data/conveyor-demo.db';
await runExampleMain('The Conveyor demo (SQLite + Express)', mountExpress);
