import { createHash } from 'node:crypto';
import * as admin from './admin';
import { ENQUEUE_FN, PRELUDE, PRELUDE_FNS, SIDE_FN, STATE_DECL, STATE_INIT } from './common';
import * as lease from './lease';
import { ACK_SIDE_FN } from './lease';
import * as metrics from './metrics';
import { METRICS_FN, METRICS_HEAD } from './metrics';
import * as read from './read';
import { STATES_LUA } from './read';
import type { LuaScript } from './script';
import * as storage from './storage';
import { MEMBER_JOB_FN, STORAGE_HEAD } from './storage';

/**
 * Every script as one Redis Functions library (Redis ≥ 7), loaded with FUNCTION LOAD REPLACE.
 *
 * A plain script runs its whole text on every call: the shared helpers (PRELUDE, ENQUEUE_FN, SIDE_FN, METRICS_FN
 * …) are several kilobytes of Lua that define some sixty functions before the script does anything. In the library
 * they are defined once, at load; every function starts with STATE_INIT (prefix, time, key names, memo caches from
 * its arguments) and then runs the script's own body, unchanged. The library's name carries a hash of its text, so
 * processes of different versions on one Redis each call their own functions.
 */
export interface LuaLibrary {
  /** The library name (`conveyor_<hash>`). */
  readonly name: string;
  /** The text for FUNCTION LOAD. */
  readonly source: string;
  /** The function name of each script. */
  readonly functions: ReadonlyMap<LuaScript, string>;
}

/** The heads a script text may start with, defined once at library level instead. */
const HEADS = [PRELUDE, ENQUEUE_FN, SIDE_FN, METRICS_FN, ACK_SIDE_FN, STATES_LUA, METRICS_HEAD, STORAGE_HEAD];

function isScript(value: unknown): value is LuaScript {
  return typeof value === 'object' && value !== null && 'sha' in value && 'source' in value && 'name' in value;
}

/** A script's own body: its text without the heads it starts with. */
function bodyOf(script: LuaScript): string {
  let rest = script.source;
  for (let again = true; again; ) {
    again = false;
    for (const head of HEADS) {
      if (rest.startsWith(head)) {
        rest = rest.slice(head.length);
        again = true;
      }
    }
  }
  return rest;
}

function build(): LuaLibrary {
  const scripts = [admin, lease, metrics, read, storage].flatMap((m) => Object.values(m).filter(isScript));
  const helpers = `local ARGV\n${STATE_DECL}${PRELUDE_FNS}${ENQUEUE_FN}${SIDE_FN}${METRICS_FN}${ACK_SIDE_FN}${STATES_LUA}${MEMBER_JOB_FN}
local function setup(args)
  ARGV = args
${STATE_INIT}
end
`;
  const bodies = scripts.map((s) => [s, bodyOf(s)] as const);
  const hash = createHash('sha1')
    .update(helpers)
    .update(bodies.map(([s, b]) => `${s.name}\n${b}`).join('\n'))
    .digest('hex')
    .slice(0, 12);
  const name = `conveyor_${hash}`;
  const functions = new Map<LuaScript, string>();
  const registrations = bodies.map(([s, body]) => {
    const fn = `${name}_${s.name.replace(/[^A-Za-z0-9_]/g, '_')}`;
    functions.set(s, fn);
    return `redis.register_function('${fn}', function(_, args)\nsetup(args)\n${body}\nend)\n`;
  });
  return { name, source: `#!lua name=${name}\n${helpers}${registrations.join('')}`, functions };
}

/** The library of every Conveyor script. */
export const LIBRARY: LuaLibrary = build();
