/**
 * Side-by-side throughput of Conveyor adapters and the libraries they are measured against ("anchors").
 *
 *   npm run bench -- --adapter memory
 *   npm run bench -- --adapter sqlite,redis --jobs 50000 --concurrency 100
 *
 * Each adapter brings its anchors into the same run (same machine, same moment, same payloads). See README.md for
 * what each figure means. Timings are printed and written to bench/results/<adapters>.json; nothing here passes or
 * fails.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createRuntimeOnlyTarget } from './runtime-target';
import type { BenchResult, BenchTarget, BenchTargetFactory, ProcessTiming } from './types';

/** Which targets run for an `--adapter` name: Conveyor's own target first, then its anchors. */
export const ANCHORS: Record<string, string[]> = {
  memory: ['memory'],
  sqlite: ['sqlite', 'plainjob'],
  redis: ['redis', 'bullmq'],
  postgres: ['postgres', 'graphile-worker', 'pg-boss'],
  // Not a store: the runtime over a store that does nothing, to show the runtime's own ceiling.
  runtime: ['runtime'],
};

/** Targets that live in this folder rather than in targets/<name>.ts. */
const BUILT_IN: Record<string, BenchTargetFactory> = { runtime: createRuntimeOnlyTarget };

const here = dirname(fileURLToPath(import.meta.url));

/** A small payload, and a realistic one of about 300 bytes of JSON (an e-mail job with some metadata). */
const SMALL_PAYLOAD = { n: 1 };
export const REALISTIC_PAYLOAD = {
  to: 'ada.lovelace@example.com',
  from: 'notifications@example.com',
  template: 'weekly-digest',
  locale: 'en-GB',
  userId: 'usr_01HZY3W9QK7T8N4M2P5R6S7V8X',
  variables: { firstName: 'Ada', unread: 12, plan: 'team', trialEndsAt: '2030-01-31T00:00:00.000Z' },
  tags: ['digest', 'weekly', 'marketing-opt-in'],
  attempt: { source: 'scheduler', requestId: 'req_7f3a9c2e41d8' },
};

interface Options {
  adapters: string[];
  jobs: number;
  singleJobs: number;
  concurrency: number;
  batch: number;
  parallel: number;
  warmup: number;
  timeoutS: number;
  out: string | null;
  /** Only these scenarios (`enqueue-single`, `enqueue-bulk`, `process`); all when empty. */
  scenarios: string[];
  /** Only these targets of the chosen adapters; all when empty. */
  targets: string[];
  /** Times each target runs each scenario, taking turns with the others; the median round is reported. */
  rounds: number;
  /**
   * The Conveyor Worker's `prefetch` in the process scenario (jobs claimed ahead of free slots). 0 (the Worker's
   * default) unless set; the graphile-worker target runs with a local queue of 500 jobs, its own claim-ahead.
   */
  prefetch: number;
}

interface Scenario {
  scenario: BenchResult['scenario'];
  payload: unknown;
  payloadBytes: number;
  jobs: (o: Options) => number;
  // biome-ignore lint/suspicious/noConfusingVoidType: mirrors BenchTarget.process, which may return nothing.
  run: (target: BenchTarget, n: number, o: Options) => Promise<void | ProcessTiming>;
  describe: (o: Options) => Pick<BenchResult, 'concurrency' | 'batch'>;
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value), 'utf8');

const SCENARIOS: Scenario[] = [
  {
    scenario: 'enqueue-single',
    payload: SMALL_PAYLOAD,
    payloadBytes: bytes(SMALL_PAYLOAD),
    jobs: (o) => o.singleJobs,
    run: (t, n, o) => t.enqueueSingle(n, SMALL_PAYLOAD, o.parallel),
    describe: (o) => ({ concurrency: o.parallel }),
  },
  {
    scenario: 'enqueue-bulk',
    payload: SMALL_PAYLOAD,
    payloadBytes: bytes(SMALL_PAYLOAD),
    jobs: (o) => o.jobs,
    run: (t, n, o) => t.enqueueBulk(n, SMALL_PAYLOAD, o.batch),
    describe: (o) => ({ batch: o.batch }),
  },
  {
    scenario: 'enqueue-bulk',
    payload: REALISTIC_PAYLOAD,
    payloadBytes: bytes(REALISTIC_PAYLOAD),
    jobs: (o) => o.jobs,
    run: (t, n, o) => t.enqueueBulk(n, REALISTIC_PAYLOAD, o.batch),
    describe: (o) => ({ batch: o.batch }),
  },
  {
    scenario: 'process',
    payload: SMALL_PAYLOAD,
    payloadBytes: bytes(SMALL_PAYLOAD),
    jobs: (o) => o.jobs,
    run: (t, n, o) => t.process(n, SMALL_PAYLOAD, o.concurrency),
    describe: (o) => ({ concurrency: o.concurrency }),
  },
  {
    scenario: 'process',
    payload: REALISTIC_PAYLOAD,
    payloadBytes: bytes(REALISTIC_PAYLOAD),
    jobs: (o) => o.jobs,
    run: (t, n, o) => t.process(n, REALISTIC_PAYLOAD, o.concurrency),
    describe: (o) => ({ concurrency: o.concurrency }),
  },
];

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      adapter: { type: 'string', default: 'memory' },
      jobs: { type: 'string', default: '100000' },
      'single-jobs': { type: 'string' },
      concurrency: { type: 'string', default: '100' },
      batch: { type: 'string', default: '1000' },
      parallel: { type: 'string', default: '16' },
      warmup: { type: 'string', default: '2000' },
      'timeout-s': { type: 'string', default: '600' },
      out: { type: 'string' },
      scenario: { type: 'string' },
      targets: { type: 'string' },
      rounds: { type: 'string', default: '1' },
      prefetch: { type: 'string', default: '0' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    console.log(
      'usage: npm run bench -- --adapter <memory|sqlite|redis|postgres|runtime>[,…] [--jobs N] [--single-jobs N]\n' +
        '         [--concurrency C] [--batch B] [--parallel P] [--warmup N] [--timeout-s S] [--out file.json]\n' +
        '         [--scenario enqueue-single|enqueue-bulk|process[,…]] [--targets name[,…]] [--rounds R]\n' +
        "         [--prefetch P]   (the Conveyor Worker's prefetch while processing; default 0)",
    );
    process.exit(0);
  }
  const int = (name: string, text: string | undefined, min: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) {
      throw new Error(`--${name} must be a whole number of at least ${min}, got ${String(text)}`);
    }
    return n;
  };
  const jobs = int('jobs', values.jobs, 1);
  const list = (text: string | undefined) =>
    (text ?? '')
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== '');
  const adapters = list(values.adapter ?? 'memory');
  const scenarios = list(values.scenario);
  const known = new Set(SCENARIOS.map((s) => s.scenario as string));
  for (const s of scenarios) {
    if (!known.has(s)) throw new Error(`unknown --scenario "${s}"; choose from ${[...known].join(', ')}`);
  }
  for (const adapter of adapters) {
    if (ANCHORS[adapter] === undefined) {
      throw new Error(`unknown --adapter "${adapter}"; choose from ${Object.keys(ANCHORS).join(', ')}`);
    }
  }
  return {
    adapters,
    jobs,
    singleJobs:
      values['single-jobs'] === undefined ? Math.min(jobs, 20_000) : int('single-jobs', values['single-jobs'], 1),
    concurrency: int('concurrency', values.concurrency, 1),
    batch: int('batch', values.batch, 1),
    parallel: int('parallel', values.parallel, 1),
    warmup: int('warmup', values.warmup, 0),
    timeoutS: int('timeout-s', values['timeout-s'], 1),
    out: values.out ?? null,
    scenarios,
    targets: list(values.targets),
    rounds: int('rounds', values.rounds, 1),
    prefetch: int('prefetch', values.prefetch, 0),
  };
}

async function loadFactory(name: string): Promise<BenchTargetFactory | null> {
  const builtIn = BUILT_IN[name];
  if (builtIn !== undefined) return builtIn;
  const file = join(here, 'targets', `${name}.ts`);
  if (!existsSync(file)) {
    console.log(`note: no bench target "${name}" (bench/src/targets/${name}.ts is missing); skipped.`);
    return null;
  }
  const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  if (typeof mod.default !== 'function') {
    console.log(`note: bench/src/targets/${name}.ts has no default export factory; skipped.`);
    return null;
  }
  return mod.default as BenchTargetFactory;
}

function withTimeout<T>(promise: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * A full collection before each timed phase, so no scenario pays for the garbage of the one before it. `npm run
 * bench` does not pass `--expose-gc`, so the flag is set at run time and `gc` taken from a fresh context; it is
 * also put on `globalThis` for targets that collect after their untimed pre-load (see `processWith`).
 */
const gcFunction: (() => void) | undefined = (() => {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    if (typeof gc !== 'function') return undefined;
    (globalThis as { gc?: () => void }).gc = gc as () => void;
    return gc as () => void;
  } catch {
    return undefined;
  }
})();

function collectGarbage(): void {
  gcFunction?.();
}

/** Run one scenario on a fresh setup; returns null when it failed (reported, not fatal). */
async function measure(
  factory: BenchTargetFactory,
  scenario: Scenario,
  n: number,
  options: Options,
): Promise<{ target: string; seconds: number; cpuSeconds: number } | null> {
  const target = await factory();
  try {
    await withTimeout(target.setup(), options.timeoutS, `${target.name} setup`);
    collectGarbage();
    const cpu = process.cpuUsage();
    const started = performance.now();
    const timing = await withTimeout(
      scenario.run(target, n, options),
      options.timeoutS,
      `${target.name} ${scenario.scenario}`,
    );
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    // A target that timed its processing phase alone (without the pre-load) is reported by that timing.
    if (timing !== undefined && timing !== null && typeof timing.seconds === 'number') {
      return { target: target.name, seconds: timing.seconds, cpuSeconds: timing.cpuSeconds ?? 0 };
    }
    return { target: target.name, seconds, cpuSeconds: (used.user + used.system) / 1e6 };
  } catch (error) {
    console.log(
      `error: ${target.name} ${scenario.scenario}: ${error instanceof Error ? error.message : String(error)}`,
    );
    return null;
  } finally {
    await withTimeout(target.teardown(), 60, `${target.name} teardown`).catch((error: unknown) => {
      console.log(`error: ${target.name} teardown: ${error instanceof Error ? error.message : String(error)}`);
    });
  }
}

/** The round with the median rate (the lower middle one for an even count), with every round's rate beside it. */
function medianRound(rows: BenchResult[]): BenchResult {
  const sorted = [...rows].sort((a, b) => a.jobsPerSecond - b.jobsPerSecond);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] as BenchResult;
  return rows.length === 1 ? median : { ...median, roundRates: rows.map((r) => r.jobsPerSecond) };
}

function formatRate(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function printTable(rows: BenchResult[]): void {
  const header = ['target', 'scenario', 'payload B', 'jobs', 'conc/batch', 'seconds', 'jobs/s', 'jobs/cpu-s', 'rss MB'];
  const lines = rows.map((r) => [
    r.target,
    r.scenario,
    String(r.payloadBytes ?? ''),
    r.jobs.toLocaleString('en-US'),
    r.concurrency !== undefined ? `c=${r.concurrency}` : r.batch !== undefined ? `b=${r.batch}` : '',
    r.seconds.toFixed(2),
    formatRate(r.jobsPerSecond),
    r.cpuSeconds !== undefined && r.cpuSeconds > 0 ? formatRate(r.jobs / r.cpuSeconds) : '',
    String(r.rssMb),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const format = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(format(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const line of lines) console.log(format(line));
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  // The Conveyor targets read it when they start their Worker (targets/conveyor.ts).
  process.env.BENCH_PREFETCH = String(options.prefetch);
  const names = [...new Set(options.adapters.flatMap((a) => ANCHORS[a] ?? []))].filter(
    (name) => options.targets.length === 0 || options.targets.includes(name),
  );
  const machine = {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    nodeVersion: process.version,
    platform: `${platform()} ${release()}`,
    date: new Date().toISOString(),
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
  console.log(
    `conveyor bench: ${names.join(', ')} | ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.nodeVersion} | load ${machine.loadAverageAtStart.join(' ')}`,
  );
  const factories: BenchTargetFactory[] = [];
  for (const name of names) {
    const factory = await loadFactory(name);
    if (factory !== null) factories.push(factory);
  }
  // Scenario by scenario, the targets take turns round after round (A B A B …), so a machine that slows down or
  // speeds up during the run weighs on every target alike; each row is the target's median round.
  const results: BenchResult[] = [];
  for (const scenario of SCENARIOS) {
    if (options.scenarios.length > 0 && !options.scenarios.includes(scenario.scenario)) continue;
    const n = scenario.jobs(options);
    const rounds = new Map<BenchTargetFactory, BenchResult[]>();
    for (let round = 0; round < options.rounds; round++) {
      for (const factory of factories) {
        if (round === 0 && options.warmup > 0) await measure(factory, scenario, Math.min(options.warmup, n), options);
        const outcome = await measure(factory, scenario, n, options);
        if (outcome === null) continue;
        const row: BenchResult = {
          target: outcome.target,
          scenario: scenario.scenario,
          jobs: n,
          ...scenario.describe(options),
          payloadBytes: scenario.payloadBytes,
          seconds: Math.round(outcome.seconds * 1000) / 1000,
          jobsPerSecond: Math.round(n / outcome.seconds),
          cpuSeconds: Math.round(outcome.cpuSeconds * 1000) / 1000,
          rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
        };
        rounds.set(factory, [...(rounds.get(factory) ?? []), row]);
        console.log(
          `  ${row.target} ${row.scenario} (${row.payloadBytes} B)${options.rounds > 1 ? ` round ${round + 1}` : ''}: ${formatRate(row.jobsPerSecond)} jobs/s over ${row.seconds} s`,
        );
      }
    }
    for (const factory of factories) {
      const rows = rounds.get(factory);
      if (rows !== undefined) results.push(medianRound(rows));
    }
  }
  console.log('');
  printTable(results);
  const file = options.out ?? join(here, '..', 'results', `${options.adapters.join('+')}.json`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify({ machine: { ...machine, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) }, options, results }, null, 2)}\n`,
  );
  console.log(`\nwrote ${file}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
