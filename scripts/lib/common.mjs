// Shared helpers of the release scripts: workspace discovery, child processes that cannot outlive us, temp
// directories that are always removed, and `npm pack`.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

// ---------------------------------------------------------------------------------------------------------------
// Output

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code) => (text) => (color ? `\x1b[${code}m${text}\x1b[0m` : String(text));
export const bold = paint(1);
export const dim = paint(2);
export const red = paint(31);
export const green = paint(32);
export const yellow = paint(33);

export const OK = green('✔');
export const FAIL = red('✖');
export const WARN = yellow('!');

/** Seconds since `start` (a `performance.now()` value), for the report. */
export function since(start) {
  return `${((performance.now() - start) / 1000).toFixed(1)}s`;
}

/** Indent every line of `text` (for tool output quoted under a report line). */
export function indent(text, prefix = '    ') {
  return String(text)
    .trimEnd()
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}

/** The last `max` lines of `text`, so a failing tool's output stays readable. */
export function tail(text, max = 40) {
  const lines = String(text).trimEnd().split('\n');
  return lines.length <= max
    ? lines.join('\n')
    : [`… (${lines.length - max} lines above)`, ...lines.slice(-max)].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Workspaces

/**
 * Every workspace of the root package.json, in declaration order, with its manifest. Supports plain paths and
 * `dir/*` globs (the only forms the root uses); anything else is an error rather than a silent skip.
 */
export function listWorkspaces() {
  const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const dirs = [];
  for (const pattern of root.workspaces ?? []) {
    if (!pattern.includes('*')) {
      dirs.push(pattern);
    } else if (/^[^*]+\/\*$/.test(pattern)) {
      const parent = pattern.slice(0, -2);
      for (const entry of readdirSync(join(ROOT, parent), { withFileTypes: true }).sort((a, b) =>
        a.name.localeCompare(b.name),
      )) {
        if (entry.isDirectory() && existsSync(join(ROOT, parent, entry.name, 'package.json'))) {
          dirs.push(`${parent}/${entry.name}`);
        }
      }
    } else {
      throw new Error(`scripts/lib/common.mjs: unsupported workspace pattern "${pattern}" in package.json`);
    }
  }
  return dirs.map((rel) => {
    const dir = join(ROOT, rel);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    return { name: pkg.name, dir, rel, pkg, private: pkg.private === true };
  });
}

/** The workspaces that get published (not `private: true`). */
export function publishableWorkspaces() {
  return listWorkspaces().filter((workspace) => !workspace.private);
}

/**
 * Files the manifest points at (main, module, types, bin, every `exports` target) that are missing on disk — the
 * usual cause is "not built yet". Conditions such as `source` point into `src/` and are checked the same way.
 */
export function missingEntryFiles(workspace) {
  const { pkg, dir } = workspace;
  const targets = new Set();
  const collect = (value) => {
    if (typeof value === 'string') targets.add(value);
    else if (value && typeof value === 'object') for (const nested of Object.values(value)) collect(nested);
  };
  collect(pkg.main);
  collect(pkg.module);
  collect(pkg.types);
  collect(pkg.typings);
  collect(pkg.bin);
  collect(pkg.exports);
  return [...targets].filter((target) => !target.includes('*') && !existsSync(join(dir, target)));
}

// ---------------------------------------------------------------------------------------------------------------
// Child processes

const running = new Set();

/**
 * The environment for an npm (or node) child run outside the repo: drops what `npm run` exports about *this*
 * project (npm_package_*, npm_lifecycle_*, npm_config_local_prefix, …) so the child cannot mistake the repo for its
 * project, and keeps everything else (registry, cache, proxy settings).
 */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [key, value] of Object.entries(process.env)) {
    const lower = key.toLowerCase();
    if (
      lower.startsWith('npm_package_') ||
      lower.startsWith('npm_lifecycle_') ||
      lower === 'npm_config_local_prefix' ||
      lower === 'npm_config_workspace' ||
      lower === 'npm_config_workspaces' ||
      lower === 'npm_config_include_workspace_root' ||
      lower === 'init_cwd'
    ) {
      continue;
    }
    env[key] = value;
  }
  return { ...env, NO_UPDATE_NOTIFIER: '1', ...extra };
}

/**
 * Run a command to completion and capture its output. The child gets its own process group so a timeout (or our
 * own Ctrl-C) kills it and everything it started — npm's install scripts, node-gyp's compilers, a hung snippet.
 * Never rejects: the caller reads `code` (null when killed), `timedOut`, `stdout` and `stderr`. `signal` (an
 * AbortSignal) kills the group early, for servers the caller stops itself.
 */
export function run(
  command,
  args,
  { cwd = ROOT, env = process.env, timeoutMs = 120_000, stdin = 'ignore', signal } = {},
) {
  return new Promise((resolvePromise) => {
    const started = performance.now();
    const child = spawn(command, args, { cwd, env, detached: true, stdio: [stdin, 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, timeoutMs);
    // An abort (the caller is done with a server it started) ends the group at once.
    const onAbort = () => killGroup(child);
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (code, exitSignal, error) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      running.delete(child);
      // The direct child is gone; make sure nothing it spawned lingers in its group either.
      killGroup(child);
      resolvePromise({
        code,
        signal: exitSignal,
        timedOut,
        stdout,
        stderr: error ? `${stderr}${error.message}\n` : stderr,
        ms: performance.now() - started,
      });
    };
    child.on('error', (error) => finish(null, null, error));
    child.on('close', (code, signal) => finish(code, signal));
  });
}

function killGroup(child) {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/** `run`, but throws a readable error (command, exit status, output tail) unless the command exits 0. */
export async function runOrThrow(command, args, options = {}) {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    const status = result.timedOut
      ? `timed out after ${Math.round((options.timeoutMs ?? 120_000) / 1000)}s`
      : `exited with ${result.code ?? result.signal}`;
    const where = options.cwd ? ` (in ${options.cwd})` : '';
    const output = tail(`${result.stdout}\n${result.stderr}`.trim());
    throw new Error(`\`${[command, ...args].join(' ')}\`${where} ${status}\n${indent(output)}`);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------------------
// Temp directories and cleanup

const tempDirs = new Set();
let keepTemp = false;

/** Keep temp directories after the run (for debugging a failure); their paths are printed. */
export function setKeepTemp(keep) {
  keepTemp = keep;
}

export function makeTempDir(label) {
  const dir = mkdtempSync(join(tmpdir(), `conveyor-${label}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  if (!tempDirs.delete(dir)) return;
  if (keepTemp) {
    console.log(dim(`  kept ${dir}`));
    return;
  }
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** Kill every child still running and remove every temp directory. Safe to call more than once. */
export function cleanupAll() {
  for (const child of running) killGroup(child);
  running.clear();
  for (const dir of [...tempDirs]) removeTempDir(dir);
}

let handlersInstalled = false;

/** Clean up on normal exit and on SIGINT/SIGTERM/SIGHUP (CI cancelling a job must not leave anything behind). */
export function installCleanupHandlers() {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', cleanupAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      console.error(`\nrelease scripts: ${signal}, cleaning up`);
      cleanupAll();
      process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 }[signal] ?? 0));
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// npm pack

/**
 * `npm pack` the given workspaces into `destination` with one npm call. Returns a Map from package name to
 * `{ tarball, files, size, unpackedSize }` from npm's JSON report.
 */
export async function packWorkspaces(workspaces, destination) {
  const args = ['pack', '--json', '--pack-destination', destination];
  for (const workspace of workspaces) args.push('--workspace', workspace.rel);
  const { stdout } = await runOrThrow('npm', args, { cwd: ROOT, timeoutMs: 180_000 });
  // npm prints the JSON array last; anything a lifecycle script printed comes before it.
  const start = stdout.indexOf('[');
  let report;
  try {
    report = JSON.parse(stdout.slice(start));
  } catch {
    throw new Error(`could not parse \`npm pack --json\` output:\n${indent(tail(stdout))}`);
  }
  const packed = new Map();
  for (const entry of report) {
    packed.set(entry.name, {
      tarball: join(destination, entry.filename),
      files: entry.files.map((file) => ({ path: file.path, mode: file.mode })),
      size: entry.size,
      unpackedSize: entry.unpackedSize,
    });
  }
  for (const workspace of workspaces) {
    if (!packed.has(workspace.name)) throw new Error(`npm pack did not report ${workspace.name}`);
  }
  return packed;
}

export function relativeToRoot(path) {
  return relative(ROOT, path) || '.';
}
