/**
 * One resource's fetching discipline, so a slow server never sees requests pile up:
 * - at most one request in flight; a live refresh asked for while one is pending is remembered, not sent;
 * - live refreshes are throttled to one per `minIntervalMs` (a burst of events costs one trailing request);
 * - `reload()` (after a mutation, or a new filter) aborts the pending request and starts at once;
 * - `dispose()` (navigation away) aborts whatever is pending and ignores late answers.
 *
 * Plain TypeScript with injected timers, so it is unit-tested without a browser.
 */

/** What a subscriber sees. `data` stays while a refetch runs, so the screen does not flash. */
export interface SlotState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
}

/** Timers and clock, injectable for tests. */
export interface SlotTimers {
  now: () => number;
  setTimeout: (callback: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

const browserTimers: SlotTimers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** See the module comment. */
export class RequestSlot<T> {
  private state: SlotState<T> = { data: undefined, error: undefined, loading: false };
  private abort: AbortController | null = null;
  private lastStart = Number.NEGATIVE_INFINITY;
  private dirty = false;
  private timer: unknown = null;
  private disposed = false;

  constructor(
    private readonly load: (signal: AbortSignal) => Promise<T>,
    private readonly onChange: (state: SlotState<T>) => void,
    private readonly minIntervalMs = 1000,
    private readonly timers: SlotTimers = browserTimers,
  ) {}

  /** The latest state. */
  get current(): SlotState<T> {
    return this.state;
  }

  /** True while a request is pending. */
  get inFlight(): boolean {
    return this.abort !== null;
  }

  /** Fetch now, aborting a pending request (its answer may predate what the caller just changed). */
  reload(): void {
    if (this.disposed) return;
    this.clearTimer();
    this.abort?.abort();
    this.abort = null;
    this.dirty = false;
    this.start();
  }

  /** A live signal: refetch soon, never more than one request at a time nor more often than `minIntervalMs`. */
  request(): void {
    if (this.disposed) return;
    if (this.abort) {
      this.dirty = true;
      return;
    }
    if (this.timer !== null) return;
    const wait = this.lastStart + this.minIntervalMs - this.timers.now();
    if (wait <= 0) {
      this.start();
      return;
    }
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.request();
    }, wait);
  }

  /** Abort and forget; later answers are ignored. */
  dispose(): void {
    this.disposed = true;
    this.clearTimer();
    this.abort?.abort();
    this.abort = null;
  }

  private start(): void {
    const abort = new AbortController();
    this.abort = abort;
    this.lastStart = this.timers.now();
    this.set({ ...this.state, loading: true });
    this.load(abort.signal).then(
      (data) => this.settle(abort, { data, error: undefined, loading: false }),
      (error: unknown) => {
        if (abort.signal.aborted) return;
        this.settle(abort, { data: this.state.data, error, loading: false });
      },
    );
  }

  private settle(abort: AbortController, next: SlotState<T>): void {
    if (this.disposed || this.abort !== abort) return;
    this.abort = null;
    this.set(next);
    if (this.dirty) {
      this.dirty = false;
      this.request();
    }
  }

  private set(state: SlotState<T>): void {
    this.state = state;
    this.onChange(state);
  }

  private clearTimer(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}
