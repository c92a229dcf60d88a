import { FINISHED_STATES } from '@conveyor/core';
import fc from 'fast-check';
import {
  AdvanceTimeCommand,
  CancelCommand,
  ClaimCommand,
  CleanCommand,
  CompleteCommand,
  EnqueueCommand,
  EnqueueSameIdCommand,
  FailCommand,
  HeartbeatCommand,
  LoseLeaseCommand,
  MODEL_QUEUE_SETS,
  PauseCommand,
  ProgressCommand,
  PromoteCommand,
  RecoverStalledCommand,
  ReleaseCommand,
  RemoveCommand,
  RetryCommand,
  type StaleOp,
  StaleWriteCommand,
} from './commands';
import { MODEL_QUEUES } from './model';

const queue = fc.constantFrom(...MODEL_QUEUES);
const index = fc.nat({ max: 31 });
/** Around the lease length (1000 ms), where the boundaries are. */
const duration = fc.constantFrom(0, 1, 10, 499, 500, 999, 1000, 1001, 2500);

/**
 * The command mix. Enqueue and claim are listed more than once so that runs build up enough jobs and leases for
 * the other commands to bite.
 */
export function modelCommands() {
  const enqueue = fc
    .record({
      queue,
      delayMs: fc.constantFrom(0, 0, 0, 0, 500, 1000, 3000),
      priority: fc.integer({ min: -1, max: 2 }),
      uniqueSlot: fc.option(fc.nat({ max: 2 }), { freq: 3 }),
      maxAttempts: fc.integer({ min: 1, max: 3 }),
    })
    .map((a) => new EnqueueCommand(a.queue, a.delayMs, a.priority, a.uniqueSlot, a.maxAttempts));
  const claim = fc
    .tuple(fc.constantFrom(...MODEL_QUEUE_SETS), fc.integer({ min: 1, max: 3 }))
    .map(([qs, limit]) => new ClaimCommand(qs, limit));
  const complete = index.map((i) => new CompleteCommand(i));
  const fail = fc.tuple(index, fc.option(fc.constantFrom(0, 500, 2000))).map(([i, d]) => new FailCommand(i, d));
  const advance = duration.map((ms) => new AdvanceTimeCommand(ms));
  const recover = fc.constant(new RecoverStalledCommand());
  const staleWrite = fc
    .tuple(index, fc.constantFrom('extend', 'complete', 'fail', 'release', 'progress') as fc.Arbitrary<StaleOp>)
    .map(([i, op]) => new StaleWriteCommand(i, op));
  // fc.commands picks uniformly among the arbitraries: repeating one weighs it. Lease commands only apply when a
  // job is active, so they get more weight to be drawn while one is.
  return [
    enqueue,
    enqueue,
    enqueue,
    enqueue,
    enqueue,
    enqueue,
    claim,
    claim,
    claim,
    complete,
    complete,
    complete,
    fail,
    fail,
    index.map((i) => new HeartbeatCommand(i)),
    index.map((i) => new ProgressCommand(i)),
    index.map((i) => new ReleaseCommand(i)),
    index.map((i) => new LoseLeaseCommand(i)),
    index.map((i) => new LoseLeaseCommand(i)),
    advance,
    advance,
    recover,
    recover,
    staleWrite,
    staleWrite,
    index.map((i) => new EnqueueSameIdCommand(i)),
    index.map((i) => new RetryCommand(i)),
    index.map((i) => new PromoteCommand(i)),
    index.map((i) => new CancelCommand(i)),
    index.map((i) => new RemoveCommand(i)),
    fc.tuple(queue, fc.boolean()).map(([q, p]) => new PauseCommand(q, p)),
    fc
      .tuple(queue, fc.constantFrom(...FINISHED_STATES), fc.constantFrom(0, 500, 2000))
      .map(([q, s, ms]) => new CleanCommand(q, s, ms)),
  ];
}
