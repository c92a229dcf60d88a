import type { Job } from '../contracts/job';
import type { Logger } from '../contracts/logger';

/** What a handler receives besides the job. */
export interface JobContext {
  /**
   * Fires when the attempt must stop: its `timeoutMs` elapsed (reason: `ConveyorError('TIMEOUT')`), the lease was
   * lost or the job was cancelled (`LEASE_LOST`), or the worker is closing and its grace period ran out
   * (`TIMEOUT`). Pass it to `fetch`, database drivers, or check `signal.aborted` in loops.
   */
  readonly signal: AbortSignal;
  /** 1-based number of this attempt. */
  readonly attempt: number;
  /** The worker running the attempt (null for `Queue.runNow`). */
  readonly workerId: string | null;
  /** The worker's (or queue's) logger. */
  readonly logger: Logger;
  /**
   * Store progress (a number 0–100 or any JSON value) and publish `job.progress`. Rejects with `LeaseLostError`
   * when the attempt no longer holds its lease: stop working then.
   */
  updateProgress(progress: unknown): Promise<void>;
}

/** Runs one job. Throw (or reject) to fail the attempt; throw `UnrecoverableError` to skip remaining retries. */
export type JobHandler<Payload = unknown, Result = unknown> = (
  job: Job<Payload>,
  ctx: JobContext,
) => Result | Promise<Result>;

/** Job types mapped to their payload types, e.g. `{ 'send-email': { to: string } }`. */
export type JobMap = Record<string, unknown>;

/** One handler per job type of `Jobs`. */
export type HandlerMap<Jobs extends JobMap> = { [Type in keyof Jobs & string]?: JobHandler<Jobs[Type]> };

/** The controller behind a context's signal, created only when someone reads `signal` or it must fire. */
export class LazyAbort {
  private controller: AbortController | null = null;
  private reason: unknown = undefined;
  private fired = false;

  /** The signal; an abort that happened before it was first read is already applied. */
  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.fired) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.fired;
  }

  /** Fire once; later calls are ignored (the first reason wins). */
  abort(reason: unknown): void {
    if (this.fired) return;
    this.fired = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}
