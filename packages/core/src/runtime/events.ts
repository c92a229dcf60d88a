import type { ConveyorEvent, ConveyorEventType } from '../contracts/events';
import { isoTimestamp, nextId } from './ids';

/** Build one bus event in the shape of API.md (`id` unique, `timestamp` ISO-8601 UTC). */
export function makeEvent(
  type: ConveyorEventType,
  at: number,
  queue: string | undefined,
  jobId: string | undefined,
  workerId: string | undefined,
  data: Record<string, unknown>,
): ConveyorEvent {
  const event: ConveyorEvent = { id: nextId(at), type, timestamp: isoTimestamp(at), data };
  if (queue !== undefined) event.queue = queue;
  if (jobId !== undefined) event.jobId = jobId;
  if (workerId !== undefined) event.workerId = workerId;
  return event;
}
