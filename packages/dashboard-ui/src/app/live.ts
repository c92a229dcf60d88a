/**
 * Keeps the UI live: Server-Sent Events from `/api/events` when they work, else polling `/api/stats/live`; nothing at
 * all while the tab is hidden. It only says "something changed" — each page's resources decide whether that concerns
 * them and refetch at their own pace (see `request-slot.ts`).
 *
 * Browser globals are injected so the state machine is unit-tested in Node with fakes.
 */

/** The event shape of `/api/events` (see API.md, "Events"). */
export interface LiveEvent {
  id?: string;
  type: string;
  timestamp?: string;
  queue?: string;
  jobId?: string;
  workerId?: string;
  data?: Record<string, unknown>;
}

/**
 * Why subscribers are woken: an event arrived over SSE; polling saw the counters move; the tab came back or the
 * stream (re)connected (anything may have changed); or the periodic tick that keeps ages and rates current.
 */
export type LiveSignal = { kind: 'event'; event: LiveEvent } | { kind: 'poll' } | { kind: 'resume' } | { kind: 'tick' };

/** `sse`: streaming; `polling`: fallback; `paused`: tab hidden; `offline`: the server does not answer. */
export type LiveMode = 'connecting' | 'sse' | 'polling' | 'paused' | 'offline';

/** The part of `EventSource` the hub uses. */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((event: Event) => void) | null;
  onerror: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  addEventListener(type: string, listener: (event: MessageEvent) => void): void;
  close(): void;
}

/** What the hub needs from the page. */
export interface LiveDeps {
  /** Open the stream; absent when the browser has no EventSource (then the hub polls). */
  createEventSource?: ((url: string) => EventSourceLike) | undefined;
  /** `/api/stats/live`, resolving to anything comparable; rejects when the server is down. */
  fetchLiveStats: (signal: AbortSignal) => Promise<unknown>;
  /** Page visibility. */
  isHidden: () => boolean;
  onVisibilityChange: (listener: () => void) => () => void;
  setTimeout: (callback: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

/** Timings of the hub. */
export interface LiveOptions {
  /** URL of the SSE stream. */
  eventsUrl: string;
  /** Polling period of the fallback. @default 3000 */
  pollIntervalMs?: number;
  /** How long to poll before trying SSE again. @default 30000 */
  sseRetryMs?: number;
  /** Period of the `tick` signal. @default 15000 */
  tickMs?: number;
  /** Consecutive stream errors, without an open in between, before falling back. @default 2 */
  maxStreamErrors?: number;
}

/** Event names the server may use in the SSE `event:` field; unnamed events arrive as `message`. */
const NAMED_EVENTS = [
  'job.enqueued',
  'job.started',
  'job.progress',
  'job.completed',
  'job.failed',
  'job.retrying',
  'job.cancelled',
  'job.deleted',
  'queue.paused',
  'queue.resumed',
  'worker.started',
  'worker.heartbeat',
  'worker.stopped',
];

const CLOSED = 2;

/** See the module comment. One hub per page. */
export class LiveHub {
  private readonly listeners = new Set<(signal: LiveSignal) => void>();
  private readonly modeListeners = new Set<(mode: LiveMode) => void>();
  private currentMode: LiveMode = 'connecting';
  private source: EventSourceLike | null = null;
  private streamErrors = 0;
  private missedEvents = false;
  private pollTimer: unknown = null;
  private pollAbort: AbortController | null = null;
  private pollInFlight = false;
  private lastPoll: string | null = null;
  private sseRetryTimer: unknown = null;
  private tickTimer: unknown = null;
  private stopVisibility: (() => void) | null = null;
  private running = false;
  private readonly pollIntervalMs: number;
  private readonly sseRetryMs: number;
  private readonly tickMs: number;
  private readonly maxStreamErrors: number;

  constructor(
    private readonly deps: LiveDeps,
    private readonly options: LiveOptions,
  ) {
    this.pollIntervalMs = options.pollIntervalMs ?? 3000;
    this.sseRetryMs = options.sseRetryMs ?? 30_000;
    this.tickMs = options.tickMs ?? 15_000;
    this.maxStreamErrors = options.maxStreamErrors ?? 2;
  }

  /** The current transport. */
  get mode(): LiveMode {
    return this.currentMode;
  }

  /** Be told whenever something may have changed. Returns the unsubscribe function. */
  subscribe(listener: (signal: LiveSignal) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Be told when the transport changes. Returns the unsubscribe function. */
  onModeChange(listener: (mode: LiveMode) => void): () => void {
    this.modeListeners.add(listener);
    return () => this.modeListeners.delete(listener);
  }

  /** Start following visibility and connect unless hidden. */
  start(): void {
    if (this.stopVisibility) return;
    this.stopVisibility = this.deps.onVisibilityChange(() => {
      if (this.deps.isHidden()) this.suspend();
      else this.resume();
    });
    if (this.deps.isHidden()) this.setMode('paused');
    else this.resume(false);
  }

  /** Disconnect and stop every timer for good. */
  stop(): void {
    this.stopVisibility?.();
    this.stopVisibility = null;
    this.suspend();
    this.listeners.clear();
    this.modeListeners.clear();
  }

  private resume(announce = true): void {
    if (this.running) return;
    this.running = true;
    this.streamErrors = 0;
    if (this.deps.createEventSource) this.openStream();
    else this.startPolling();
    this.scheduleTick();
    if (announce) this.emit({ kind: 'resume' });
  }

  private suspend(): void {
    this.running = false;
    this.closeStream();
    this.stopPolling();
    this.clear('sseRetryTimer');
    this.clear('tickTimer');
    if (this.stopVisibility) this.setMode('paused');
  }

  private openStream(): void {
    const create = this.deps.createEventSource;
    if (!create) return;
    this.closeStream();
    if (this.currentMode !== 'polling' && this.currentMode !== 'offline') this.setMode('connecting');
    const source = create(this.options.eventsUrl);
    this.source = source;
    const onEvent = (message: MessageEvent): void => {
      if (this.source !== source) return;
      const event = parseEvent(message.data);
      if (event) this.emit({ kind: 'event', event });
    };
    source.onmessage = onEvent;
    for (const name of NAMED_EVENTS) source.addEventListener(name, onEvent);
    source.onopen = () => {
      if (this.source !== source) return;
      this.streamErrors = 0;
      this.stopPolling();
      this.clear('sseRetryTimer');
      this.setMode('sse');
      // Whatever happened while the stream was down was missed: refetch once.
      if (this.missedEvents) {
        this.missedEvents = false;
        this.emit({ kind: 'resume' });
      }
    };
    source.onerror = () => {
      if (this.source !== source) return;
      this.streamErrors += 1;
      this.missedEvents = true;
      if (source.readyState === CLOSED || this.streamErrors >= this.maxStreamErrors) this.fallBackToPolling();
    };
  }

  private fallBackToPolling(): void {
    this.closeStream();
    this.startPolling();
    this.clear('sseRetryTimer');
    this.sseRetryTimer = this.deps.setTimeout(() => {
      this.sseRetryTimer = null;
      if (this.running) {
        this.streamErrors = 0;
        this.openStream();
      }
    }, this.sseRetryMs);
  }

  private closeStream(): void {
    if (!this.source) return;
    const source = this.source;
    this.source = null;
    source.onopen = null;
    source.onerror = null;
    source.onmessage = null;
    source.close();
  }

  private startPolling(): void {
    if (this.pollTimer !== null || this.pollInFlight) return;
    if (this.currentMode !== 'offline') this.setMode('polling');
    this.poll();
  }

  private stopPolling(): void {
    this.clear('pollTimer');
    this.pollAbort?.abort();
    this.pollAbort = null;
    this.pollInFlight = false;
  }

  /** One request at a time: the next one is scheduled only after this one settles. */
  private poll(): void {
    this.pollTimer = null;
    if (!this.running || this.pollInFlight) return;
    const abort = new AbortController();
    this.pollAbort = abort;
    this.pollInFlight = true;
    this.deps.fetchLiveStats(abort.signal).then(
      (stats) => {
        if (abort.signal.aborted) return;
        this.pollInFlight = false;
        const signature = JSON.stringify(withoutTimestamp(stats));
        const changed = this.lastPoll !== null && signature !== this.lastPoll;
        const recovered = this.currentMode === 'offline';
        this.lastPoll = signature;
        if (this.source === null) this.setMode('polling');
        if (changed || recovered) this.emit({ kind: recovered ? 'resume' : 'poll' });
        this.schedulePoll(this.pollIntervalMs);
      },
      () => {
        if (abort.signal.aborted) return;
        this.pollInFlight = false;
        if (this.source === null) this.setMode('offline');
        // Back off while the server is down, so a dead server is not hammered.
        this.schedulePoll(this.pollIntervalMs * 3);
      },
    );
  }

  private schedulePoll(ms: number): void {
    if (!this.running) return;
    this.pollTimer = this.deps.setTimeout(() => this.poll(), ms);
  }

  private scheduleTick(): void {
    this.clear('tickTimer');
    this.tickTimer = this.deps.setTimeout(() => {
      this.tickTimer = null;
      if (!this.running) return;
      this.emit({ kind: 'tick' });
      this.scheduleTick();
    }, this.tickMs);
  }

  private clear(timer: 'pollTimer' | 'sseRetryTimer' | 'tickTimer'): void {
    if (this[timer] !== null) this.deps.clearTimeout(this[timer]);
    this[timer] = null;
  }

  private setMode(mode: LiveMode): void {
    if (mode === this.currentMode) return;
    this.currentMode = mode;
    for (const listener of [...this.modeListeners]) listener(mode);
  }

  private emit(signal: LiveSignal): void {
    for (const listener of [...this.listeners]) listener(signal);
  }
}

function parseEvent(data: unknown): LiveEvent | null {
  if (typeof data !== 'string') return null;
  try {
    const parsed: unknown = JSON.parse(data);
    if (parsed && typeof parsed === 'object' && typeof (parsed as LiveEvent).type === 'string')
      return parsed as LiveEvent;
  } catch {
    // A malformed event is dropped; the next tick refreshes anyway.
  }
  return null;
}

function withoutTimestamp(stats: unknown): unknown {
  if (stats && typeof stats === 'object' && !Array.isArray(stats)) {
    const { timestamp: _ignored, ...rest } = stats as Record<string, unknown>;
    return rest;
  }
  return stats;
}
