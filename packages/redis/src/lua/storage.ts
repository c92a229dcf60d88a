import { luaScript } from './script';

/**
 * Scripts of the execution history, worker registry and metrics. Global keys, all under the `{prefix}` hash tag:
 *   {p}:xh:<jobId>    a job's executions: record id -> record JSON (a handful of fields: a small listpack hash)
 *   {p}:xq:<queue>    a queue's executions: score startedAt, member id US jobId
 *   {p}:xt            every execution: score startedAt, member id US jobId (recent, and cleanup)
 *   {p}:w:info, {p}:w:stats   worker id -> JSON;  {p}:w:seen  score lastSeenAt
 *   metric buckets: see lua/metrics.ts
 * A record costs three writes (no global record hash, no finish-time index): members carry the job id, so a record
 * is found from either index with one HGET. Equal start times order by member, i.e. by record id, as before.
 * ARGV[1] is the prefix and ARGV[2] the time ('' → server TIME), as for the queue scripts.
 */
/** A history index member (record id US job id) split into its two parts. */
export const MEMBER_JOB_FN = `
local function member_job(m)
  local at = string.find(m, '\\31', 1, true)
  return string.sub(m, 1, at - 1), string.sub(m, at + 1)
end
`;

/** The head of a history script run as a plain script (the Functions library has G and NOW already). */
export const STORAGE_HEAD = `
local G = '{' .. string.gsub(ARGV[1], '^{', '') .. '}:'
local NOW
if ARGV[2] ~= '' then
  NOW = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
${MEMBER_JOB_FN}`;

/** ARGV: (id, jobId, queue, startedAt, json)... Writing an id twice keeps the first record. */
export const RECORD_EXECUTIONS = luaScript(
  'record-executions',
  `${STORAGE_HEAD}
for i = 3, #ARGV, 5 do
  local id, job = ARGV[i], ARGV[i + 1]
  if redis.call('HSETNX', G .. 'xh:' .. job, id, ARGV[i + 4]) == 1 then
    local m = id .. '\\31' .. job
    redis.call('ZADD', G .. 'xq:' .. ARGV[i + 2], ARGV[i + 3], m)
    redis.call('ZADD', G .. 'xt', ARGV[i + 3], m)
  end
end
return 1
`,
);

/**
 * ARGV: queue|'', type|'', status|'', limit, examine. Newest first from the queue's index (or the global one),
 * filtered by type and status; looks at no more than \`examine\` records, so a rare filter stays bounded.
 */
export const RECENT_EXECUTIONS = luaScript(
  'recent-executions',
  `${STORAGE_HEAD}
local q, ty, st, limit, examine = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local key = G .. 'xt'
if q ~= '' then key = G .. 'xq:' .. q end
local out, offset = {}, 0
while #out < limit and offset < examine do
  local ms = redis.call('ZREVRANGE', key, offset, offset + 199)
  if #ms == 0 then break end
  offset = offset + #ms
  for _, m in ipairs(ms) do
    local id, job = member_job(m)
    local r = redis.call('HGET', G .. 'xh:' .. job, id)
    if r then
      local keep = true
      if ty ~= '' or st ~= '' then
        local rec = cjson.decode(r)
        keep = (ty == '' or rec.type == ty) and (st == '' or rec.status == st)
      end
      if keep then
        out[#out + 1] = r
        if #out >= limit then break end
      end
    end
  end
end
return out
`,
);

/**
 * ARGV: before, offset, batch. Looks at up to \`batch\` records that started before \`before\` (from \`offset\` in
 * start order) and deletes those that also finished before it. Returns { deleted, examined }; the caller moves
 * \`offset\` past the kept ones (records still running at \`before\` are few: long attempts).
 */
export const CLEANUP_EXECUTIONS = luaScript(
  'cleanup-executions',
  `${STORAGE_HEAD}
local before = tonumber(ARGV[3])
local ms = redis.call('ZRANGEBYSCORE', G .. 'xt', '-inf', '(' .. ARGV[3], 'LIMIT', tonumber(ARGV[4]), tonumber(ARGV[5]))
local n = 0
for _, m in ipairs(ms) do
  local id, job = member_job(m)
  local hk = G .. 'xh:' .. job
  local r = redis.call('HGET', hk, id)
  local doomed = true
  local rec
  if r then
    rec = cjson.decode(r)
    doomed = tonumber(rec.finishedAt) < before
  end
  if doomed then
    if rec then
      redis.call('ZREM', G .. 'xq:' .. rec.queue, m)
      redis.call('HDEL', hk, id)
    end
    redis.call('ZREM', G .. 'xt', m)
    n = n + 1
  end
end
return { n, #ms }
`,
);

/** ARGV: id, infoJson, zeroStatsJson. */
export const REGISTER_WORKER = luaScript(
  'register-worker',
  `${STORAGE_HEAD}
redis.call('HSET', G .. 'w:info', ARGV[3], ARGV[4])
redis.call('HSET', G .. 'w:stats', ARGV[3], ARGV[5])
redis.call('ZADD', G .. 'w:seen', NOW, ARGV[3])
return 1
`,
);

/** ARGV: id, statsJson. A worker removed meanwhile is not brought back. */
export const HEARTBEAT_WORKER = luaScript(
  'heartbeat-worker',
  `${STORAGE_HEAD}
if redis.call('HEXISTS', G .. 'w:info', ARGV[3]) == 0 then return 0 end
redis.call('HSET', G .. 'w:stats', ARGV[3], ARGV[4])
redis.call('ZADD', G .. 'w:seen', NOW, ARGV[3])
return 1
`,
);

/** Returns { id, infoJson, statsJson, lastSeenAt }... */
export const LIST_WORKERS = luaScript(
  'list-workers',
  `${STORAGE_HEAD}
local out = {}
local seen = redis.call('ZRANGE', G .. 'w:seen', 0, -1, 'WITHSCORES')
for i = 1, #seen, 2 do
  local id = seen[i]
  local info = redis.call('HGET', G .. 'w:info', id)
  if info then
    out[#out + 1] = { id, info, redis.call('HGET', G .. 'w:stats', id) or '{}', seen[i + 1] }
  end
end
return out
`,
);

/** ARGV: before|'' ('' with ARGV[4] = id: remove that one worker). Returns how many were removed. */
export const REMOVE_WORKERS = luaScript(
  'remove-workers',
  `${STORAGE_HEAD}
local ids
if ARGV[3] == '' then ids = { ARGV[4] } else ids = redis.call('ZRANGEBYSCORE', G .. 'w:seen', '-inf', '(' .. ARGV[3]) end
local n = 0
for _, id in ipairs(ids) do
  n = n + redis.call('HDEL', G .. 'w:info', id)
  redis.call('HDEL', G .. 'w:stats', id)
  redis.call('ZREM', G .. 'w:seen', id)
end
return n
`,
);

/**
 * Presence of event watchers (buses with a subscriber that is not the runtime's own): a sorted set of bus ids scored
 * by when their presence lapses. ARGV: busId, ttlMs ('' removes the bus).
 */
export const WATCH_EVENTS = luaScript(
  'watch-events',
  `${STORAGE_HEAD}
if ARGV[4] == '' then
  redis.call('ZREM', G .. 'watchers', ARGV[3])
else
  redis.call('ZADD', G .. 'watchers', NOW + tonumber(ARGV[4]), ARGV[3])
end
return 1
`,
);

/** How many buses have watchers now (lapsed presences are dropped first). */
export const COUNT_WATCHERS = luaScript(
  'count-watchers',
  `${STORAGE_HEAD}
redis.call('ZREMRANGEBYSCORE', G .. 'watchers', '-inf', '(' .. NOW)
return redis.call('ZCARD', G .. 'watchers')
`,
);
