import { luaScript } from './script';

/**
 * Scripts of the execution history, worker registry and metrics. Global keys, all under the `{prefix}` hash tag:
 *   {p}:xh:<jobId>    a job's executions: record id -> record JSON (a handful of fields: a small listpack hash)
 *   {p}:xq:<queue>    a queue's executions: score startedAt, member id US jobId (recent, and cleanup)
 *   {p}:xqs           the queues that have an {p}:xq:<queue> index (recent executions of every queue merge them)
 *   {p}:w:info, {p}:w:stats   worker id -> JSON;  {p}:w:seen  score lastSeenAt
 *   metric buckets: see lua/metrics.ts
 * A record costs two writes (no global record hash, no finish-time index, no all-queue index): members carry the
 * job id, so a record is found from its index with one HGET. Equal start times order by member, i.e. by record id.
 * Versions before this one also kept every record in an all-queue index {p}:xt; it is still read (recent
 * executions of every queue) and emptied by cleanup, so records written by them stay visible until they expire.
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
local named = {}
for i = 3, #ARGV, 5 do
  local id, job, q = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  if redis.call('HSETNX', G .. 'xh:' .. job, id, ARGV[i + 4]) == 1 then
    if not named[q] then
      named[q] = true
      redis.call('SADD', G .. 'xqs', q)
    end
    redis.call('ZADD', G .. 'xq:' .. q, ARGV[i + 3], id .. '\\31' .. job)
  end
end
return 1
`,
);

/**
 * ARGV: queue|'', type|'', status|'', limit, examine. Newest first from the queue's index, or from every queue's
 * indexes merged (with the all-queue index of earlier versions while it exists: a record in both counts once),
 * filtered by type and status; looks at no more than \`examine\` records, so a rare filter stays bounded. Each index
 * is read in ranges as the merge reaches them (small ones first when there are several), so a page costs about
 * (queues x 16 + limit) entries read, not a read of every queue's history.
 */
export const RECENT_EXECUTIONS = luaScript(
  'recent-executions',
  `${STORAGE_HEAD}
local q, ty, st, limit, examine = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local keys = {}
if q ~= '' then
  keys[1] = G .. 'xq:' .. q
else
  for _, name in ipairs(redis.call('SMEMBERS', G .. 'xqs')) do keys[#keys + 1] = G .. 'xq:' .. name end
  if redis.call('EXISTS', G .. 'xt') == 1 then keys[#keys + 1] = G .. 'xt' end
end
-- One index is read in ranges of the page size; several start with small ranges that grow as the merge takes from
-- them, so a page over many queues reads about (queues x 16 + limit) entries, not queues x limit.
local first = limit
if #keys > 1 and first > 16 then first = 16 end
if first > 500 then first = 500 end
local srcs = {}
for _, k in ipairs(keys) do srcs[#srcs + 1] = { k = k, buf = {}, pos = 1, off = 0, size = first, done = false } end
-- The source's next member and its score (read in ranges, newest first), or nil when it has no more.
local function head(s)
  if s.pos > #s.buf then
    if s.done then return nil end
    s.buf = redis.call('ZREVRANGE', s.k, s.off, s.off + s.size - 1, 'WITHSCORES')
    s.off = s.off + s.size
    s.pos = 1
    if #s.buf < 2 * s.size then s.done = true end
    s.size = s.size * 4
    if s.size > 500 then s.size = 500 end
    if #s.buf == 0 then return nil end
  end
  return s.buf[s.pos], tonumber(s.buf[s.pos + 1])
end
local out, seen, looked = {}, {}, 0
while #out < limit and looked < examine do
  -- Newest start first; equal start times by member, descending (as ZREVRANGE orders one index).
  local best, bs, bm = nil, nil, nil
  for _, s in ipairs(srcs) do
    local m, sc = head(s)
    if m and (best == nil or sc > bs or (sc == bs and m > bm)) then best, bs, bm = s, sc, m end
  end
  if best == nil then break end
  best.pos = best.pos + 2
  if not seen[bm] then
    seen[bm] = true
    looked = looked + 1
    local id, job = member_job(bm)
    local r = redis.call('HGET', G .. 'xh:' .. job, id)
    if r then
      local keep = true
      if ty ~= '' or st ~= '' then
        local rec = cjson.decode(r)
        keep = (ty == '' or rec.type == ty) and (st == '' or rec.status == st)
      end
      if keep then out[#out + 1] = r end
    end
  end
end
return out
`,
);

/**
 * ARGV: before, source, offset, batch. Looks at up to \`batch\` records of one index that started before \`before\`
 * (from \`offset\` in start order) and deletes those that also finished before it. The sources are the all-queue
 * index of earlier versions (source '', while it exists), then each queue's index in name order. Returns
 * { deleted, examined, next source|false }: the next source once this one has no more to look at (examined <
 * batch), else the same; the caller moves \`offset\` past the kept ones (records still running at \`before\` are few:
 * long attempts) and back to 0 on a new source. A queue whose index ends up empty leaves {p}:xqs.
 */
export const CLEANUP_EXECUTIONS = luaScript(
  'cleanup-executions',
  `${STORAGE_HEAD}
local before, src, batch = tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[6])
local key = G .. 'xt'
if src ~= '' then key = G .. 'xq:' .. src end
local ms = redis.call('ZRANGEBYSCORE', key, '-inf', '(' .. ARGV[3], 'LIMIT', tonumber(ARGV[5]), batch)
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
      -- A record of the all-queue index is in its queue's index too (one in a queue's index may be in the
      -- all-queue one: left there, it is dropped when cleanup reaches it and finds no record).
      if src == '' then redis.call('ZREM', G .. 'xq:' .. rec.queue, m) end
      redis.call('HDEL', hk, id)
    end
    redis.call('ZREM', key, m)
    n = n + 1
  end
end
if #ms == batch then return { n, #ms, src } end
if src ~= '' and redis.call('EXISTS', key) == 0 then redis.call('SREM', G .. 'xqs', src) end
local names = redis.call('SMEMBERS', G .. 'xqs')
table.sort(names)
for _, name in ipairs(names) do
  if name > src then return { n, #ms, name } end
end
return { n, #ms, false }
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
