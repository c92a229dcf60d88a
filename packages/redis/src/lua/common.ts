/**
 * Lua shared by every queue script, prepended to each one (Redis scripts cannot call each other).
 *
 * ARGV[1] is the key prefix, ARGV[2] the time ('' → the server's TIME). Script arguments start at ARGV[3].
 *
 * Key layout (all keys of a queue share the hash tag `{prefix:queue}`; global keys share `{prefix}`; in the one-slot
 * layout of a Redis Cluster a queue's keys are `{prefix}:q:<queue>:…` instead, so every key shares `{prefix}`):
 *   {p:q}:j:<id>        job hash (short field names, see codec.ts)
 *   {p:q}:r:<type>      ready jobs of a type: score -priority, member pad(runAt) pad(seq) id
 *   {p:q}:d             scheduled/retrying jobs not yet ready: score runAt, member id
 *   {p:q}:l:<type>      active jobs of a type: score lease expiry, member pad(createdAt) id (also their index),
 *                       and LEASE_PIN scored +inf (keeps the set a skiplist; readers skip it: counts and pages
 *                       read scores below +inf, the stalled sweep scores below now)
 *   {p:q}:x:<s>:<type>  jobs by state and type, for newest-first pages and counts: score 0, member pad(createdAt) id
 *                       (every state but active: the lease set is the active jobs' index)
 *   {p:q}:f:<s>         finished jobs of a state: score finishedAt, member pad(finish seq) id
 *   {p:q}:types         set of job types seen in the queue
 *   {p:q}:uk            unique key -> id of the pending job holding it
 *   {p:q}:paused        exists while the queue is paused
 *   {p}:ids             job id -> queue (ids are global)
 *   {p}:queues          set of known queues
 *   {p}:seq, {p}:token  insertion/finish order and fencing token counters
 *   {p}:xh:<job>, {p}:xq:<queue>, {p}:xqs   execution records, see storage.ts
 */
/**
 * The per-call state of the scripts: the prefix and time arguments, the key names built from them and the memo
 * caches, declared by STATE_DECL and (re)set by STATE_INIT from ARGV at the start of every call. The helpers below
 * (PRELUDE_FNS, ENQUEUE_FN, SIDE_FN) only read and write these variables, so the Functions library defines them
 * once and runs STATE_INIT per call (see library.ts), while a plain script runs all of it every time.
 */
export const STATE_DECL = `
local PFX, ONE_SLOT, NOW, NOWS, PADNOW, G, K_IDS, K_QUEUES, K_SEQ, K_TOKEN, QC, QSC, IC, ZBUF, SEEN_Q, IDBUF, ISO_AT, ISO_TEXT, JC, K_XQS, XQC
`;
export const STATE_INIT = `
-- A prefix led by '{' (prefixes never hold braces) asks for the one-slot layout of a Redis Cluster: queue keys
-- share the global hash tag {p} (see Q), so every key a script touches is in the slot its call was routed to.
PFX = ARGV[1]
ONE_SLOT = string.byte(PFX, 1) == 123
if ONE_SLOT then PFX = string.sub(PFX, 2) end
if ARGV[2] ~= '' then
  NOW = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- NOW as text, for writes: a number passed to redis.call is formatted on every call (about 0.3 us each).
NOWS = string.format('%.17g', NOW)
PADNOW = nil
G = '{' .. PFX .. '}:'
K_IDS = G .. 'ids'
K_QUEUES = G .. 'queues'
K_SEQ = G .. 'seq'
K_TOKEN = G .. 'token'
-- Key names are memoised per script call (QC, QSC, IC, XQC): building a string costs about as much as a Redis
-- command here. JC memoises JSON texts of names; ISO_AT/ISO_TEXT the last ISO time formatted.
QC, QSC, IC, ZBUF = {}, {}, {}, nil
SEEN_Q, IDBUF = {}, nil
ISO_AT, ISO_TEXT, JC, K_XQS, XQC = nil, nil, {}, G .. 'xqs', {}
`;

/** The helpers every queue script shares (they need STATE_DECL in scope). */
export const PRELUDE_FNS = `
local function Q(q)
  local k = QC[q]
  if not k then
    if ONE_SLOT then k = G .. 'q:' .. q .. ':' else k = '{' .. PFX .. ':' .. q .. '}:' end
    QC[q] = k
  end
  return k
end
local function JK(q, id) return Q(q) .. 'j:' .. id end
-- Every lease set holds this member, scored +inf (never expires, never a job: job members start with 15 digits).
-- It is longer than zset-max-listpack-value (64 bytes by default), so the set is a skiplist from the first claim on
-- and stays one (it never empties): in the compact listpack encoding a lease set of a worker's 50 to 128 jobs costs
-- a scan of the whole set for every lease added or removed, about 5 us per ZADD element instead of 1.
local LEASE_PIN = 'conveyor: pins this lease set to the skiplist encoding (a listpack costs a full scan per write)'
-- A queue's key with a fixed suffix ('d'), or suffix a .. b ('r:' .. type, 'l:' .. type, 'f:' .. state), memoised.
local function QS(q, a, b)
  local c = QSC[q]
  if not c then
    c = {}
    QSC[q] = c
  end
  local k
  if b == nil then
    k = c[a]
    if not k then
      k = Q(q) .. a
      c[a] = k
    end
    return k
  end
  local d = c[a]
  if not d then
    d = {}
    c[a] = d
  end
  k = d[b]
  if not k then
    k = Q(q) .. a .. b
    d[b] = k
  end
  return k
end
local function pad(n)
  n = tonumber(n) or 0
  -- Most members carry the call's own time (createdAt, runAt of an enqueue): formatted once per call.
  if n == NOW then
    if not PADNOW then PADNOW = string.format('%015d', n) end
    return PADNOW
  end
  if n < 0 then n = 0 end
  return string.format('%015d', n)
end
-- Three-digit texts of 0..999, formatted on first use (the last digits of padded finish orders).
local LO3 = {}
local function lexm(c, id) return pad(c) .. id end
local function readym(r, sq, id) return pad(r) .. pad(sq) .. id end
local function idx(q, s, t)
  local a = IC[q]
  if not a then
    a = {}
    IC[q] = a
  end
  local b = a[s]
  if not b then
    b = {}
    a[s] = b
  end
  local k = b[t]
  if not k then
    k = Q(q) .. 'x:' .. s .. ':' .. t
    b[t] = k
  end
  return k
end
local function fmt(n) return string.format('%.17g', n) end

-- Sorted-set writes of the hot scripts (enqueue, claim, complete) are buffered per key and sent as one variadic
-- ZADD / ZREM per key at the end (zflush): from Lua, a call costs about as much as the write itself. A script that
-- turns buffering on (zbuffer) must zflush before it reads a buffered key, and before it returns. Off by default.
local function zbuffer() ZBUF = { ZADD = {}, ZREM = {}, order = {} } end
-- The buffered list of (op, key), for a caller that appends to it directly (buffering must be on).
local function zlist(op, key)
  local byop = ZBUF[op]
  local l = byop[key]
  if not l then
    l = {}
    byop[key] = l
    ZBUF.order[#ZBUF.order + 1] = { op, key }
  end
  return l
end
local function zop(op, key, a, b)
  if not ZBUF then
    if b ~= nil then return redis.call(op, key, a, b) end
    return redis.call(op, key, a)
  end
  local l = zlist(op, key)
  l[#l + 1] = a
  if b ~= nil then l[#l + 1] = b end
end
local function zflush()
  if not ZBUF then return end
  local buf = ZBUF
  ZBUF = { ZADD = {}, ZREM = {}, order = {} }
  for _, ok in ipairs(buf.order) do
    local op, key = ok[1], ok[2]
    local l = buf[op][key]
    for i = 1, #l, 4000 do
      local j = i + 3999
      if j > #l then j = #l end
      redis.call(op, key, unpack(l, i, j))
    end
  end
end

-- Active jobs have no state index (their type's lease set {p:q}:l:<type> is theirs), so a claim and an ack move one
-- index entry each.
-- m: the member (lexm(c, id)) when the caller has it already.
local function move_index(q, t, c, id, from, to, m)
  m = m or lexm(c, id)
  if from and from ~= 'active' then zop('ZREM', idx(q, from, t), m) end
  if to and to ~= 'active' then zop('ZADD', idx(q, to, t), '0', m) end
end
-- Ready-set scores (-priority) as text, memoised: priorities repeat.
local PRSC = {}
local function prscore(pr)
  local s = PRSC[pr]
  if not s then
    s = string.format('%.17g', -tonumber(pr))
    PRSC[pr] = s
  end
  return s
end

-- Put a pending job where its state says: a ready set, or the delayed set.
local function schedule(q, id, s, t, r, sq, pr)
  if s == 'waiting' then
    zop('ZADD', QS(q, 'r:', t), prscore(pr), readym(r, sq, id))
  elseif s == 'scheduled' or s == 'retrying' then
    zop('ZADD', QS(q, 'd'), r, id)
  end
end

-- Take a job out of whichever pending or lease structure holds it (j: s, t, r, sq, c).
local function unschedule(q, id, s, t, r, sq, c)
  if s == 'waiting' then
    redis.call('ZREM', Q(q) .. 'r:' .. t, readym(r, sq, id))
  elseif s == 'scheduled' or s == 'retrying' then
    if redis.call('ZREM', Q(q) .. 'd', id) == 0 then
      redis.call('ZREM', Q(q) .. 'r:' .. t, readym(r, sq, id))
    end
  elseif s == 'active' then
    redis.call('ZREM', Q(q) .. 'l:' .. t, lexm(c, id))
  end
end

local function release_unique(q, uk, id)
  if uk and redis.call('HGET', Q(q) .. 'uk', uk) == id then redis.call('HDEL', Q(q) .. 'uk', uk) end
end

-- Enter a finished state: finish order, finishedAt, the per-state finished set. An extra (field, value) pair, when
-- given, goes into the same HSET. The lease expiry field 'l' stays (it is read only while the job is active).
local function finish(q, jk, id, s, xf, xv, fs)
  -- fs: a finish order reserved by the caller (one INCRBY for a whole batch), else taken here.
  if not fs then fs = redis.call('INCR', K_SEQ) end
  -- The finish order is stored padded (only the scripts read it, through pad): one format instead of two.
  local pfs = pad(fs)
  zop('ZADD', QS(q, 'f:', s), NOWS, pfs .. id)
  if xf then
    redis.call('HSET', jk, 's', s, 'f', NOWS, 'fs', pfs, xf, xv)
  else
    redis.call('HSET', jk, 's', s, 'f', NOWS, 'fs', pfs)
  end
end

-- Forget a job entirely.
local function drop(q, id)
  local jk = JK(q, id)
  local v = redis.call('HMGET', jk, 's', 't', 'c', 'r', 'sq', 'uk', 'fs')
  if not v[1] then return end
  unschedule(q, id, v[1], v[2], v[4], v[5], v[3])
  if v[1] ~= 'active' then redis.call('ZREM', idx(q, v[1], v[2]), lexm(v[3], id)) end
  if v[7] then redis.call('ZREM', Q(q) .. 'f:' .. v[1], pad(v[7]) .. id) end
  release_unique(q, v[6], id)
  redis.call('HDEL', K_IDS, id)
  redis.call('DEL', jk)
end

-- Apply a finishing job's retention to its queue's jobs of state s; true when the job itself was dropped.
-- At most 1000 older jobs go per call, so one ack never blocks Redis for long; later acks trim the rest.
local function retain(q, s, id, imm, count, age)
  if imm == '1' then
    drop(q, id)
    return true
  end
  local fk = Q(q) .. 'f:' .. s
  if count then
    local n = redis.call('ZCARD', fk)
    local extra = n - tonumber(count)
    if extra > 0 then
      if extra > 1000 then extra = 1000 end
      for _, m in ipairs(redis.call('ZRANGE', fk, 0, extra - 1)) do drop(q, string.sub(m, 16)) end
    end
  end
  if age then
    local cutoff = NOW - tonumber(age)
    for _, m in ipairs(redis.call('ZRANGEBYSCORE', fk, '-inf', '(' .. fmt(cutoff), 'LIMIT', 0, 1000)) do
      drop(q, string.sub(m, 16))
    end
  end
  -- Without a count or an age rule nothing was dropped, so the job is still there (no EXISTS on the hot path).
  if not count and not age then return false end
  return redis.call('EXISTS', JK(q, id)) == 0
end

-- The job's queue, key, lease set member and lease set when (id, token) is its current lease, else nil.
local function held(id, tok)
  local q = redis.call('HGET', K_IDS, id)
  if not q then return nil end
  local jk = JK(q, id)
  local v = redis.call('HMGET', jk, 's', 'tk', 'c', 't')
  if v[1] ~= 'active' or v[2] ~= tok then return nil end
  return q, jk, lexm(v[3], id), Q(q) .. 'l:' .. v[4]
end

-- A finished job back to waiting with room for one more attempt; returns an error reply when its unique key is
-- held by another job meanwhile.
local function requeue(q, id)
  local jk = JK(q, id)
  local v = redis.call('HMGET', jk, 's', 't', 'c', 'uk', 'fs', 'a', 'ma', 'pr', 'sq')
  local uk = v[4]
  if uk then
    local holder = redis.call('HGET', Q(q) .. 'uk', uk)
    if holder and holder ~= id then return holder end
    redis.call('HSET', Q(q) .. 'uk', uk, id)
  end
  if v[5] then redis.call('ZREM', Q(q) .. 'f:' .. v[1], pad(v[5]) .. id) end
  move_index(q, v[2], v[3], id, v[1], 'waiting')
  local ma = tonumber(v[7])
  local a1 = tonumber(v[6]) + 1
  if a1 > ma then ma = a1 end
  redis.call('HSET', jk, 's', 'waiting', 'ma', ma, 'r', NOW)
  redis.call('HDEL', jk, 'f', 'fs', 'res', 'l')
  schedule(q, id, 'waiting', v[2], NOW, v[9], v[8])
  return nil
end
`;

/** The head of every queue script run as a plain script: its state, set from ARGV, and the shared helpers. */
export const PRELUDE = `${STATE_DECL}${STATE_INIT}${PRELUDE_FNS}`;

/**
 * Enqueue of one job, shared by the enqueue, enqueue-many and fire-schedule scripts. Mirrors `buildJob` from
 * @conveyor/core: the client passes every default already applied (it runs `buildJob` itself), the script only
 * decides the times from the server clock: createdAt = now, runAt = runAt ?? now + max(0, delayMs), and
 * `scheduled` when runAt > now, else `waiting`.
 *
 * Arguments per job (ENQUEUE_ARITY): id, queue, type, payload, priority, delayMs, runAt|'', maxAttempts,
 * backoff|'', timeoutMs|'', 'k'..uniqueKey|'', removeOnComplete|'', removeOnFail|'', meta|'',
 * rcImmediate, rcCount, rcAge, rfImmediate, rfCount, rfAge ('' for absent).
 * Returns nil, state, runAt, seq for a new job, or the existing job's HGETALL when deduplicated (by id, or by live
 * unique key).
 */
export const ENQUEUE_FN = `
-- With ids_buffer(), the id index entries of a batch go in one HSET at the end (ids_flush), and the jobs of the
-- batch are found by id in IDBUF.seen meanwhile.
local function ids_buffer() IDBUF = { seen = {}, args = {} } end
local function ids_flush()
  if not IDBUF then return end
  local a = IDBUF.args
  for i = 1, #a, 4000 do
    local j = i + 3999
    if j > #a then j = #a end
    redis.call('HSET', K_IDS, unpack(a, i, j))
  end
  IDBUF = { seen = {}, args = {} }
end
local OPTIONAL = { 'bo', 'to', 'uk', 'rc', 'rf', 'm', 'rci', 'rcc', 'rca', 'rfi', 'rfc', 'rfa' }
local function enqueue_one(o, sq)
  local id, q, t = ARGV[o], ARGV[o + 1], ARGV[o + 2]
  local existing = (IDBUF and IDBUF.seen[id]) or redis.call('HGET', K_IDS, id)
  if existing then return redis.call('HGETALL', JK(existing, id)) end
  local uk = ARGV[o + 10]
  if uk ~= '' then
    uk = string.sub(uk, 2)
    local holder = redis.call('HGET', Q(q) .. 'uk', uk)
    if holder then return redis.call('HGETALL', JK(q, holder)) end
  end
  local runAt
  if ARGV[o + 6] ~= '' then
    runAt = tonumber(ARGV[o + 6])
  else
    local d = tonumber(ARGV[o + 5])
    if d < 0 then d = 0 end
    runAt = NOW + d
  end
  local s = 'waiting'
  if runAt > NOW then s = 'scheduled' end
  -- sq: an insertion order reserved by the caller for a whole batch, else taken here.
  if not sq then sq = redis.call('INCR', K_SEQ) end
  local jk = JK(q, id)
  local rs = NOWS
  if runAt ~= NOW then rs = fmt(runAt) end
  local fields = { 'id', id, 'q', q, 't', t, 'p', ARGV[o + 3], 's', s, 'pr', ARGV[o + 4], 'a', '0',
    'ma', ARGV[o + 7], 'c', NOWS, 'r', rs, 'sq', sq }
  local values = { ARGV[o + 8], ARGV[o + 9], uk, ARGV[o + 11], ARGV[o + 12], ARGV[o + 13],
    ARGV[o + 14], ARGV[o + 15], ARGV[o + 16], ARGV[o + 17], ARGV[o + 18], ARGV[o + 19] }
  local plain = true
  for i = 1, 12 do
    if values[i] ~= '' then
      plain = false
      fields[#fields + 1] = OPTIONAL[i]
      fields[#fields + 1] = values[i]
    end
  end
  -- 'pl' = '1': the job has none of the optional fields (the claim then reads fewer); whoever sets one of them
  -- (lastError, progress) sets it to '0'.
  if plain then
    fields[#fields + 1] = 'pl'
    fields[#fields + 1] = '1'
  end
  redis.call('HSET', jk, unpack(fields))
  if IDBUF then
    IDBUF.seen[id] = q
    IDBUF.args[#IDBUF.args + 1] = id
    IDBUF.args[#IDBUF.args + 1] = q
  else
    redis.call('HSET', K_IDS, id, q)
  end
  if uk ~= '' then redis.call('HSET', Q(q) .. 'uk', uk, id) end
  if not SEEN_Q[q] then
    SEEN_Q[q] = {}
    redis.call('SADD', K_QUEUES, q)
  end
  if not SEEN_Q[q][t] then
    SEEN_Q[q][t] = true
    redis.call('SADD', Q(q) .. 'types', t)
  end
  move_index(q, t, NOW, id, nil, s)
  schedule(q, id, s, t, runAt, sq, ARGV[o + 4])
  return nil, s, runAt, sq
end
`;

/** Number of ARGV slots per job of {@link ENQUEUE_FN}. */
export const ENQUEUE_ARITY = 20;

/**
 * What the runtime would otherwise write behind a claim, an ack or an enqueue (inline records): execution records
 * (as RECORD_EXECUTIONS stores them), events (as RedisEventBus.publish appends them) and, with METRICS_FN, metrics.
 * Needs the PRELUDE (G, NOW).
 */
export const SIDE_FN = `
-- ISO-8601 UTC of a time in ms (days to civil date: Howard Hinnant's algorithm).
local function iso(ms)
  if ms == ISO_AT then return ISO_TEXT end
  local s = math.floor(ms / 1000)
  local msr = ms - s * 1000
  local days = math.floor(s / 86400)
  local rem = s - days * 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp + 3
  if mp >= 10 then m = mp - 9 end
  if m <= 2 then y = y + 1 end
  ISO_AT = ms
  ISO_TEXT = string.format('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', y, m, d, math.floor(rem / 3600),
    math.floor((rem % 3600) / 60), rem % 60, msr)
  return ISO_TEXT
end
-- A string as JSON text (memoised: queue, type and worker names repeat).
local function jstr(x)
  local j = JC[x]
  if not j then
    j = cjson.encode(x)
    JC[x] = j
  end
  return j
end
-- A queue's execution index, memoised per call; the first use in a call also (re)names the queue in {p}:xqs, the
-- queues with an execution index, which recent executions of every queue merge (a cleanup that empties an index
-- takes its queue out, so each call adds it back rather than trusting an earlier call).
local function xq_key(queue)
  local xq = XQC[queue]
  if not xq then
    xq = G .. 'xq:' .. queue
    XQC[queue] = xq
    redis.call('SADD', K_XQS, queue)
  end
  return xq
end
-- One execution record (same id twice keeps the first).
local function record_exec(id, job, queue, startedAt, json)
  if redis.call('HSETNX', G .. 'xh:' .. job, id, json) == 1 then
    zop('ZADD', xq_key(queue), startedAt, id .. '\\31' .. job)
  end
end
-- Append event JSON texts to the event stream, up to 100 per entry (as RedisEventBus.publish does).
local function publish_events(list, maxlen)
  local n = #list
  local i = 1
  while i <= n do
    local j = i + 99
    if j > n then j = n end
    redis.call('XADD', G .. 'events', 'MAXLEN', '~', maxlen, '*', 'e', '[' .. table.concat(list, ',', i, j) .. ']')
    i = j + 1
  end
end
`;
