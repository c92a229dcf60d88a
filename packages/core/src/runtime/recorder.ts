import type { Backend } from '../contracts/backend';
import type { ConveyorEvent } from '../contracts/events';
import type { Logger } from '../contracts/logger';
import type { MetricEvent } from '../contracts/metrics-adapter';
import type { ExecutionRecord } from '../contracts/storage-adapter';
import { Flusher } from './flusher';

/** How the runtime batches what it writes besides job state. */
export interface RecorderOptions {
  /** Flush a buffer once it holds this many items. @default 1000 */
  maxBatch?: number;
  /** Flush at the latest this long after the first buffered item; 0 means "next event-loop turn". @default 0 */
  maxDelayMs?: number;
}

/**
 * The runtime's write-behind for execution records, metrics and bus events: three {@link Flusher}s over one
 * backend. Everything a job produces in one burst of work reaches the store in one call per kind.
 *
 * Metric semantics (what the runtime records):
 * - `enqueued`: a job was stored (not counted when the enqueue was deduplicated);
 * - `started`: an attempt began, with `waitMs` = claim time − `runAt`;
 * - `completed`: an attempt succeeded, with `durationMs`;
 * - `retried`: an attempt failed (or timed out) and the job will run again, with `durationMs`;
 * - `failed`: an attempt failed and the job is now `failed` for good, with `durationMs`;
 * - `stalled`: a lease expired and the stalled sweep took the job back.
 */
export class Recorder {
  readonly executions: Flusher<ExecutionRecord>;
  readonly metrics: Flusher<MetricEvent>;
  readonly events: Flusher<ConveyorEvent>;

  constructor(backend: Backend, logger: Logger, options: RecorderOptions = {}, onError?: (error: unknown) => void) {
    const maxSize = options.maxBatch ?? 1000;
    const maxDelayMs = options.maxDelayMs ?? 0;
    const common = { maxSize, maxDelayMs, logger, ...(onError === undefined ? {} : { onError }) };
    this.executions = new Flusher({
      ...common,
      name: 'execution records',
      write: (items) => backend.storage.recordExecutions(items),
    });
    this.metrics = new Flusher({ ...common, name: 'metric events', write: (items) => backend.metrics.record(items) });
    this.events = new Flusher({ ...common, name: 'events', write: (items) => backend.events.publish(items) });
  }

  /** Write everything buffered now. */
  async flush(): Promise<void> {
    await Promise.all([this.executions.flush(), this.metrics.flush(), this.events.flush()]);
  }

  /** Final flush; nothing is scheduled afterwards. */
  async close(): Promise<void> {
    await Promise.all([this.executions.close(), this.metrics.close(), this.events.close()]);
  }
}
