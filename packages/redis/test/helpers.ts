import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster, Redis } from 'ioredis';

/** The Redis the tests use. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** The monorepo root: children run from it, so tsx resolves workspace imports through tsconfig paths. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/**
 * Whether Redis answers. Suites use it to skip loudly (the describe name says why); with
 * CONVEYOR_REQUIRE_SERVICES=1 (CI) an unreachable Redis is a failure instead of a skip.
 */
export async function redisAvailable(): Promise<{ ok: boolean; reason: string }> {
  const probe = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
    return { ok: true, reason: '' };
  } catch (error) {
    const reason = `Redis at ${REDIS_URL} is unreachable (${error instanceof Error ? error.message : error})`;
    if (process.env.CONVEYOR_REQUIRE_SERVICES === '1') {
      throw new Error(`[conveyor] [redis] ${reason}, and CONVEYOR_REQUIRE_SERVICES=1 forbids skipping.`);
    }
    return { ok: false, reason };
  } finally {
    probe.disconnect();
  }
}

/** The describe title of a suite that skips: loud, with the reason. */
export function skippedTitle(what: string, reason: string): string {
  return `SKIPPED, LOUDLY: ${what} — ${reason}. Start Redis or set REDIS_URL (CI sets CONVEYOR_REQUIRE_SERVICES=1).`;
}

/** A random key prefix for one test file, so tests never touch other keys on the shared Redis. */
export function testPrefix(name: string): string {
  return `cvtest-${name}-${randomBytes(4).toString('hex')}`;
}

/** Delete every key under `prefix` (both `{prefix}:…` and `{prefix:queue}:…`). Tests only: it SCANs. */
export async function deleteKeys(prefix: string): Promise<number> {
  const client = new Redis(REDIS_URL);
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `{${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}

/**
 * The Redis Cluster the Cluster tests use: `host:port` seeds, comma-separated (`bash .ci/redis-cluster` starts three
 * primaries on 7001-7003).
 */
export const REDIS_CLUSTER_NODES = (process.env.REDIS_CLUSTER_NODES ?? '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003')
  .split(',')
  .map((seed) => {
    const [host, port] = seed.trim().split(':');
    return { host: host ?? '127.0.0.1', port: Number(port) };
  });

/** A new ioredis Cluster client on {@link REDIS_CLUSTER_NODES}; the caller disconnects it. */
export function clusterClient(): Cluster {
  const client = new Cluster(REDIS_CLUSTER_NODES, { clusterRetryStrategy: () => null });
  client.on('error', () => {});
  return client;
}

/**
 * Whether the Redis Cluster answers with every slot served. Like {@link redisAvailable}: a loud skip, or a failure
 * under CONVEYOR_REQUIRE_SERVICES=1 (CI starts the cluster with `.ci/redis-cluster`).
 */
export async function clusterAvailable(): Promise<{ ok: boolean; reason: string }> {
  const seeds = REDIS_CLUSTER_NODES.map((n) => `${n.host}:${n.port}`).join(',');
  for (const node of REDIS_CLUSTER_NODES) {
    const probe = new Redis({ ...node, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      const info = String(await probe.call('CLUSTER', 'INFO'));
      if (info.includes('cluster_state:ok')) return { ok: true, reason: '' };
    } catch {
      // try the next seed
    } finally {
      probe.disconnect();
    }
  }
  const reason = `no healthy Redis Cluster at ${seeds} (start one with 'bash .ci/redis-cluster')`;
  if (process.env.CONVEYOR_REQUIRE_SERVICES === '1') {
    throw new Error(`[conveyor] [redis] ${reason}, and CONVEYOR_REQUIRE_SERVICES=1 forbids skipping.`);
  }
  return { ok: false, reason };
}

/** Every key under `prefix` on every primary of the cluster (tests only: it SCANs). */
export async function clusterKeys(client: Cluster, prefix: string): Promise<{ node: string; key: string }[]> {
  const found: { node: string; key: string }[] = [];
  await client.ping(); // a new client knows its primaries once connected
  for (const node of client.nodes('master')) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `{${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) found.push({ node: `${node.options.host}:${node.options.port}`, key });
    } while (cursor !== '0');
  }
  return found;
}

/** Delete every key under `prefix` on every primary of the cluster. */
export async function deleteClusterKeys(prefix: string): Promise<number> {
  const client = clusterClient();
  try {
    await client.ping();
    let deleted = 0;
    for (const { key } of await clusterKeys(client, prefix)) deleted += await client.unlink(key);
    return deleted;
  } finally {
    client.disconnect();
  }
}

/** A TypeScript child process (`node --import tsx fixture.ts …args`) with line-based stdout. */
export interface Child {
  proc: ChildProcess;
  lines: string[];
  /** Resolves with the first line matching `predicate` (already seen or future). */
  waitFor(predicate: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  exited: Promise<number | string>;
  stderr(): string;
}

export function spawnFixture(name: string, args: string[], env: Record<string, string> = {}): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(FIXTURES, name), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { predicate: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  let buffer = '';
  let err = '';
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (chunk: string) => {
    buffer += chunk;
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.predicate(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | string>((res) => {
    proc.on('exit', (code, signal) => res(code ?? signal ?? -1));
  });
  return {
    proc,
    lines,
    exited,
    stderr: () => err,
    waitFor(predicate, timeoutMs = 30_000) {
      const seen = lines.find(predicate);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((res, rej) => {
        const timer = setTimeout(() => {
          rej(
            new Error(`child ${name} did not print the awaited line in ${timeoutMs} ms; stderr: ${err.slice(-2000)}`),
          );
        }, timeoutMs);
        waiters.push({
          predicate,
          resolve: (line) => {
            clearTimeout(timer);
            res(line);
          },
        });
      });
    },
  };
}
