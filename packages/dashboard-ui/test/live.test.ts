import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type EventSourceLike, LiveHub, type LiveMode, type LiveSignal } from '../src/app/live';
import { RequestSlot, type SlotState } from '../src/app/request-slot';

class FakeEventSource implements EventSourceLike {
  readyState = 0;
  onopen: ((event: Event) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  closed = false;
  readonly named = new Map<string, (event: MessageEvent) => void>();
  constructor(readonly url: string) {}
  addEventListener(type: string, listener: (event: MessageEvent) => void): void {
    this.named.set(type, listener);
  }
  close(): void {
    this.closed = true;
    this.readyState = 2;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  emit(data: unknown, name?: string): void {
    const event = new MessageEvent(name ?? 'message', { data: JSON.stringify(data) });
    if (name) this.named.get(name)?.(event);
    else this.onmessage?.(event);
  }
  fail(closed: boolean): void {
    this.readyState = closed ? 2 : 0;
    this.onerror?.(new Event('error'));
  }
}

function setup(options: { fetchLiveStats?: (signal: AbortSignal) => Promise<unknown>; sse?: boolean } = {}) {
  const sources: FakeEventSource[] = [];
  let hidden = false;
  let onVisibility: (() => void) | null = null;
  const fetchLiveStats = vi.fn(options.fetchLiveStats ?? (async () => ({ timestamp: String(Date.now()), active: 0 })));
  const hub = new LiveHub(
    {
      createEventSource:
        options.sse === false
          ? undefined
          : (url) => {
              const source = new FakeEventSource(url);
              sources.push(source);
              return source;
            },
      fetchLiveStats,
      isHidden: () => hidden,
      onVisibilityChange: (listener) => {
        onVisibility = listener;
        return () => {
          onVisibility = null;
        };
      },
      setTimeout: (callback, ms) => setTimeout(callback, ms),
      clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    },
    { eventsUrl: '/dashboard/api/events', pollIntervalMs: 1000, sseRetryMs: 10_000, tickMs: 60_000 },
  );
  const signals: LiveSignal[] = [];
  const modes: LiveMode[] = [];
  hub.subscribe((signal) => signals.push(signal));
  hub.onModeChange((mode) => modes.push(mode));
  const setHidden = (value: boolean): void => {
    hidden = value;
    onVisibility?.();
  };
  return { hub, sources, signals, modes, fetchLiveStats, setHidden };
}

describe('LiveHub', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('streams events from SSE, unnamed and named alike', () => {
    const { hub, sources, signals, modes } = setup();
    hub.start();
    expect(sources).toHaveLength(1);
    expect(sources[0]!.url).toBe('/dashboard/api/events');
    sources[0]!.open();
    expect(hub.mode).toBe('sse');
    sources[0]!.emit({ type: 'job.completed', jobId: 'a' });
    sources[0]!.emit({ type: 'job.failed', jobId: 'b' }, 'job.failed');
    sources[0]!.emit('not json at all');
    expect(signals).toEqual([
      { kind: 'event', event: { type: 'job.completed', jobId: 'a' } },
      { kind: 'event', event: { type: 'job.failed', jobId: 'b' } },
    ]);
    expect(modes).toEqual(['sse']);
    hub.stop();
  });

  it('falls back to polling when the stream fails, one request at a time, and retries the stream later', async () => {
    let resolveFetch: ((value: unknown) => void) | null = null;
    const { hub, sources, fetchLiveStats, modes } = setup({
      fetchLiveStats: () =>
        new Promise((resolve) => {
          resolveFetch = resolve;
        }),
    });
    hub.start();
    sources[0]!.fail(true);
    expect(sources[0]!.closed).toBe(true);
    expect(hub.mode).toBe('polling');
    // The server is slow: a pending poll is never doubled, however long it takes.
    await vi.advanceTimersByTimeAsync(9_000);
    expect(fetchLiveStats).toHaveBeenCalledTimes(1);
    resolveFetch!({ active: 1 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fetchLiveStats).toHaveBeenCalledTimes(2);
    // After sseRetryMs the stream is tried again; once open, polling stops.
    expect(sources).toHaveLength(2);
    sources[1]!.open();
    expect(hub.mode).toBe('sse');
    resolveFetch!({ active: 2 });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(fetchLiveStats).toHaveBeenCalledTimes(2);
    expect(modes).toEqual(['polling', 'sse']);
    hub.stop();
  });

  it('signals a poll only when the live counters changed', async () => {
    let active = 0;
    const { hub, signals } = setup({
      sse: false,
      fetchLiveStats: async () => ({ timestamp: String(Date.now()), active }),
    });
    hub.start();
    await vi.advanceTimersByTimeAsync(3_500);
    expect(signals).toEqual([]);
    active = 3;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(signals).toEqual([{ kind: 'poll' }]);
    hub.stop();
  });

  it('goes offline and backs off while the server is down, then recovers', async () => {
    let down = true;
    const { hub, fetchLiveStats, signals } = setup({
      sse: false,
      fetchLiveStats: async () => {
        if (down) throw new Error('ECONNREFUSED');
        return { active: 0 };
      },
    });
    hub.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(hub.mode).toBe('offline');
    await vi.advanceTimersByTimeAsync(2_900);
    expect(fetchLiveStats).toHaveBeenCalledTimes(1);
    down = false;
    await vi.advanceTimersByTimeAsync(200);
    expect(hub.mode).toBe('polling');
    expect(signals).toEqual([{ kind: 'resume' }]);
    hub.stop();
  });

  it('disconnects while the tab is hidden and catches up when it is shown again', async () => {
    const { hub, sources, signals, fetchLiveStats, setHidden } = setup();
    hub.start();
    sources[0]!.open();
    setHidden(true);
    expect(sources[0]!.closed).toBe(true);
    expect(hub.mode).toBe('paused');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(sources).toHaveLength(1);
    expect(fetchLiveStats).not.toHaveBeenCalled();
    expect(signals).toEqual([]);
    setHidden(false);
    expect(sources).toHaveLength(2);
    expect(signals).toEqual([{ kind: 'resume' }]);
    hub.stop();
  });

  it('starts paused in a hidden tab', () => {
    const { hub, sources, setHidden } = setup();
    setHidden(true);
    hub.start();
    expect(hub.mode).toBe('paused');
    expect(sources).toHaveLength(0);
    hub.stop();
  });
});

describe('RequestSlot', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function deferredLoader() {
    const calls: { signal: AbortSignal; resolve: (value: number) => void }[] = [];
    const load = (signal: AbortSignal): Promise<number> =>
      new Promise<number>((resolve) => {
        calls.push({ signal, resolve });
      });
    return { calls, load };
  }

  it('never has two requests in flight; asks made meanwhile cost one more request after it settles', async () => {
    const { calls, load } = deferredLoader();
    const states: SlotState<number>[] = [];
    const slot = new RequestSlot(load, (state) => states.push(state), 1000);
    slot.reload();
    for (let i = 0; i < 50; i++) slot.request();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(calls).toHaveLength(1);
    calls[0]!.resolve(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(slot.current.data).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls).toHaveLength(2);
    slot.dispose();
  });

  it('throttles a burst of live signals to one trailing request', async () => {
    let count = 0;
    const slot = new RequestSlot(
      async () => ++count,
      () => {},
      1000,
    );
    slot.reload();
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 0; i < 100; i++) {
      slot.request();
      await vi.advanceTimersByTimeAsync(5);
    }
    await vi.advanceTimersByTimeAsync(2_000);
    expect(count).toBe(2);
    slot.dispose();
  });

  it('reload aborts the pending request and ignores its late answer', async () => {
    const { calls, load } = deferredLoader();
    const slot = new RequestSlot(load, () => {}, 1000);
    slot.reload();
    slot.reload();
    expect(calls).toHaveLength(2);
    expect(calls[0]!.signal.aborted).toBe(true);
    calls[1]!.resolve(2);
    calls[0]!.resolve(1);
    await vi.advanceTimersByTimeAsync(0);
    expect(slot.current.data).toBe(2);
    slot.dispose();
  });

  it('dispose (navigation away) aborts and drops whatever comes back', async () => {
    const { calls, load } = deferredLoader();
    const onChange = vi.fn();
    const slot = new RequestSlot(load, onChange, 1000);
    slot.reload();
    onChange.mockClear();
    slot.dispose();
    expect(calls[0]!.signal.aborted).toBe(true);
    calls[0]!.resolve(1);
    slot.request();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(onChange).not.toHaveBeenCalled();
    expect(calls).toHaveLength(1);
  });

  it('keeps the last data when a refresh fails', async () => {
    let fail = false;
    const slot = new RequestSlot(
      async () => {
        if (fail) throw new Error('boom');
        return 7;
      },
      () => {},
      0,
    );
    slot.reload();
    await vi.advanceTimersByTimeAsync(0);
    fail = true;
    slot.reload();
    await vi.advanceTimersByTimeAsync(0);
    expect(slot.current).toMatchObject({ data: 7, loading: false });
    expect((slot.current.error as Error).message).toBe('boom');
    slot.dispose();
  });
});
