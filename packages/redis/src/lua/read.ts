import { luaScript } from '../connection';
import { PRELUDE } from './common';

const STATES_LUA = `local STATES = { 'waiting', 'scheduled', 'retrying', 'active', 'completed', 'failed', 'cancelled' }
local function counts_of(q)
  local types = redis.call('SMEMBERS', Q(q) .. 'types')
  local c = {}
  for i, s in ipairs(STATES) do
    local n = 0
    for _, t in ipairs(types) do n = n + redis.call('ZCARD', idx(q, s, t)) end
    c[i] = n
  end
  return c
end
`;

/**
 * ARGV: queue names ('' as the only argument → every known queue). O(states × types) ZCARDs per queue, never a
 * scan of jobs. Returns { queue, { count per state in JOB_STATES order } }...
 */
export const COUNTS = luaScript(
  'counts',
  `${PRELUDE}${STATES_LUA}
local queues = {}
if ARGV[3] == '' then queues = redis.call('SMEMBERS', K_QUEUES) else
  for i = 3, #ARGV do queues[#queues + 1] = ARGV[i] end
end
local out = {}
for _, q in ipairs(queues) do
  out[#out + 1] = q
  out[#out + 1] = counts_of(q)
end
return out
`,
);

/** Every known queue: { name, paused 0|1, counts, oldest waiting runAt|false }... */
export const LIST_QUEUES = luaScript(
  'list-queues',
  `${PRELUDE}${STATES_LUA}
local out = {}
for _, q in ipairs(redis.call('SMEMBERS', K_QUEUES)) do
  local oldest = redis.call('ZRANGE', Q(q) .. 'w', 0, 0, 'WITHSCORES')
  out[#out + 1] = { q, redis.call('EXISTS', Q(q) .. 'paused'), counts_of(q), oldest[2] or false }
end
return out
`,
);

/**
 * One page of candidates for listJobs, newest first, from the (state, type) indexes of the selected queues.
 * ARGV: max member ('+' or '(' .. cursor member), n, queue|'', state|'', type|''.
 * Returns { queue, member }... with up to n members per index; the client merges them (byte order) and reads the
 * jobs of the first n. Cost: indexes × n, never the number of jobs.
 */
export const LIST_CANDIDATES = luaScript(
  'list-candidates',
  `${PRELUDE}
local STATES = { 'waiting', 'scheduled', 'retrying', 'active', 'completed', 'failed', 'cancelled' }
local max, n, fq, fs, ft = ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6], ARGV[7]
local queues
if fq ~= '' then queues = { fq } else queues = redis.call('SMEMBERS', K_QUEUES) end
local states = STATES
if fs ~= '' then states = { fs } end
local out = {}
for _, q in ipairs(queues) do
  local types
  if ft ~= '' then types = { ft } else types = redis.call('SMEMBERS', Q(q) .. 'types') end
  for _, s in ipairs(states) do
    for _, t in ipairs(types) do
      for _, m in ipairs(redis.call('ZREVRANGEBYLEX', idx(q, s, t), max, '-', 'LIMIT', 0, n)) do
        out[#out + 1] = q
        out[#out + 1] = m
      end
    end
  end
end
return out
`,
);

/** ARGV: (queue, id)... Returns each job's HGETALL (empty when it was removed meanwhile). */
export const GET_JOBS = luaScript(
  'get-jobs',
  `${PRELUDE}
local out = {}
for i = 3, #ARGV, 2 do out[#out + 1] = redis.call('HGETALL', JK(ARGV[i], ARGV[i + 1])) end
return out
`,
);
