import { PRELUDE, SIDE_FN } from './common';
import { METRIC_ARITY, METRICS_FN } from './metrics';
import { luaScript } from './script';

/**
 * Claim up to `limit` ready jobs over several queues in one round trip.
 * ARGV: recordStart ('' | 'm' started metrics | 'e' metrics and job.started events), event stream maxLen,
 * workerId, limit, leaseMs, nQueues, queues..., nTypes (-1 = every type), types...
 * Returns { now, { id, then the fields c, a, ma, r, p of each claimed job before the claim, its ready set score
 * (-priority), then queue and type
 * (left out for a plain job claimed from the same ready set as the job before it: same queue and type), then (only
 * when the job is not plain: field 'pl' ~= '1') bo, to, uk, rc, rf, m, e, pg }..., token base, lease expiry } in
 * claim order (absent fields are false).
 */
export const CLAIM = luaScript(
  'claim',
  `${PRELUDE}${SIDE_FN}${METRICS_FN}
local rs = ARGV[3]
local worker, limit, leaseMs = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local nq = tonumber(ARGV[8])
local nt = tonumber(ARGV[9 + nq])
local sources, seen = {}, {}
for i = 1, nq do
  local q = ARGV[8 + i]
  if not seen[q] and redis.call('EXISTS', Q(q) .. 'paused') == 0 then
    seen[q] = true
    -- Scheduled and retrying jobs whose time has come join their type's ready set (their state stays).
    local dk = Q(q) .. 'd'
    local due = redis.call('ZRANGEBYSCORE', dk, '-inf', fmt(NOW), 'LIMIT', 0, 1000)
    if #due > 0 then
      for _, id in ipairs(due) do
        local v = redis.call('HMGET', JK(q, id), 't', 'pr', 'r', 'sq')
        redis.call('ZADD', Q(q) .. 'r:' .. v[1], -tonumber(v[2]), readym(v[3], v[4], id))
      end
      redis.call('ZREM', dk, unpack(due))
    end
    local types
    if nt < 0 then
      types = redis.call('SMEMBERS', Q(q) .. 'types')
    else
      types = {}
      for j = 1, nt do types[j] = ARGV[9 + nq + j] end
    end
    for _, t in ipairs(types) do
      local k = Q(q) .. 'r:' .. t
      if not seen[k] then
        seen[k] = true
        if redis.call('EXISTS', k) == 1 then sources[#sources + 1] = { k = k, q = q, t = t } end
      end
    end
  end
end
-- The picked jobs in claim order, as three lists (no table per job): source, ready set member and score (-priority).
local psrc, pm, psc = {}, {}, {}
if #sources == 1 then
  local src = sources[1]
  local popped = redis.call('ZPOPMIN', src.k, limit)
  for i = 1, #popped, 2 do
    local n = #pm + 1
    psrc[n], pm[n], psc[n] = src, popped[i], popped[i + 1]
  end
elseif #sources > 1 then
  -- Merge the heads: highest priority (lowest score), then earliest runAt, then insertion order (the member).
  for _, src in ipairs(sources) do
    src.items = redis.call('ZRANGE', src.k, 0, limit - 1, 'WITHSCORES')
    src.pos = 1
    src.taken = 0
  end
  for _ = 1, limit do
    local best, bs, bm, bt = nil, nil, nil, nil
    for _, src in ipairs(sources) do
      local p = src.pos
      if p <= #src.items then
        local m, st = src.items[p], src.items[p + 1]
        local sc = tonumber(st)
        if best == nil or sc < bs or (sc == bs and m < bm) then best, bs, bm, bt = src, sc, m, st end
      end
    end
    if best == nil then break end
    best.pos = best.pos + 2
    best.taken = best.taken + 1
    local n = #pm + 1
    psrc[n], pm[n], psc[n] = best, bm, bt
  end
  for _, src in ipairs(sources) do
    if src.taken > 0 then redis.call('ZREMRANGEBYRANK', src.k, 0, src.taken - 1) end
  end
end
local out = {}
local acc, events = mnew(), {}
local base, fexp = 0, ''
local npicked = #pm
if npicked > 0 then
  base = redis.call('INCRBY', K_TOKEN, npicked) - npicked
  local expires = NOW + leaseMs
  fexp = fmt(expires)
  zbuffer()
  local ts, wj
  if rs == 'e' then
    ts = iso(NOW)
    wj = jstr(worker)
  end
  -- Per-call memos: jobs enqueued together share createdAt and runAt, and attempts repeat, so the lease member's
  -- padded createdAt, the attempt's text and the started metric (its wait is now - runAt) are built once per
  -- distinct value instead of once per job (a string.format, tonumber or tostring costs about as much as a small
  -- Redis command from Lua). The sorted-set writes go straight into the buffered lists (zlist), one lookup per source.
  local padc, atts = {}, {}
  local wsrc, wr, wn, wwait = nil, nil, 0, 0
  local lsrc, ll, xsrc, xs, xl, osrc = nil, nil, nil, nil, nil, nil
  for i = 1, npicked do
    local src = psrc[i]
    local q, t, id = src.q, src.t, string.sub(pm[i], 31)
    local jk = JK(q, id)
    -- The job as it was (id, queue and type are known, and the priority is the ready set score); the client applies
    -- this claim's changes to it (see the reply). A plain job (field 'pl') has none of the optional fields, so they
    -- are not read: each field of an HMGET costs about as much from Lua as a small command.
    local v = redis.call('HMGET', jk, 's', 'c', 'a', 'ma', 'r', 'p', 'pl')
    local s, c, a, ma = v[1], v[2], v[3], v[4]
    local extra
    if v[7] ~= '1' then extra = redis.call('HMGET', jk, 'bo', 'to', 'uk', 'rc', 'rf', 'm', 'e', 'pg') end
    if rs ~= '' then
      local r = v[5]
      if r == wr and src == wsrc then
        wn = wn + 1
      else
        if wn > 0 then macc(acc, 'started', wsrc.q, wsrc.t, NOW, wn, 'w', wwait) end
        local wait = NOW - tonumber(r)
        if wait < 0 then wait = 0 end
        wsrc, wr, wn, wwait = src, r, 1, wait
      end
    end
    local ck = c or ''
    local pc = padc[ck]
    if not pc then
      pc = pad(c)
      padc[ck] = pc
    end
    local lm = pc .. id
    -- The state index entry goes (active jobs are indexed by their lease set alone).
    if s and s ~= 'active' then
      if src ~= xsrc or s ~= xs then
        xsrc, xs, xl = src, s, zlist('ZREM', idx(q, s, t))
      end
      xl[#xl + 1] = lm
    end
    local ak = a or ''
    local as = atts[ak]
    if not as then
      as = tostring((tonumber(a) or 0) + 1)
      atts[ak] = as
    end
    -- One HSET (the attempt counter included): the script is atomic, so read-then-write is safe.
    redis.call('HSET', jk, 'a', as, 's', 'active', 'tk', base + i, 'st', NOWS, 'w', worker, 'l', fexp)
    if src ~= lsrc then
      lsrc, ll = src, zlist('ZADD', QS(q, 'l:', t))
      -- Re-adding the pin is a lookup when it is there (see LEASE_PIN).
      if #ll == 0 then
        ll[1] = '+inf'
        ll[2] = LEASE_PIN
      end
    end
    ll[#ll + 1] = fexp
    ll[#ll + 1] = lm
    -- The reply: the hash as read, with the id in place of the state (the client knows it: active), the ready set
    -- score (-priority) in place of the flag, then the queue and type, left out for a plain job from the same ready
    -- set as the job before it.
    v[1] = id
    v[7] = psc[i]
    if extra or src ~= osrc then
      osrc = src
      v[8] = q
      v[9] = t
      if extra then
        for k = 1, 8 do v[9 + k] = extra[k] end
      end
    end
    out[i] = v
    if rs == 'e' then
      events[#events + 1] = '{"id":"js' .. (base + i) .. '","type":"job.started","timestamp":"' .. ts ..
        '","queue":' .. jstr(q) .. ',"jobId":' .. jstr(id) .. ',"workerId":' .. wj .. ',"data":{"type":' ..
        jstr(t) .. ',"attempt":' .. as .. ',"maxAttempts":' .. (tonumber(ma) or 0) .. '}}'
    end
  end
  if wn > 0 then macc(acc, 'started', wsrc.q, wsrc.t, NOW, wn, 'w', wwait) end
  zflush()
  if rs ~= '' then
    mflush(acc)
    if #events > 0 then publish_events(events, ARGV[4]) end
  end
end
-- Each claimed job: its hash before the claim; the claim made it active with attempt + 1, token base + i,
-- startedAt now, this worker and lease expiry fexp.
return { fmt(NOW), out, base, fexp }
`,
);

/** Arguments of one ack's side effects: record (5, as RECORD_EXECUTIONS), metric (METRIC_ARITY), event JSON (1). */
export const ACK_SIDE_ARITY = 5 + METRIC_ARITY + 1;

/**
 * The side effects of one ok ack, from ARGV[o…]: its execution record, its metric (summed into acc) and its
 * event (appended to events); '' leaves a part out. Needs SIDE_FN and METRICS_FN.
 */
export const ACK_SIDE_FN = `
local function ack_side(acc, events, o)
  if ARGV[o] ~= '' then record_exec(ARGV[o], ARGV[o + 1], ARGV[o + 2], ARGV[o + 3], ARGV[o + 4]) end
  if ARGV[o + 5] ~= '' then
    local h = ARGV[o + 10]
    if h == '' then h = nil end
    macc(acc, ARGV[o + 5], ARGV[o + 6], ARGV[o + 7], tonumber(ARGV[o + 8]), tonumber(ARGV[o + 9]), h,
      tonumber(ARGV[o + 11]))
  end
  if ARGV[o + 12] ~= '' then events[#events + 1] = ARGV[o + 12] end
end
local function ack_side_flush(acc, events)
  mflush(acc)
  if #events > 0 then publish_events(events, ARGV[4]) end
end
`;

/** ARGV: leaseMs, (id, token)... Returns the new expiry per lease, or 0 when the lease is lost. */
export const EXTEND = luaScript(
  'extend',
  `${PRELUDE}
local expires = NOW + tonumber(ARGV[3])
local out = {}
for i = 4, #ARGV, 2 do
  local q, jk, lm, lk = held(ARGV[i], ARGV[i + 1])
  if q then
    redis.call('HSET', jk, 'l', fmt(expires))
    redis.call('ZADD', lk, expires, lm)
    out[#out + 1] = fmt(expires)
  else
    out[#out + 1] = 0
  end
end
return out
`,
);

/** ARGV: id, token, progressJson. Returns 1, or 0 when the lease is lost. */
export const PROGRESS = luaScript(
  'progress',
  `${PRELUDE}
local q, jk = held(ARGV[3], ARGV[4])
if not q then return 0 end
redis.call('HSET', jk, 'pg', ARGV[5], 'pl', '0')
return 1
`,
);

/**
 * ARGV: withSideEffects ('1' | ''), event stream maxLen, the number of metric groups, the groups (METRIC_ARITY
 * arguments each, as RECORD_METRICS takes one event), then the batch's shape: a string of flags, the hint queue and
 * the hint type, then the items. Each item: id, token, resultJson (unless flag 'n': every result is null, stored
 * as no field), the claim's hint: queue and type (only with flag 'h', else the batch's hint queue and type) and
 * lease member (padded createdAt + id, led by '+' when the job has a unique key or a retention rule to apply; ''
 * for no hint), then with side effects: record id|'', record job id and
 * record queue (only with flag 'r', else the item's id and queue), startedAt, record JSON, metric group
 * (1-based)|'' (only with flag 'g', else group 1 when there is one group), event JSON|'' (only with flag 'e');
 * all written only when the lease holds. Completions whose metrics differ only in their time within one minute
 * share a group: the group's metric is counted once per held completion of it, so a batch costs one metric
 * accumulation per group, not per job. The flags leave out what a batch of one worker's completions repeats, so
 * such an item is 7 arguments. Per item: 0 when the lease is lost, else 1 (the ack carries no job).
 */
export const COMPLETE = luaScript(
  'complete',
  `${PRELUDE}${SIDE_FN}${METRICS_FN}${ACK_SIDE_FN}
local side = ARGV[3] == '1'
local ng = tonumber(ARGV[5])
local shape = 6 + ng * ${METRIC_ARITY}
local flags, hq, ht = ARGV[shape], ARGV[shape + 1], ARGV[shape + 2]
local first = shape + 3
local function has(f) return string.find(flags, f, 1, true) ~= nil end
-- Offsets of an item's arguments from its id (nil: not sent, see above).
local step = 2
local function take(present)
  if not present then return nil end
  step = step + 1
  return step - 1
end
local ores = take(not has('n'))
local oq = take(has('h'))
local ot = take(oq ~= nil)
local olm = take(true)
local orid, orj, orq, osa, ojs, og, oev
if side then
  orid = take(true)
  orj = take(has('r'))
  orq = take(orj ~= nil)
  osa, ojs = take(true), take(true)
  og = take(has('g'))
  oev = take(has('e'))
end
local g1 = nil
if ng == 1 then g1 = '1' end
local acc, events, held_in = mnew(), {}, {}
local out = {}
-- Finish orders for the whole batch in one INCRBY (a lost lease leaves a gap, which orders nothing wrongly).
local items = math.floor((#ARGV - first + 1) / step)
local fsbase = 0
if items > 0 then fsbase = redis.call('INCRBY', K_SEQ, items) - items end
zbuffer()
-- Buffered lists of the last (queue, type) and record queue seen: a batch is mostly one queue and type.
local lq, lt, ll, lx, lf, rqn, rql, fhi, fhs
for i = first, #ARGV, step do
  local id = ARGV[i]
  -- The client sends what it learnt when it claimed the job, when it did: its queue, type and lease member, the
  -- member led by '+' when the job has a unique key or a retention rule to apply. They only count once the lease
  -- check holds (state active, same fencing token: this very claim, whose type, createdAt, unique key and retention
  -- never change); a wrong queue finds no active job with that token, like any stale lease. Any other job then needs
  -- nothing else from its hash.
  local lm = ARGV[i + olm]
  local q, t
  local full = lm == ''
  if full then
    q = redis.call('HGET', K_IDS, id)
  else
    if string.byte(lm, 1) == 43 then
      full = true
    elseif oq then
      q, t = ARGV[i + oq], ARGV[i + ot]
    else
      q, t = hq, ht
    end
    if full then
      lm = string.sub(lm, 2)
      if oq then q = ARGV[i + oq] else q = hq end
    end
  end
  local jk, v
  if q then
    jk = JK(q, id)
    v = redis.call('HMGET', jk, 's', 'tk')
    if v[1] ~= 'active' or v[2] ~= ARGV[i + 1] then q = nil end
  end
  if not q then
    out[#out + 1] = 0
  else
    local uk, rci, rcc, rca
    if full then
      local w = redis.call('HMGET', jk, 't', 'c', 'uk', 'rci', 'rcc', 'rca')
      t, lm, uk, rci, rcc, rca = w[1], lexm(w[2], id), w[3], w[4], w[5], w[6]
    end
    if q ~= lq or t ~= lt then
      lq, lt = q, t
      ll, lx, lf = zlist('ZREM', QS(q, 'l:', t)), zlist('ZADD', idx(q, 'completed', t)), zlist('ZADD', QS(q, 'f:', 'completed'))
    end
    -- Out of the lease set, into the completed index and the finished set (as move_index and finish do).
    ll[#ll + 1] = lm
    lx[#lx + 1] = '0'
    lx[#lx + 1] = lm
    -- pad(finish order) from its thousands (formatted once per thousand) and its last three digits (memoised).
    local fsn = fsbase + (i - first) / step + 1
    local hi = math.floor(fsn / 1000)
    if hi ~= fhi then fhi, fhs = hi, string.format('%012d', hi) end
    local lo = fsn - hi * 1000
    local los = LO3[lo]
    if not los then
      los = string.format('%03d', lo)
      LO3[lo] = los
    end
    local pfs = fhs .. los
    lf[#lf + 1] = NOWS
    lf[#lf + 1] = pfs .. id
    -- A null result is no field (read back as null).
    if ores then
      redis.call('HSET', jk, 's', 'completed', 'f', NOWS, 'fs', pfs, 'res', ARGV[i + ores])
    else
      redis.call('HSET', jk, 's', 'completed', 'f', NOWS, 'fs', pfs)
    end
    if uk then release_unique(q, uk, id) end
    -- The contract lets an ack answer job: null, and the runtime keeps the job it claimed: sending the whole
    -- hash back (and decoding it) for every completion was most of the reply's cost.
    if rci or rcc or rca then
      -- Retention reads (and may drop from) the finished sets: apply the buffered writes first (the buffered
      -- lists are flushed with them, so they are looked up again).
      zflush()
      lq, lt, rql = nil, nil, nil
      retain(q, 'completed', id, rci, rcc, rca)
    end
    if side then
      local rid = ARGV[i + orid]
      if rid ~= '' then
        -- The execution record, as record_exec writes it (same id twice keeps the first).
        local rj, rq = id, q
        if orj then
          rj, rq = ARGV[i + orj], ARGV[i + orq]
          if rj == '' then rj = id end
          if rq == '' then rq = q end
        end
        if redis.call('HSETNX', G .. 'xh:' .. rj, rid, ARGV[i + ojs]) == 1 then
          if rq ~= rqn or not rql then rqn, rql = rq, zlist('ZADD', xq_key(rq)) end
          rql[#rql + 1] = ARGV[i + osa]
          rql[#rql + 1] = rid .. '\\31' .. rj
        end
      end
      local g = g1
      if og then g = ARGV[i + og] end
      if g and g ~= '' then held_in[g] = (held_in[g] or 0) + 1 end
      if oev then
        local ev = ARGV[i + oev]
        if ev ~= '' then events[#events + 1] = ev end
      end
    end
    out[#out + 1] = 1
  end
end
zflush()
if side then
  for gi = 1, ng do
    local n = held_in[tostring(gi)]
    if n then
      local b = 6 + (gi - 1) * ${METRIC_ARITY}
      local h = ARGV[b + 5]
      if h == '' then h = nil end
      macc(acc, ARGV[b], ARGV[b + 1], ARGV[b + 2], tonumber(ARGV[b + 3]), n * tonumber(ARGV[b + 4]), h,
        tonumber(ARGV[b + 6]))
    end
  end
  ack_side_flush(acc, events)
end
return out
`,
);

/**
 * ARGV: withSideEffects ('1' | ''), event stream maxLen, then per item: id, token, errorJson, retryDelayMs|''
 * (and the side effects, as in COMPLETE). A delay sends the job to 'retrying', '' to 'failed' (then
 * removeOnFail). Per item as in COMPLETE.
 */
export const FAIL = luaScript(
  'fail',
  `${PRELUDE}${SIDE_FN}${METRICS_FN}${ACK_SIDE_FN}
local side = ARGV[3] == '1'
local step = 4
if side then step = 4 + ${ACK_SIDE_ARITY} end
local acc, events = mnew(), {}
local out = {}
for i = 5, #ARGV, step do
  local id = ARGV[i]
  local q, jk, lm, lk = held(id, ARGV[i + 1])
  if not q then
    out[#out + 1] = 0
  else
    if side then ack_side(acc, events, i + 4) end
    local v = redis.call('HMGET', jk, 't', 'c', 'uk', 'rfi', 'rfc', 'rfa')
    redis.call('ZREM', lk, lm)
    redis.call('HSET', jk, 'e', ARGV[i + 2], 'pl', '0')
    if ARGV[i + 3] ~= '' then
      local d = tonumber(ARGV[i + 3])
      if d < 0 then d = 0 end
      local r = NOW + d
      move_index(q, v[1], v[2], id, 'active', 'retrying')
      redis.call('HSET', jk, 's', 'retrying', 'r', fmt(r))
      redis.call('HDEL', jk, 'l')
      redis.call('ZADD', Q(q) .. 'd', r, id)
      out[#out + 1] = { 1, redis.call('HGETALL', jk) }
    else
      move_index(q, v[1], v[2], id, 'active', 'failed')
      finish(q, jk, id, 'failed')
      release_unique(q, v[3], id)
      if retain(q, 'failed', id, v[4], v[5], v[6]) then
        out[#out + 1] = { 1 }
      else
        out[#out + 1] = { 1, redis.call('HGETALL', jk) }
      end
    end
  end
end
if side then ack_side_flush(acc, events) end
return out
`,
);

/** ARGV: (id, token)... Active jobs back to waiting (runAt kept). Per item as in COMPLETE. */
export const RELEASE = luaScript(
  'release',
  `${PRELUDE}
local out = {}
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  local q, jk, lm, lk = held(id, ARGV[i + 1])
  if not q then
    out[#out + 1] = 0
  else
    local v = redis.call('HMGET', jk, 't', 'c', 'r', 'sq', 'pr')
    redis.call('ZREM', lk, lm)
    move_index(q, v[1], v[2], id, 'active', 'waiting')
    redis.call('HSET', jk, 's', 'waiting')
    redis.call('HDEL', jk, 'l')
    schedule(q, id, 'waiting', v[1], v[3], v[4], v[5])
    out[#out + 1] = { 1, redis.call('HGETALL', jk) }
  end
end
return out
`,
);

/**
 * ARGV: limit, stalledErrorJson. Active jobs whose lease expired before now go back to waiting (attempts left) or
 * to failed. The scan and the update are one script, so a job completed or re-leased meanwhile cannot be touched.
 * Returns { workerId|false, attempt, startedAt|false, HGETALL }... (the job as recovered, before any retention).
 */
export const RECOVER = luaScript(
  'recover',
  `${PRELUDE}
local left = tonumber(ARGV[3])
local err = ARGV[4]
local out = {}
local queues = redis.call('SMEMBERS', K_QUEUES)
table.sort(queues)
for _, q in ipairs(queues) do
  if left <= 0 then break end
  -- One lease set per type: each is read only for its expired entries (a ranged read, not a scan).
  local types = redis.call('SMEMBERS', Q(q) .. 'types')
  table.sort(types)
  local expired = {}
  for _, t in ipairs(types) do
    if #expired >= left then break end
    local lk = Q(q) .. 'l:' .. t
    for _, m in ipairs(redis.call('ZRANGEBYSCORE', lk, '-inf', '(' .. fmt(NOW), 'LIMIT', 0, left - #expired)) do
      expired[#expired + 1] = { lk, m }
    end
  end
  for _, e in ipairs(expired) do
    local m = e[2]
    local id = string.sub(m, 16)
    local jk = JK(q, id)
    local v = redis.call('HMGET', jk, 's', 't', 'c', 'r', 'sq', 'pr', 'a', 'ma', 'uk', 'w', 'st', 'rfi', 'rfc', 'rfa')
    redis.call('ZREM', e[1], m)
    if v[1] == 'active' then
      left = left - 1
      redis.call('HSET', jk, 'e', err, 'pl', '0')
      local snapshot
      if tonumber(v[7]) < tonumber(v[8]) then
        move_index(q, v[2], v[3], id, 'active', 'waiting')
        redis.call('HSET', jk, 's', 'waiting')
        redis.call('HDEL', jk, 'l')
        schedule(q, id, 'waiting', v[2], v[4], v[5], v[6])
        snapshot = redis.call('HGETALL', jk)
      else
        move_index(q, v[2], v[3], id, 'active', 'failed')
        finish(q, jk, id, 'failed')
        release_unique(q, v[9], id)
        snapshot = redis.call('HGETALL', jk)
        retain(q, 'failed', id, v[12], v[13], v[14])
      end
      out[#out + 1] = { v[10] or false, v[7], v[11] or false, snapshot }
    end
  end
end
return out
`,
);
