import { runExampleMain } from '@conveyor-examples/shared';
import { mountExpress } from './app';

await runExampleMain('Conveyor + Express', mountExpress);
