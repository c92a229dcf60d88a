import type { Clock, Logger } from '@conveyor/core';
import { conveyorMessage, silentLogger } from '@conveyor/core';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { LIBRARY } from './lua/library';
import type { LuaScript } from './lua/script';
import type { RedisBackendOptions } from './options';
import { COMPONENT, redisError } from './options';

const DEFAULT_URL = 'redis://127.0.0.1:6379';

export type { LuaScript } from './lua/script';
export { luaScript } from './lua/script';

/** Redis's answer to FCALL of a function it does not have (never loaded, FUNCTION FLUSH, restart without data). */
const MISSING_FUNCTION = /Function not found/i;
/** Answers meaning this server (or this user) cannot use functions: Redis < 7, or an ACL without them. */
const NO_FUNCTIONS = /unknown command|NOPERM|not allowed/i;

/** A client the backend runs on: one Redis server (standalone or a Sentinel-managed primary) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/**
 * The one connection the four adapters of a backend share, reference-counted so that closing each part once (as
 * `closeBackend` does) releases it, and closing a part twice is harmless. Every script gets the key prefix and the
 * time source as its first two arguments.
 */
export class RedisConnection {
  readonly client: RedisClient;
  readonly prefix: string;
  /**
   * True on a Redis Cluster: every key of the prefix carries the one hash tag `{prefix}` (queue keys are
   * `{prefix}:q:<queue>:…` instead of `{prefix:queue}:…`), so each script's keys are in one slot, and every script
   * call names the key `{prefix}` so the cluster client sends it to the node serving that slot.
   */
  readonly oneSlot: boolean;
  /** The first argument of every script: the prefix, led by `{` in the one-slot layout (see STATE_INIT). */
  private readonly prefixArg: string;
  /** The keys every script call declares: none on one server, `{prefix}` on a cluster (routing). */
  private readonly routing: string[];
  readonly logger: Logger;
  readonly clock: Clock | undefined;
  readonly requireNoEviction: boolean;
  readonly eventStreamMaxLen: number;
  private readonly owned: boolean;
  private users = 0;
  private ended = false;
  private checked: Promise<void> | undefined;
  /** False once the server turned out not to offer Redis Functions: scripts run with EVALSHA instead. */
  private functions = true;
  private loading: Promise<boolean> | undefined;

  constructor(options: RedisBackendOptions = {}) {
    const prefix = options.prefix ?? 'conveyor';
    if (typeof prefix !== 'string' || prefix.length === 0 || /[{}]/.test(prefix)) {
      throw redisError('CONFIG_INVALID', `prefix must be a non-empty string without braces, got ${String(prefix)}.`);
    }
    this.prefix = prefix;
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock;
    this.requireNoEviction = options.requireNoEviction ?? false;
    this.eventStreamMaxLen = options.eventStreamMaxLen ?? 1_000;
    const connection = options.connection ?? DEFAULT_URL;
    const connectionName = options.connectionName ?? 'conveyor';
    if (typeof connection === 'string') {
      this.client = new Redis(connection, { connectionName, lazyConnect: false });
      this.owned = true;
    } else if (connection instanceof Redis || connection instanceof Cluster) {
      this.client = connection;
      this.owned = false;
    } else if (typeof connection === 'object' && connection !== null && 'cluster' in connection) {
      this.client = new Cluster(clusterSeeds(connection.cluster), {
        redisOptions: clusterOptions(connection.cluster, connectionName),
      });
      this.owned = true;
    } else {
      throw redisError(
        'CONFIG_INVALID',
        'connection must be a redis:// URL, { cluster: [seed URLs] }, an ioredis Redis client or an ioredis Cluster client.',
      );
    }
    if (this.owned) {
      // ioredis reconnects by itself; without a listener an 'error' event would crash the process.
      this.client.on('error', (error: Error) => {
        this.logger.warn(conveyorMessage(COMPONENT, 'connection error; ioredis is reconnecting.'), {
          error: error.message,
        });
      });
    }
    this.oneSlot = this.client instanceof Cluster;
    this.prefixArg = this.oneSlot ? `{${prefix}` : prefix;
    this.routing = this.oneSlot ? [`{${prefix}}`] : [];
  }

  /** The name of a queue's key `suffix` (`paused`, `d`, `j:<id>` …) in this backend's layout. */
  queueKey(queue: string, suffix: string): string {
    return this.oneSlot ? `{${this.prefix}}:q:${queue}:${suffix}` : `{${this.prefix}:${queue}}:${suffix}`;
  }

  /** A new connection with the same options, for blocking reads. The caller closes it. */
  duplicate(): RedisClient {
    const copy = this.client.duplicate();
    copy.on('error', (error: Error) => {
      this.logger.warn(conveyorMessage(COMPONENT, 'event reader connection error; reconnecting.'), {
        error: error.message,
      });
    });
    return copy;
  }

  /** Count one more part using the connection. */
  acquire(): void {
    this.users++;
  }

  /** One part is done; the last one out closes the connection (when the backend created it). */
  async release(): Promise<void> {
    this.users--;
    if (this.users > 0 || this.ended) return;
    this.ended = true;
    if (!this.owned) return;
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect();
    }
  }

  /**
   * Check once that Redis will not evict keys. Redis evicting a job hash or an index silently loses or corrupts
   * jobs, so anything but `noeviction` is a warning, or an error with `requireNoEviction`.
   */
  checkServer(): Promise<void> {
    this.checked ??= this.readPolicy();
    return this.checked;
  }

  private async readPolicy(): Promise<void> {
    await this.checkTopology();
    let policy: string | undefined;
    try {
      // On a cluster every primary holds jobs, so each one's policy counts: the first that is not noeviction.
      for (const server of await this.servers()) {
        const reply = (await server.config('GET', 'maxmemory-policy')) as string[];
        policy = reply[1];
        if (policy !== 'noeviction') break;
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (/ECONNREFUSED|ENOTFOUND|Connection is closed|ETIMEDOUT/.test(message)) {
        this.checked = undefined;
        throw redisError('CONNECTION_FAILED', `cannot reach Redis (${message}). Check the connection option.`, error);
      }
      // Managed services often disable CONFIG: say so once and carry on.
      this.logger.warn(
        conveyorMessage(
          COMPONENT,
          'could not read maxmemory-policy (CONFIG GET is disabled?); make sure it is noeviction.',
        ),
        { error: message },
      );
      return;
    }
    if (policy === undefined || policy === 'noeviction') return;
    const sentence = `Redis maxmemory-policy is "${policy}": Redis may evict job keys and lose jobs. Set it to noeviction (CONFIG SET maxmemory-policy noeviction, or in redis.conf).`;
    if (this.requireNoEviction) throw redisError('CONFIG_INVALID', sentence);
    this.logger.warn(conveyorMessage(COMPONENT, sentence), { policy });
  }

  /**
   * A plain client connected to a node of a Redis Cluster would run the scripts on that node alone: whatever slot
   * a queue's keys fall in, some would be refused. Say so at start instead of failing queue by queue.
   */
  private async checkTopology(): Promise<void> {
    if (this.client instanceof Cluster) return;
    let info: string;
    try {
      info = await this.client.info('cluster');
    } catch {
      return; // INFO refused (ACL): the scripts' own slot errors still name the cause
    }
    if (/cluster_enabled:1/.test(info)) {
      throw redisError(
        'CONFIG_INVALID',
        'this server is a Redis Cluster node, but the connection is a plain client. Pass an ioredis Cluster client (connection: new Cluster([...nodes])); see the README\'s "Redis Cluster".',
      );
    }
  }

  /** The server, or on a cluster every primary (once the client knows them). */
  private async servers(): Promise<Redis[]> {
    if (!(this.client instanceof Cluster)) return [this.client];
    if (this.client.nodes('master').length === 0) await this.client.ping();
    return this.client.nodes('master');
  }

  /** The time argument of every script: the injected clock, or '' for "use the server's TIME". */
  timeArg(): string {
    return this.clock === undefined ? '' : String(this.clock());
  }

  /** Store time in ms: the injected clock, else the Redis server's `TIME`. */
  async now(): Promise<number> {
    if (this.clock !== undefined) return this.clock();
    const [sec, usec] = await this.client.time();
    return Number(sec) * 1000 + Math.floor(Number(usec) / 1000);
  }

  /**
   * Run `script` with (prefix, time, ...args): as a function of the Conveyor library (FCALL), loading the library
   * when Redis does not have it (first use, restart without persistence, FUNCTION FLUSH); as a plain script
   * (EVALSHA) on a server without functions.
   */
  async run(script: LuaScript, args: (string | number)[]): Promise<unknown> {
    const argv = [this.routing.length, ...this.routing, this.prefixArg, this.timeArg(), ...args];
    const fn = this.functions ? LIBRARY.functions.get(script) : undefined;
    if (fn !== undefined) {
      try {
        return await this.client.call('FCALL', fn, ...argv);
      } catch (error) {
        const message = error instanceof Error ? error.message : '';
        if (MISSING_FUNCTION.test(message)) {
          if (await this.loadLibrary()) {
            try {
              return await this.client.call('FCALL', fn, ...argv);
            } catch (again) {
              throw wrapScriptError(script, again);
            }
          }
        } else if (NO_FUNCTIONS.test(message) && /fcall/i.test(message)) {
          this.noFunctions(message);
        } else {
          throw wrapScriptError(script, error);
        }
      }
    }
    return this.evalScript(script, argv);
  }

  /** Load (or replace) the library once for every caller waiting on it; false when functions are unavailable. */
  private loadLibrary(): Promise<boolean> {
    this.loading ??= (async () => {
      try {
        // A cluster runs a function on the node serving its keys: every primary gets the library. (A primary that
        // joins later, or a failover to a replica started without it, answers "not found" and is loaded then.)
        const servers = await this.servers();
        await Promise.all(servers.map((server) => server.call('FUNCTION', 'LOAD', 'REPLACE', LIBRARY.source)));
        this.logger.debug(conveyorMessage(COMPONENT, `loaded the Redis Functions library ${LIBRARY.name}.`));
        return true;
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (!NO_FUNCTIONS.test(message)) throw error;
        this.noFunctions(message);
        return false;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  private noFunctions(reason: string): void {
    if (!this.functions) return;
    this.functions = false;
    this.logger.info(
      conveyorMessage(COMPONENT, 'Redis Functions are unavailable (Redis < 7 or ACL); running plain scripts instead.'),
      { reason },
    );
  }

  /** `argv` starts with the number of keys and the keys (see `routing`). */
  private async evalScript(script: LuaScript, argv: (string | number)[]): Promise<unknown> {
    const [numKeys, ...rest] = argv as [number, ...(string | number)[]];
    try {
      return await this.client.evalsha(script.sha, numKeys, ...rest);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return this.client.eval(script.source, numKeys, ...rest);
      }
      throw wrapScriptError(script, error);
    }
  }
}

/** `host:port` or `redis://[user:password@]host:port` seeds, parsed; anything else is CONFIG_INVALID. */
function parseSeed(seed: unknown): URL {
  let url: URL | undefined;
  if (typeof seed === 'string' && seed.length > 0) {
    try {
      url = new URL(seed.includes('://') ? seed : `redis://${seed}`);
    } catch {
      url = undefined;
    }
  }
  if (url === undefined || !/^rediss?:$/.test(url.protocol) || url.hostname === '') {
    throw redisError(
      'CONFIG_INVALID',
      `connection.cluster takes seed nodes as "host:port" or "redis://host:port", got ${JSON.stringify(seed)}.`,
    );
  }
  return url;
}

function clusterSeeds(seeds: readonly string[]): { host: string; port: number }[] {
  if (!Array.isArray(seeds) || seeds.length === 0) {
    throw redisError('CONFIG_INVALID', 'connection.cluster must list at least one seed node ("host:port").');
  }
  return seeds.map((seed) => {
    const url = parseSeed(seed);
    return { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port === '' ? 6379 : Number(url.port) };
  });
}

/** Options every node connection of an owned cluster gets: the name, and credentials/TLS from the first seed. */
function clusterOptions(seeds: readonly string[], connectionName: string): RedisOptions {
  const first = parseSeed(seeds[0]);
  return {
    connectionName,
    ...(first.username !== '' ? { username: decodeURIComponent(first.username) } : {}),
    ...(first.password !== '' ? { password: decodeURIComponent(first.password) } : {}),
    ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

function wrapScriptError(script: LuaScript, error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if (/CROSSSLOT|MOVED|ASK |non local key|same slot/.test(error.message)) {
    return redisError(
      'CONFIG_INVALID',
      `script ${script.name} hit a cluster slot error (${error.message}). This server is part of a Redis Cluster: connect with an ioredis Cluster client (connection: new Cluster([...nodes])); see the README's Cluster notes.`,
      error,
    );
  }
  return error;
}
