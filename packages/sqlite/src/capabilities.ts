import type { AdapterCapabilities } from '@conveyor/core';

/**
 * What the SQLite adapter can do. Several processes on one machine share the file safely and see each other's
 * events (by polling a small events table), but nothing pushes a wake-up to workers, enqueueing inside the
 * application's own transaction is not offered, and substring search would need a full-text index on every
 * payload (a large cost on every enqueue), so it is off. `inlineRecords`: enqueue, claim and ack write the
 * metrics, execution records and events the runtime would otherwise send separately, in the same transaction.
 */
export const SQLITE_CAPABILITIES: AdapterCapabilities = Object.freeze({
  search: false,
  crossProcessEvents: true,
  transactionalEnqueue: false,
  multiProcess: true,
  pushWakeup: false,
  inlineRecords: true,
});
