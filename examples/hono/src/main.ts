import { runExampleMain } from '@conveyor-examples/shared';
import { mountHono } from './app';

await runExampleMain('Conveyor + Hono', mountHono);
