/**
 * What an adapter can do beyond the required contract. Declared by the adapter, read by the conformance suite (to
 * gate tests) and by the dashboard (to hide or refuse what the backend cannot do cheaply).
 */
export interface AdapterCapabilities {
  /** `listJobs({search})` is supported cheaply (an index, not a scan). */
  search: boolean;
  /** Events published in one process reach subscribers in others. */
  crossProcessEvents: boolean;
  /** Jobs can be enqueued inside the caller's own database transaction. */
  transactionalEnqueue: boolean;
  /** Several processes (or machines) can share the store safely. */
  multiProcess: boolean;
  /** Claims wake up on a push signal (LISTEN/NOTIFY, pub/sub) rather than polling alone. */
  pushWakeup: boolean;
  /**
   * The queue adapter writes what the runtime would otherwise write behind each job (execution records, metric
   * events, bus events) in the same atomic step as the enqueue, claim or ack that causes it: see
   * `EnqueueSideEffects`, `ClaimRequest.recordStart` and `AckSideEffects`. One store call per batch instead of four,
   * and no history for an ack that was refused. Absent means false.
   */
  inlineRecords?: boolean;
}

export const DEFAULT_CAPABILITIES: AdapterCapabilities = {
  search: false,
  crossProcessEvents: false,
  transactionalEnqueue: false,
  multiProcess: false,
  pushWakeup: false,
  inlineRecords: false,
};

/**
 * A clock in ms. Adapters take their time from the store by default ("now comes from the store"); every adapter
 * also accepts an optional `clock` option that replaces the store's clock, so tests (the conformance suite's
 * model-based test) can move time by hand. Production code never sets it.
 */
export type Clock = () => number;
