import type { Logger } from '../contracts/logger';

/** Options of a {@link Flusher}. */
export interface FlusherOptions<T> {
  /** Name used in log lines, e.g. `executions`. */
  name: string;
  /** Writes one batch. A rejection keeps the batch for a later attempt (see `maxBuffered`). */
  write: (items: T[]) => Promise<void>;
  /** Flush as soon as this many items are buffered; also the most items one write receives. @default 500 */
  maxSize?: number;
  /**
   * Flush at the latest this long after the first buffered item. `0` flushes on the next turn of the event loop
   * (`setImmediate`), which coalesces everything produced by one burst of work without adding latency.
   * @default 0
   */
  maxDelayMs?: number;
  /**
   * Upper bound on buffered items while the store is failing; beyond it the oldest items are dropped (and logged),
   * so a long outage cannot exhaust memory. @default 100_000
   */
  maxBuffered?: number;
  /** Where failed writes are reported. */
  logger: Logger;
  /** Called with each write error, after it is logged. */
  onError?: (error: unknown) => void;
}

/** Delay before a failed write is tried again: doubles from 100 ms up to 10 s. */
const RETRY_BASE_MS = 100;
const RETRY_MAX_MS = 10_000;

/**
 * Buffers items and writes them in batches: when `maxSize` accumulate, `maxDelayMs` after the first one, on
 * {@link Flusher.flush}, and finally on {@link Flusher.close}. At most one write is in flight, so batches reach the
 * store in the order their items were added. A failed write is retried with backoff; it never throws at the
 * producer.
 */
export class Flusher<T> {
  private buffer: T[] = [];
  private readonly write: (items: T[]) => Promise<void>;
  private readonly maxSize: number;
  private readonly maxDelayMs: number;
  private readonly maxBuffered: number;
  private readonly logger: Logger;
  private readonly onError: ((error: unknown) => void) | undefined;
  private readonly name: string;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private immediate: ReturnType<typeof setImmediate> | null = null;
  private inFlight: Promise<void> | null = null;
  private failures = 0;
  private closed = false;

  constructor(options: FlusherOptions<T>) {
    this.name = options.name;
    this.write = options.write;
    this.maxSize = Math.max(1, options.maxSize ?? 500);
    this.maxDelayMs = Math.max(0, options.maxDelayMs ?? 0);
    this.maxBuffered = Math.max(this.maxSize, options.maxBuffered ?? 100_000);
    this.logger = options.logger;
    this.onError = options.onError;
  }

  /** Items waiting to be written (not counting a write in flight). */
  get size(): number {
    return this.buffer.length;
  }

  /** Add one item; schedules or triggers a write. */
  push(item: T): void {
    const n = this.buffer.push(item);
    if (n >= this.maxSize) this.start();
    else if (n === 1) this.arm();
  }

  /** Write everything buffered now (and wait for writes in flight). Resolves when the buffer was handed over. */
  async flush(): Promise<void> {
    this.disarm();
    // A write in flight must finish first; items added meanwhile go in the next batch.
    while (this.inFlight !== null || this.buffer.length > 0) {
      if (this.inFlight === null) this.start();
      const current = this.inFlight;
      if (current === null) break;
      await current;
      // Stop looping on a store that keeps failing: the items stay buffered (or were dropped past maxBuffered).
      if (this.failures > 0) break;
    }
  }

  /** Flush a last time and stop scheduling writes. Items still failing after that are dropped and logged. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.flush();
    this.closed = true;
    this.disarm();
    if (this.buffer.length > 0) {
      this.logger.error(
        `[conveyor] [flusher] dropped ${this.buffer.length} ${this.name} on close: the store kept refusing them.`,
        {
          flusher: this.name,
          dropped: this.buffer.length,
        },
      );
      this.buffer = [];
    }
  }

  private arm(): void {
    if (this.closed || this.inFlight !== null || this.timer !== null || this.immediate !== null) return;
    if (this.maxDelayMs === 0) {
      this.immediate = setImmediate(() => {
        this.immediate = null;
        this.start();
      });
    } else {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.start();
      }, this.maxDelayMs);
    }
  }

  private disarm(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.immediate !== null) {
      clearImmediate(this.immediate);
      this.immediate = null;
    }
  }

  /** Start a write of the whole buffer unless one is in flight (its completion starts the next). */
  private start(): void {
    if (this.inFlight !== null || this.buffer.length === 0) return;
    this.disarm();
    let batch: T[];
    if (this.buffer.length <= this.maxSize) {
      batch = this.buffer;
      this.buffer = [];
    } else {
      // Never more than maxSize per write: adapters may have limits (statement parameters, script arguments).
      batch = this.buffer.splice(0, this.maxSize);
    }
    this.inFlight = this.run(batch);
  }

  private async run(batch: T[]): Promise<void> {
    let retryDelay = 0;
    try {
      await this.write(batch);
      this.failures = 0;
    } catch (error) {
      this.failures++;
      // Put the batch back in front, bounded: the oldest items go first when the store has been down for long.
      const merged = batch.concat(this.buffer);
      const overflow = merged.length - this.maxBuffered;
      this.buffer = overflow > 0 ? merged.slice(overflow) : merged;
      this.logger.error(`[conveyor] [flusher] writing ${batch.length} ${this.name} failed; will retry.`, {
        flusher: this.name,
        error: error instanceof Error ? error.message : String(error),
        attempt: this.failures,
        dropped: Math.max(overflow, 0),
      });
      this.onError?.(error);
      retryDelay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(this.failures - 1, 16));
    } finally {
      this.inFlight = null;
    }
    if (this.closed || this.buffer.length === 0) return;
    if (retryDelay > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.start();
      }, retryDelay);
    } else if (this.buffer.length >= this.maxSize) {
      this.start();
    } else {
      this.arm();
    }
  }
}
