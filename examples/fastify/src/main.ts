import { runExampleMain } from '@conveyor-examples/shared';
import { mountFastify } from './app';

await runExampleMain('Conveyor + Fastify', mountFastify);
