import { closeBackend, initBackend } from '@conveyor/core';
import fc, { type AsyncCommand } from 'fast-check';
import { createTestClock } from '../clock';
import type { BackendFactory } from '../types';
import { modelCommands } from './arbitraries';
import { checkInvariants } from './invariants';
import { createModel, type Model, type Real } from './model';

/** Options of {@link runModel}. */
export interface RunModelOptions {
  /**
   * Random command sequences to try; each builds a fresh backend.
   * @default 100
   */
  runs?: number;
  /**
   * Most commands per sequence.
   * @default 50
   */
  maxCommands?: number;
  /** Replay: the seed fast-check printed. */
  seed?: number;
  /** Replay: the counterexample path fast-check printed (needs `seed`). Runs that one case. */
  path?: string;
  /** Replay: the commands' `replayPath` fast-check printed; needed with `path` for an exact replay. */
  replayPath?: string;
}

/** Runs a command, then checks every invariant against the model. */
class Checked implements AsyncCommand<Model, Real, false> {
  constructor(private readonly inner: AsyncCommand<Model, Real, false>) {}
  check(m: Readonly<Model>) {
    return this.inner.check(m);
  }
  async run(m: Model, r: Real) {
    await this.inner.run(m, r);
    await checkInvariants(m, r);
  }
  toString() {
    return this.inner.toString();
  }
}

/**
 * The model-based property test: random sequences of queue operations (enqueue, claim, heartbeat, complete, fail,
 * release, time moving, leases lost, recovery, retry, promote, cancel, remove, pause, clean, stale writes) run
 * against a fresh backend and a plain reference model, with the invariants checked after every step. Rejects with
 * fast-check's report (seed, path and the shrunk command list) on the first violation.
 */
export async function runModel(createBackend: BackendFactory, options: RunModelOptions = {}): Promise<void> {
  const commands = modelCommands().map((arb) => arb.map((cmd) => new Checked(cmd)));
  const property = fc.asyncProperty(
    fc.commands(commands, {
      maxCommands: options.maxCommands ?? 50,
      // The default size draws a handful of commands per run; 'max' spreads lengths up to maxCommands.
      size: 'max',
      ...(options.replayPath === undefined ? {} : { replayPath: options.replayPath }),
    }),
    async (cmds) => {
      const clock = createTestClock();
      const backend = await createBackend({ clock });
      try {
        await initBackend(backend);
        await fc.asyncModelRun(() => ({ model: createModel(clock.now()), real: { backend, clock } }), cmds);
      } finally {
        await closeBackend(backend);
      }
    },
  );
  const replay = options.path !== undefined;
  await fc.assert(property, {
    // Put the violated invariant in the message itself: some runners drop an Error's `cause`.
    includeErrorInReport: true,
    numRuns: replay ? 1 : (options.runs ?? 100),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(replay ? { path: options.path } : {}),
  });
}
