import { PRELUDE } from './common';
import { luaScript } from './script';

export const STATES_LUA = `local STATES = { 'waiting', 'scheduled', 'retrying', 'active', 'completed', 'failed', 'cancelled' }
local function counts_of(q)
  local types = redis.call('SMEMBERS', Q(q) .. 'types')
  local c = {}
  for i, s in ipairs(STATES) do
    local n = 0
    if s == 'active' then
      -- Scores below +inf: every lease but LEASE_PIN.
      for _, t in ipairs(types) do n = n + redis.call('ZCOUNT', QS(q, 'l:', t), '-inf', '(+inf') end
    else
      for _, t in ipairs(types) do n = n + redis.call('ZCARD', idx(q, s, t)) end
    end
    c[i] = n
  end
  return c
end
-- runAt of the oldest waiting job: the head of each priority of each ready set (member pad(runAt) pad(seq) id),
-- skipping due scheduled/retrying jobs, which share the ready sets but are not waiting. Bounded: at most 64
-- priorities per type and 16 members per priority are looked at.
local function oldest_waiting(q, types)
  local best = nil
  for _, t in ipairs(types) do
    local k = Q(q) .. 'r:' .. t
    local lo = '-inf'
    for _ = 1, 64 do
      local head = redis.call('ZRANGEBYSCORE', k, lo, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
      if #head == 0 then break end
      local sc = head[2]
      for _, m in ipairs(redis.call('ZRANGEBYSCORE', k, sc, sc, 'LIMIT', 0, 16)) do
        if redis.call('HGET', JK(q, string.sub(m, 31)), 's') == 'waiting' then
          local r = tonumber(string.sub(m, 1, 15))
          if best == nil or r < best then best = r end
          break
        end
      end
      lo = '(' .. sc
    end
  end
  return best
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
  local counts = counts_of(q)
  local oldest = false
  if counts[1] > 0 then
    local r = oldest_waiting(q, redis.call('SMEMBERS', Q(q) .. 'types'))
    if r then oldest = fmt(r) end
  end
  out[#out + 1] = { q, redis.call('EXISTS', Q(q) .. 'paused'), counts, oldest }
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
-- Byte order of two index members pad(createdAt) id, given their createdAt (Lua's own < follows the server's
-- locale, so ties on createdAt compare the ids byte by byte).
local function before(na, a, nb, b)
  if na ~= nb then return na < nb end
  local la, lb = #a, #b
  for i = 16, math.min(la, lb) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return la < lb
end
-- Active jobs are indexed by their type's lease set only (score lease expiry, member pad(createdAt) id): it holds
-- the jobs of that type being run right now, so reading the selected types' sets whole and sorting the members
-- below max is bounded by the concurrency (a type filter reads that type's set alone). Newest first; each member's
-- createdAt is parsed once.
local function active_sorted(q, types)
  local hi, hn = nil, nil
  if max ~= '+' then
    hi = string.sub(max, 2)
    hn = tonumber(string.sub(hi, 1, 15))
  end
  local list = {}
  for _, t in ipairs(types) do
    for _, m in ipairs(redis.call('ZRANGEBYSCORE', QS(q, 'l:', t), '-inf', '(+inf')) do
      local c = tonumber(string.sub(m, 1, 15))
      if hi == nil or before(c, m, hn, hi) then list[#list + 1] = { c, m } end
    end
  end
  table.sort(list, function(x, y) return before(y[1], y[2], x[1], x[2]) end)
  return list
end
local out = {}
for _, q in ipairs(queues) do
  local types
  if ft ~= '' then types = { ft } else types = redis.call('SMEMBERS', Q(q) .. 'types') end
  for _, s in ipairs(states) do
    if s == 'active' then
      local list = active_sorted(q, types)
      for i = 1, math.min(n, #list) do
        out[#out + 1] = q
        out[#out + 1] = list[i][2]
      end
    else
      for _, t in ipairs(types) do
        for _, m in ipairs(redis.call('ZREVRANGEBYLEX', idx(q, s, t), max, '-', 'LIMIT', 0, n)) do
          out[#out + 1] = q
          out[#out + 1] = m
        end
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
