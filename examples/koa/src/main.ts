import { runExampleMain } from '@conveyor-examples/shared';
import { mountKoa } from './app';

await runExampleMain('Conveyor + Koa', mountKoa);
