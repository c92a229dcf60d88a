import type { Backend } from '../contracts/backend';
import type { ConveyorEventType } from '../contracts/events';
import type { Job } from '../contracts/job';
import type { Logger } from '../contracts/logger';
import { makeEvent } from '../runtime/events';

/**
 * Tell workers and other dashboards what a dashboard action changed. The queue adapter changes state; the bus
 * carries the news (a `job.cancelled` is what makes a worker abort a running handler, a `job.enqueued` wakes idle
 * workers). A bus failure does not undo the change, so it is logged, not thrown.
 */
export async function publishJobEvent(
  backend: Backend,
  logger: Logger,
  type: ConveyorEventType,
  job: Pick<Job, 'id' | 'queue' | 'type' | 'state'>,
  at: number,
  data: Record<string, unknown> = {},
): Promise<void> {
  await publish(backend, logger, [
    makeEvent(type, at, job.queue, job.id, undefined, {
      type: job.type,
      state: job.state,
      source: 'dashboard',
      ...data,
    }),
  ]);
}

/** Publish a queue-level event (`queue.paused`, `queue.resumed`, a bulk `job.enqueued` wake-up). */
export async function publishQueueEvent(
  backend: Backend,
  logger: Logger,
  type: ConveyorEventType,
  queue: string,
  at: number,
  data: Record<string, unknown> = {},
): Promise<void> {
  await publish(backend, logger, [makeEvent(type, at, queue, undefined, undefined, { source: 'dashboard', ...data })]);
}

async function publish(backend: Backend, logger: Logger, events: Parameters<Backend['events']['publish']>[0]) {
  try {
    await backend.events.publish(events);
  } catch (error) {
    logger.warn(
      '[conveyor] [dashboard] could not publish an event about a dashboard action; the action itself took effect.',
      {
        error: error instanceof Error ? error.message : String(error),
        types: events.map((e) => e.type),
      },
    );
  }
}
