import { ENQUEUE_ARITY, ENQUEUE_FN, PRELUDE, SIDE_FN } from './common';
import { METRICS_FN } from './metrics';
import { luaScript } from './script';

/**
 * ARGV: sideEffects ('' none | 'm' the enqueued metric | 'e' metric and job.enqueued events), event stream maxLen,
 * then job arguments × n (ENQUEUE_ARITY each). All jobs are stored by this one script or none (the client
 * validates every job before sending); each stored (not deduplicated) job gets its metric and event in the same
 * step. Returns { now, { 0 | HGETALL of the job it duplicates }... }.
 */
export const ENQUEUE = luaScript(
  'enqueue',
  `${PRELUDE}${ENQUEUE_FN}${SIDE_FN}${METRICS_FN}
local side = ARGV[3]
local acc, events = mnew(), {}
local out = {}
-- Insertion orders for the whole batch in one INCRBY (a deduplicated job leaves a gap, which orders nothing wrongly).
local n = math.floor((#ARGV - 4) / ${ENQUEUE_ARITY})
local sqbase = 0
if n > 0 then sqbase = redis.call('INCRBY', K_SEQ, n) - n end
zbuffer()
ids_buffer()
for o = 5, #ARGV, ${ENQUEUE_ARITY} do
  local dup, s, runAt, sq = enqueue_one(o, sqbase + (o - 5) / ${ENQUEUE_ARITY} + 1)
  if dup then
    out[#out + 1] = dup
  else
    out[#out + 1] = 0
    if side ~= '' then
      local q, t = ARGV[o + 1], ARGV[o + 2]
      macc(acc, 'enqueued', q, t, NOW, 1, nil, 0)
      if side == 'e' then
        events[#events + 1] = '{"id":"je' .. sq .. '","type":"job.enqueued","timestamp":"' .. iso(NOW) ..
          '","queue":' .. jstr(q) .. ',"jobId":' .. jstr(ARGV[o]) .. ',"data":{"type":' .. jstr(t) ..
          ',"state":"' .. s .. '","priority":' .. fmt(tonumber(ARGV[o + 4])) .. ',"runAt":"' .. iso(runAt) .. '"}}'
      end
    end
  end
end
zflush()
ids_flush()
if side ~= '' then
  mflush(acc)
  if #events > 0 then publish_events(events, ARGV[4]) end
end
return { fmt(NOW), out }
`,
);

/** ARGV: id. Returns the job's HGETALL, or an empty list. */
export const GET_JOB = luaScript(
  'get-job',
  `${PRELUDE}
local q = redis.call('HGET', K_IDS, ARGV[3])
if not q then return {} end
return redis.call('HGETALL', JK(q, ARGV[3]))
`,
);

/**
 * Operator actions on one job. ARGV: action (retry|promote|cancel|remove), id.
 * Returns { 'ok', HGETALL } | { 'missing' } | { 'state', state } | { 'unique', holderId }.
 */
export const JOB_ACTION = luaScript(
  'job-action',
  `${PRELUDE}
local action, id = ARGV[3], ARGV[4]
local q = redis.call('HGET', K_IDS, id)
if not q then return { 'missing' } end
local jk = JK(q, id)
local v = redis.call('HMGET', jk, 's', 't', 'c', 'r', 'sq', 'pr', 'uk')
local s = v[1]
if not s then return { 'missing' } end
if action == 'retry' then
  if s ~= 'failed' and s ~= 'cancelled' then return { 'state', s } end
  local holder = requeue(q, id)
  if holder then return { 'unique', holder } end
elseif action == 'promote' then
  if s ~= 'scheduled' and s ~= 'retrying' then return { 'state', s } end
  unschedule(q, id, s, v[2], v[4], v[5], v[3])
  move_index(q, v[2], v[3], id, s, 'waiting')
  local r = tonumber(v[4])
  if NOW < r then r = NOW end
  redis.call('HSET', jk, 's', 'waiting', 'r', fmt(r))
  schedule(q, id, 'waiting', v[2], r, v[5], v[6])
elseif action == 'cancel' then
  if s == 'completed' or s == 'failed' or s == 'cancelled' then return { 'state', s } end
  -- Leaving 'active' revokes the lease: every later write with its token is refused.
  unschedule(q, id, s, v[2], v[4], v[5], v[3])
  move_index(q, v[2], v[3], id, s, 'cancelled')
  finish(q, jk, id, 'cancelled')
  release_unique(q, v[7], id)
elseif action == 'remove' then
  if s == 'active' then return { 'state', s } end
  drop(q, id)
  return { 'ok', {} }
end
return { 'ok', redis.call('HGETALL', jk) }
`,
);

/** ARGV: queue, limit. Oldest failures first; a job whose unique key is taken meanwhile stays failed. */
export const RETRY_FAILED = luaScript(
  'retry-failed',
  `${PRELUDE}
local q, limit = ARGV[3], tonumber(ARGV[4])
local moved, offset = 0, 0
local fk = Q(q) .. 'f:failed'
while moved < limit do
  local batch = redis.call('ZRANGE', fk, offset, offset + 99)
  if #batch == 0 then break end
  for _, m in ipairs(batch) do
    if moved >= limit then break end
    if requeue(q, string.sub(m, 16)) then offset = offset + 1 else moved = moved + 1 end
  end
end
return moved
`,
);

/** ARGV: queue, state, olderThanMs, limit. Finished jobs of `state` with finishedAt <= now - olderThanMs. */
export const CLEAN = luaScript(
  'clean',
  `${PRELUDE}
local q, s, older, limit = ARGV[3], ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
if limit <= 0 then return 0 end
local doomed = redis.call('ZRANGEBYSCORE', Q(q) .. 'f:' .. s, '-inf', fmt(NOW - older), 'LIMIT', 0, limit)
for _, m in ipairs(doomed) do drop(q, string.sub(m, 16)) end
return #doomed
`,
);

/** ARGV: queue, '1' to pause | '0' to resume. A paused or resumed queue becomes known. */
export const SET_PAUSED = luaScript(
  'set-paused',
  `${PRELUDE}
local q = ARGV[3]
redis.call('SADD', K_QUEUES, q)
if ARGV[4] == '1' then redis.call('SET', Q(q) .. 'paused', '1') else redis.call('DEL', Q(q) .. 'paused') end
return 1
`,
);

/** ARGV: name, cron, timezone, jobJson, nextRunAt|'', paused '1'|'0'. Returns lastFiredAt|false. */
export const UPSERT_SCHEDULE = luaScript(
  'upsert-schedule',
  `${PRELUDE}
local name = ARGV[3]
local k = G .. 'sched:' .. name
redis.call('HSET', k, 'name', name, 'cron', ARGV[4], 'tz', ARGV[5], 'job', ARGV[6], 'paused', ARGV[8])
if ARGV[7] == '' then redis.call('HDEL', k, 'nr') else redis.call('HSET', k, 'nr', ARGV[7]) end
redis.call('SADD', G .. 'scheds', name)
return redis.call('HGET', k, 'lf')
`,
);

/** Returns every schedule's HGETALL. */
export const LIST_SCHEDULES = luaScript(
  'list-schedules',
  `${PRELUDE}
local out = {}
for _, name in ipairs(redis.call('SMEMBERS', G .. 'scheds')) do
  out[#out + 1] = redis.call('HGETALL', G .. 'sched:' .. name)
end
return out
`,
);

/** ARGV: name. Returns 1 when removed. */
export const REMOVE_SCHEDULE = luaScript(
  'remove-schedule',
  `${PRELUDE}
redis.call('DEL', G .. 'sched:' .. ARGV[3])
return redis.call('SREM', G .. 'scheds', ARGV[3])
`,
);

/**
 * ARGV: name, fireAt, nextRunAt|'', then one job's enqueue arguments. Exactly once per tick across any number of
 * scheduler instances: the lastFiredAt check, its update and the enqueue are one script.
 * Returns 'missing', 'fired' (already fired), or { now, 0 | HGETALL of the duplicate }.
 */
export const FIRE_SCHEDULE = luaScript(
  'fire-schedule',
  `${PRELUDE}${ENQUEUE_FN}
local k = G .. 'sched:' .. ARGV[3]
if redis.call('EXISTS', k) == 0 then return 'missing' end
local fireAt = tonumber(ARGV[4])
local lf = redis.call('HGET', k, 'lf')
if lf and tonumber(lf) >= fireAt then return 'fired' end
redis.call('HSET', k, 'lf', ARGV[4])
if ARGV[5] == '' then redis.call('HDEL', k, 'nr') else redis.call('HSET', k, 'nr', ARGV[5]) end
return { fmt(NOW), enqueue_one(6) or 0 }
`,
);

/**
 * Brings data written by an earlier key layout up to this one, once per prefix (`{p}:layout` records it, `3` now).
 * Layout 1 (no `{p}:layout`): one lease set `{p:q}:l` with the job id as member, a per-type active index
 * `{p:q}:x:active:<type>` and a waiting index `{p:q}:w`. Layout 2: one lease set `{p:q}:l` with member
 * `createdAt·id`. Layout 3: one lease set per type `{p:q}:l:<type>`, member `createdAt·id`, lease expiry kept. Jobs
 * still active move into their type's lease set (so their acks, heartbeats and the stalled sweep find them); the old
 * keys go. Atomic; a no-op (one GET) once done. Returns the number of active jobs moved.
 */
export const MIGRATE_LAYOUT = luaScript(
  'migrate-layout',
  `${PRELUDE}
local K_LAYOUT = G .. 'layout'
local from = redis.call('GET', K_LAYOUT)
if from == '3' then return 0 end
local n = 0
for _, q in ipairs(redis.call('SMEMBERS', K_QUEUES)) do
  local lk = Q(q) .. 'l'
  local old = redis.call('ZRANGE', lk, 0, -1, 'WITHSCORES')
  for i = 1, #old, 2 do
    local m = old[i]
    -- Layout 2 members are pad(createdAt) id, layout 1 members the id; the other reading is tried when the first
    -- names no job.
    local a, b = m, string.sub(m, 16)
    if from == '2' then a, b = b, a end
    local id = a
    local v = redis.call('HMGET', JK(q, id), 's', 't', 'c')
    if not v[1] then
      id = b
      v = redis.call('HMGET', JK(q, id), 's', 't', 'c')
    end
    if v[1] == 'active' then
      redis.call('ZADD', QS(q, 'l:', v[2]), old[i + 1], lexm(v[3], id))
      n = n + 1
    end
  end
  redis.call('DEL', lk)
  for _, t in ipairs(redis.call('SMEMBERS', Q(q) .. 'types')) do redis.call('DEL', idx(q, 'active', t)) end
  redis.call('DEL', Q(q) .. 'w')
end
redis.call('SET', K_LAYOUT, '3')
return n
`,
);
