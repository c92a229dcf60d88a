import type { ConveyorEvent, Logger } from '../../src/index';
import { createMemoryBackend, type MemoryBackend } from '../../src/index';

/** A logger that keeps every line, so tests can assert on what the runtime reported. */
export interface RecordingLogger extends Logger {
  lines: { level: 'debug' | 'info' | 'warn' | 'error'; message: string; context?: Record<string, unknown> }[];
  messages(level?: 'debug' | 'info' | 'warn' | 'error'): string[];
}

export function recordingLogger(): RecordingLogger {
  const lines: RecordingLogger['lines'] = [];
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, context?: Record<string, unknown>): void => {
      lines.push(context === undefined ? { level, message } : { level, message, context });
    };
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    messages: (level) => lines.filter((l) => level === undefined || l.level === level).map((l) => l.message),
  };
}

/** A store clock that follows real time plus an offset the test can move forward. */
export function offsetClock(): { clock: () => number; advance(ms: number): void } {
  let offset = 0;
  return {
    clock: () => Date.now() + offset,
    advance(ms: number) {
      offset += ms;
    },
  };
}

let inlineRecords = false;

/**
 * Make {@link memoryBackend} build backends whose queue adapter writes records, metrics and events inline
 * (`capabilities.inlineRecords`), so a whole test file can run again over that path of the runtime.
 */
export function useInlineRecords(on: boolean): void {
  inlineRecords = on;
}

export function memoryBackend(clock?: () => number): MemoryBackend {
  return createMemoryBackend(clock === undefined ? { inlineRecords } : { clock, inlineRecords });
}

/** Every event published on the backend's bus from now on. */
export function collectEvents(backend: MemoryBackend): ConveyorEvent[] {
  const events: ConveyorEvent[] = [];
  backend.events.subscribe((event) => events.push(event));
  return events;
}

/** Poll `check` until it returns a truthy value (or throw after `timeoutMs`). */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A promise with its resolver, to hold a handler until the test lets it go. */
export function gate<T = void>(): { promise: Promise<T>; open(value: T): void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Timers and immediates the process holds (Node's own bookkeeping), to prove close() leaves none behind. */
export function pendingTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;
}

/** Wait until a job reaches `state`. */
export async function waitForState(backend: MemoryBackend, id: string, state: string, timeoutMs = 5000) {
  return waitFor(
    async () => {
      const job = await backend.queue.getJob(id);
      return job?.state === state ? job : null;
    },
    timeoutMs,
    `job ${id} to be ${state}`,
  );
}
