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
}

export const DEFAULT_CAPABILITIES: AdapterCapabilities = {
  search: false,
  crossProcessEvents: false,
  transactionalEnqueue: false,
  multiProcess: false,
  pushWakeup: false,
};
