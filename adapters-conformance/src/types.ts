import type { AdapterCapabilities, Backend } from '@conveyor/core';
import type { TestClock } from './clock';

/** What the suite hands your factory for each fresh backend. */
export interface BackendFactoryContext {
  /** Pass `clock.now` as the adapter's `clock` option: the suite moves time with it. */
  clock: TestClock;
}

/**
 * Returns a fresh, empty, isolated backend (its own database, schema, key prefix…). The suite calls `init` on
 * every part before use and closes every part afterwards; do neither yourself.
 */
export type BackendFactory = (context: BackendFactoryContext) => Backend | Promise<Backend>;

/** What every check receives: an initialised backend and the clock it was built with. */
export interface CheckContext {
  backend: Backend;
  clock: TestClock;
  /**
   * Close the backend now (idempotent); the harness then does not close it again. For checks about behaviour after
   * `close`.
   */
  close(): Promise<void>;
  /**
   * Upper bound, in ms, for anything the check waits for in real time (event delivery over a network).
   * @default 5000
   */
  deliveryTimeoutMs: number;
}

/** One conformance check: a plain async function that throws on a violation, plus what the suite needs to run it. */
export interface ConformanceCheck {
  (context: CheckContext): Promise<void>;
  /** A sentence about the behaviour, used as the test name. */
  readonly title: string;
  /** The `describe` block it belongs to. */
  readonly group: CheckGroup;
  /**
   * When the check only applies to some adapters: returns why it does not apply to this one (the test is then
   * skipped with that reason in its name), or null when it applies.
   */
  readonly unsupported?: (capabilities: AdapterCapabilities) => string | null;
}

/** Groups, one `describe` each. */
export type CheckGroup =
  | 'queue: lifecycle'
  | 'queue: enqueue'
  | 'queue: claim'
  | 'queue: leases'
  | 'queue: recovery'
  | 'queue: reading'
  | 'queue: admin'
  | 'queue: retention'
  | 'queue: schedules'
  | 'storage'
  | 'metrics'
  | 'events'
  | 'queue: inline records'
  | 'concurrency';

/** A failing model run, once fixed, replayed forever. */
export interface ModelRegression {
  /** The seed fast-check printed. */
  seed: number;
  /** The `path` (counterexample path) fast-check printed, e.g. "12:3:0". */
  path: string;
  /**
   * The `replayPath` fast-check printed in the counterexample (`/*replayPath="…"*\/`). Required: without it
   * fc.commands rebuilds its shrink tree from which commands happened to run, and the path can lead elsewhere.
   */
  replayPath: string;
  /** The `maxCommands` of the failing run, when not the default (50): the path only replays with the same value. */
  maxCommands?: number;
  /** What went wrong, in a sentence, and where it was fixed. */
  note: string;
}
