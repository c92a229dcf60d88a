import { createHash } from 'node:crypto';

/**
 * A Lua script: run as a function of the Conveyor Redis Functions library (see `library.ts`), or with EVALSHA on a
 * server without functions, falling back to EVAL (which also caches it) when the server answers NOSCRIPT.
 */
export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

/** A script named `name` (unique among Conveyor's scripts) whose whole text is `source`. */
export function luaScript(name: string, source: string): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}
