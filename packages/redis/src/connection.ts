import type { Clock, Logger } from '@conveyor/core';
import { conveyorMessage, silentLogger } from '@conveyor/core';
import { Redis } from 'ioredis';
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

/**
 * The one connection the four adapters of a backend share, reference-counted so that closing each part once (as
 * `closeBackend` does) releases it, and closing a part twice is harmless. Every script gets the key prefix and the
 * time source as its first two arguments.
 */
export class RedisConnection {
  readonly client: Redis;
  readonly prefix: string;
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
    if (typeof connection === 'string') {
      this.client = new Redis(connection, { connectionName: options.connectionName ?? 'conveyor', lazyConnect: false });
      this.owned = true;
      // ioredis reconnects by itself; without a listener an 'error' event would crash the process.
      this.client.on('error', (error: Error) => {
        this.logger.warn(conveyorMessage(COMPONENT, 'connection error; ioredis is reconnecting.'), {
          error: error.message,
        });
      });
    } else {
      this.client = connection;
      this.owned = false;
    }
  }

  /** A new connection with the same options, for blocking reads. The caller closes it. */
  duplicate(): Redis {
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
    let policy: string | undefined;
    try {
      const reply = (await this.client.config('GET', 'maxmemory-policy')) as string[];
      policy = reply[1];
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
    const argv = [this.prefix, this.timeArg(), ...args];
    const fn = this.functions ? LIBRARY.functions.get(script) : undefined;
    if (fn !== undefined) {
      try {
        return await this.client.call('FCALL', fn, 0, ...argv);
      } catch (error) {
        const message = error instanceof Error ? error.message : '';
        if (MISSING_FUNCTION.test(message)) {
          if (await this.loadLibrary()) {
            try {
              return await this.client.call('FCALL', fn, 0, ...argv);
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
        await this.client.call('FUNCTION', 'LOAD', 'REPLACE', LIBRARY.source);
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

  private async evalScript(script: LuaScript, argv: (string | number)[]): Promise<unknown> {
    try {
      return await this.client.evalsha(script.sha, 0, ...argv);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return this.client.eval(script.source, 0, ...argv);
      }
      throw wrapScriptError(script, error);
    }
  }
}

function wrapScriptError(script: LuaScript, error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  if (/CROSSSLOT|MOVED|ASK /.test(error.message)) {
    return redisError(
      'CONFIG_INVALID',
      `script ${script.name} hit a cluster slot error (${error.message}). Conveyor's Redis adapter runs on a standalone or Sentinel-managed Redis; see the README's Cluster notes.`,
      error,
    );
  }
  return error;
}
