import { type AdapterCapabilities, closeBackend } from '@conveyor/core';
import { beforeAll, describe, it } from 'vitest';
import { type CheckId, checks } from './checks/index';
import { createTestClock, type TestClock } from './clock';
import { withBackend } from './harness';
import { MODEL_REGRESSIONS } from './model/regressions';
import { runModel } from './model/run-model';
import type { BackendFactory, CheckContext, CheckGroup, ConformanceCheck, ModelRegression } from './types';

/** Options of {@link runConformanceSuite}. */
export interface ConformanceOptions {
  /** The adapter's name, shown in every test name (`conformance: sqlite › …`). */
  name: string;
  /** A fresh, empty, isolated backend per call, built with `clock.now` as its `clock` option. */
  createBackend: BackendFactory;
  /**
   * fast-check runs of the model-based test. Each run builds a fresh backend.
   * @default 100
   */
  modelRuns?: number;
  /**
   * Most commands in one model run.
   * @default 50
   */
  modelMaxCommands?: number;
  /**
   * Check ids (keys of `checks`) or `"model"` to skip, each with the reason in a comment where you pass it.
   * @default []
   */
  skip?: readonly (CheckId | 'model' | 'model regressions')[];
  /** Register your adapter's own tests inside the suite's `describe`, with the same factory and clock helpers. */
  additionalTests?: (context: AdditionalTestsContext) => void;
  /**
   * Per-test timeout in ms; raise it for networked adapters.
   * @default 30000
   */
  timeoutMs?: number;
  /**
   * Longest real-time wait for something delivered asynchronously (events over a network), in ms.
   * @default 5000
   */
  deliveryTimeoutMs?: number;
  /**
   * Extra model regressions to replay besides the suite's own (`MODEL_REGRESSIONS`).
   * @default []
   */
  regressions?: readonly ModelRegression[];
}

/** What `additionalTests` receives. */
export interface AdditionalTestsContext {
  /** The factory you passed. */
  createBackend: BackendFactory;
  /** Run `body` with a fresh, initialised backend and its test clock; the backend is closed afterwards. */
  withBackend<T>(body: (context: CheckContext) => Promise<T>): Promise<T>;
  /** A new test clock at the suite's fixed epoch. */
  createClock(): TestClock;
  /** The capabilities the adapter declared. */
  capabilities(): AdapterCapabilities;
}

const GROUP_ORDER: CheckGroup[] = [
  'queue: lifecycle',
  'queue: enqueue',
  'queue: claim',
  'queue: leases',
  'queue: recovery',
  'queue: reading',
  'queue: admin',
  'queue: retention',
  'queue: schedules',
  'storage',
  'metrics',
  'events',
  'queue: inline records',
  'concurrency',
];

/**
 * Register the conformance suite as vitest tests: one `describe` per contract area, one `it` per check, the
 * model-based property test and its regression seeds. Call it at the top level of a test file.
 *
 * @example
 * runConformanceSuite({
 *   name: 'sqlite',
 *   createBackend: ({ clock }) => createSqliteBackend({ file: ':memory:', clock: clock.now }),
 *   modelRuns: 200,
 * });
 */
export function runConformanceSuite(options: ConformanceOptions): void {
  const timeout = options.timeoutMs ?? 30_000;
  const skip = new Set<string>(options.skip ?? []);
  const factory = options.createBackend;
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? 5000;

  describe(`conformance: ${options.name}`, () => {
    // Capabilities gate tests, and tests are registered while the file is collected, so read them once from a
    // backend that is built and closed without init (adapters read capabilities from their options).
    let capabilities: AdapterCapabilities | undefined;
    const readCapabilities = async () => {
      if (capabilities) return capabilities;
      const backend = await factory({ clock: createTestClock() });
      capabilities = backend.queue.capabilities;
      await closeBackend(backend).catch(() => undefined);
      return capabilities;
    };
    beforeAll(readCapabilities, timeout);

    const all = Object.entries(checks) as [CheckId, ConformanceCheck][];
    for (const group of GROUP_ORDER) {
      describe(group, () => {
        for (const [id, check] of all.filter(([, c]) => c.group === group)) {
          const title = `${check.title} [${id}]`;
          if (skip.has(id)) {
            // Skipped only when the adapter lists this check in `skip` (with its reason where it passes it); the
            // suite itself skips nothing, and the skipped check still shows in the report. Coverage of that
            // behaviour is then the adapter's own tests (our adapters skip no check: see each conformance.test.ts).
            it.skip(`${title} (skipped by the adapter's options)`, () => {});
            continue;
          }
          it(
            title,
            async (ctx) => {
              const reason = check.unsupported?.(await readCapabilities());
              if (reason) {
                ctx.skip(`not applicable: ${reason}`);
                return;
              }
              await withBackend(factory, check, { deliveryTimeoutMs });
            },
            timeout,
          );
        }
      });
    }

    describe('model', () => {
      const runs = options.modelRuns ?? 100;
      const maxCommands = options.modelMaxCommands ?? 50;
      const modelTitle = `the queue matches a reference model over ${runs} random command sequences`;
      // Skipped only on the adapter's explicit request (`skip: ['model']`); the example checks above still cover
      // each operation, and none of our adapters skips the model.
      if (skip.has('model')) it.skip(`${modelTitle} (skipped by the adapter's options)`, () => {});
      else it(modelTitle, () => runModel(factory, { runs, maxCommands }), Math.max(timeout, runs * 1000));

      const regressions = [...MODEL_REGRESSIONS, ...(options.regressions ?? [])];
      for (const regression of regressions) {
        const title = `regression seed ${regression.seed} path ${regression.path}: ${regression.note}`;
        // Skipped only on the adapter's explicit request (`skip: ['model regressions']`); the random model runs
        // still cover the same operations, and none of our adapters skips the regressions.
        if (skip.has('model regressions')) it.skip(title, () => {});
        else it(title, () => runModel(factory, { maxCommands, ...regression }), timeout);
      }
    });

    options.additionalTests?.({
      createBackend: factory,
      withBackend: (body) => withBackend(factory, body, { deliveryTimeoutMs }),
      createClock: () => createTestClock(),
      capabilities: () => {
        if (!capabilities) {
          throw new Error('[conveyor] [conformance] capabilities are read in beforeAll: call this inside a test.');
        }
        return capabilities;
      },
    });
  });
}
