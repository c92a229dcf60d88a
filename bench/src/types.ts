/**
 * One system under test. `run.ts` loads targets by name from `./targets/<name>.ts` (default export: a factory) and
 * runs the same scenarios on each, side by side, in one process run.
 */
export interface BenchTarget {
  /** Display name, e.g. `conveyor-redis` or `bullmq`. */
  name: string;
  /** Connect, create a clean queue/schema/prefix. */
  setup(): Promise<void>;
  /** Enqueue `n` jobs one call at a time (awaiting each, `parallel` calls in flight). */
  enqueueSingle(n: number, payload: unknown, parallel: number): Promise<void>;
  /** Enqueue `n` jobs in bulk calls of `batch`. */
  enqueueBulk(n: number, payload: unknown, batch: number): Promise<void>;
  /**
   * Pre-load `n` jobs, then process them with a no-op handler at `concurrency`; resolves when all are done. A
   * target that can time the processing phase alone (without the pre-load) returns that timing, and the harness
   * reports it instead of the whole call.
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: targets written before ProcessTiming return Promise<void>.
  process(n: number, payload: unknown, concurrency: number): Promise<void | ProcessTiming>;
  /** Remove what setup created, close connections. */
  teardown(): Promise<void>;
}

/** The processing phase alone, as measured by a target (see {@link BenchTarget.process}). */
export interface ProcessTiming {
  /** Wall time from the worker's start to the last completion. */
  seconds: number;
  /** CPU time of this process over the same span (user + system). */
  cpuSeconds?: number;
}

/** A target module's default export. */
export type BenchTargetFactory = () => BenchTarget | Promise<BenchTarget>;

/** One figure in the JSON results. */
export interface BenchResult {
  target: string;
  scenario: 'enqueue-single' | 'enqueue-bulk' | 'process';
  jobs: number;
  concurrency?: number;
  batch?: number;
  /** Size of one job's payload as JSON (the small one, or the realistic ~300-byte one). */
  payloadBytes?: number;
  seconds: number;
  jobsPerSecond: number;
  /**
   * CPU time of the bench process during the scenario (user + system, every thread, GC included). On a shared
   * machine `jobs / cpuSeconds` is steadier than wall time; it excludes work done by a separate server process.
   */
  cpuSeconds?: number;
  rssMb: number;
  /** With `--rounds` > 1: every round's jobs/s, in run order; the row itself is the median round. */
  roundRates?: number[];
}
