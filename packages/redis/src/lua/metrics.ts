import { GRANULARITIES, HISTOGRAM_BOUNDS_MS } from '@conveyor/core';
import { luaScript } from './script';

/**
 * Metric buckets, written by the metrics adapter and (with inline records) by the claim, ack and enqueue scripts.
 * Every bucket exists four times, so that a read costs the number of buckets in range, not buckets × (queue, type)
 * pairs:
 *   {p}:m:<g>                      index of the (queue, type) buckets: score start, member start US queue US type
 *   {p}:m:<g>:<start US q US t>    one bucket of one (queue, type)
 *   {p}:mq:<g>, {p}:mq:<g>:<start US q>   the same per queue (every type)
 *   {p}:mt:<g>, {p}:mt:<g>:<start US t>   the same per type (every queue)
 *   {p}:ma:<g>, {p}:ma:<g>:<start>        the same overall
 *   {p}:mver                       exists once the roll-ups cover every bucket (see `mensure`)
 *   {p}:mp:<q US t>, {p}:mps       the latest minute of a (queue, type), not yet in its buckets (see `mflush`)
 * A bucket hash holds one counter per metric kind (by kind name; `timeout` too, 0 when absent) and two histograms: d… (duration) and w… (wait), each as
 * slot counts <h><slot>, <h>c count, <h>s sum and <h>m max.
 *
 * Needs `G` ('{prefix}:') in scope. Observations are first summed per (queue, type, minute) in a Lua table
 * (`macc`), then into the (queue, type)'s pending minute (`mflush`), which goes into its twelve buckets once a
 * later minute arrives or a reader asks (`mpending`): a call costs two writes per (queue, type), not twenty-four.
 */
export const METRICS_FN = `
local M_GRAN = { ${Object.entries(GRANULARITIES)
  .map(([g, { ms }]) => `{ '${g}', ${ms} }`)
  .join(', ')} }
local M_HB = { ${HISTOGRAM_BOUNDS_MS.join(', ')} }
local function mfmt(n) return string.format('%.17g', n) end
local function mslot(v)
  if v < 0 then v = 0 end
  for i = 1, #M_HB do if v <= M_HB[i] then return i - 1 end end
  return #M_HB
end
local function mnew() return { list = {}, by = {} } end
-- Field names of the two histograms, as literals: building them (number to string) on every call cost more than
-- the rest of a small script.
local MHF = { ${['d', 'w']
  .map(
    (h) =>
      `${h} = { c = '${h}c', s = '${h}s', m = '${h}m', slots = { [0] = ${HISTOGRAM_BOUNDS_MS.map((_, i) => `'${h}${i}'`)
        .concat(`'${h}${HISTOGRAM_BOUNDS_MS.length}'`)
        .join(', ')} } }`,
  )
  .join(', ')} }
-- One observation (n of them) of kind at time at, with an optional histogram h ('d' or 'w') value v.
local function macc(acc, kind, q, t, at, n, h, v)
  local minute = math.floor(at / 60000) * 60000
  local e = acc.last
  if not (e and e.q == q and e.t == t and e.m == minute) then
    local key = q .. '\\31' .. t .. '\\31' .. minute
    e = acc.by[key]
    if not e then
      e = { q = q, t = t, m = minute, f = {}, x = {} }
      acc.by[key] = e
      acc.list[#acc.list + 1] = e
    end
    acc.last = e
  end
  local f = e.f
  f[kind] = (f[kind] or 0) + n
  if h then
    local names = MHF[h]
    local sk = names.slots[mslot(v)]
    f[sk] = (f[sk] or 0) + n
    f[names.c] = (f[names.c] or 0) + n
    f[names.s] = (f[names.s] or 0) + v * n
    local mk = names.m
    if e.x[mk] == nil or v > e.x[mk] then e.x[mk] = v end
  end
end
-- The stored value c of field j after adding v: the first \`sums\` fields are counters and sums (c + v), the rest are
-- maxima (the larger; a max starts from 0, as an absent field reads).
local function mmerge(c, v, j, sums)
  if j <= sums then return c + v end
  if c > v then return c end
  return v
end
-- Add one accumulated entry to one bucket: its fields are read in one HMGET and written back in one HSET (a counter
-- and a sum each take their increment, a max field the larger value), two commands per bucket instead of one per
-- field: from Lua a command costs about as much as the write itself. The bucket is indexed when it is created: HSET
-- answers how many of the fields are new, and a bucket that had any of them already existed (and so its index
-- entry: prune removes both together), so the common case costs no ZADD.
local function mwrite(key, idx, score, member, w)
  local names, incs, nmax = w.names, w.incs, w.nmax
  local cur = redis.call('HMGET', key, unpack(names))
  local args = w.args
  local n = #names
  for j = 1, n do
    args[2 * j] = mfmt(mmerge(tonumber(cur[j]) or 0, incs[j], j, n - nmax))
  end
  if redis.call('HSET', key, unpack(args)) == n then redis.call('ZADD', idx, score, member) end
end
-- An entry's fields as mwrite takes them: counters and sums, then max fields (nmax of them).
local function mfields(e)
  local names, incs, args = {}, {}, {}
  for k, v in pairs(e.f) do
    names[#names + 1] = k
    incs[#incs + 1] = v
  end
  local nmax = 0
  for k, v in pairs(e.x) do
    names[#names + 1] = k
    incs[#incs + 1] = v
    nmax = nmax + 1
  end
  for j = 1, #names do args[2 * j - 1] = names[j] end
  return { names = names, incs = incs, nmax = nmax, args = args }
end
-- Sum one stored bucket hash into an accumulator (max fields take the max).
local function maddhash(into, flat)
  for i = 1, #flat, 2 do
    local k, v = flat[i], tonumber(flat[i + 1])
    if k == 'dm' or k == 'wm' then
      if into[k] == nil or v > into[k] then into[k] = v end
    else
      into[k] = (into[k] or 0) + v
    end
  end
end
-- Build the roll-ups from the (queue, type) buckets once (data written before they existed). Atomic, and every
-- writer runs it before its first roll-up write, so no bucket is counted twice.
local function mensure()
  if redis.call('EXISTS', G .. 'mver') == 1 then return end
  for _, gr in ipairs(M_GRAN) do
    local g = gr[1]
    local qs, ts, as = {}, {}, {}
    local order = {}
    for _, m in ipairs(redis.call('ZRANGE', G .. 'm:' .. g, 0, -1)) do
      local a = string.find(m, '\\31', 1, true)
      local b = string.find(m, '\\31', a + 1, true)
      local st, q, t = string.sub(m, 1, a - 1), string.sub(m, a + 1, b - 1), string.sub(m, b + 1)
      local flat = redis.call('HGETALL', G .. 'm:' .. g .. ':' .. m)
      for _, r in ipairs({ { qs, 'mq', st .. '\\31' .. q }, { ts, 'mt', st .. '\\31' .. t }, { as, 'ma', st } }) do
        local into = r[1][r[3]]
        if not into then
          into = {}
          r[1][r[3]] = into
          order[#order + 1] = { r[2], r[3], tonumber(st), into }
        end
        maddhash(into, flat)
      end
    end
    for _, o in ipairs(order) do
      local key = G .. o[1] .. ':' .. g .. ':' .. o[2]
      redis.call('ZADD', G .. o[1] .. ':' .. g, o[3], o[2])
      local args = {}
      for k, v in pairs(o[4]) do
        args[#args + 1] = k
        args[#args + 1] = mfmt(v)
      end
      if #args > 0 then redis.call('HSET', key, unpack(args)) end
    end
  end
  redis.call('SET', G .. 'mver', '2')
end
-- Write one entry (or a pending minute) into its twelve buckets: three granularities of the (queue, type) bucket and
-- of its three roll-ups.
local function mbuckets(e, w)
  for _, gr in ipairs(M_GRAN) do
    local g = gr[1]
    local s = math.floor(e.m / gr[2]) * gr[2]
    local ss = mfmt(s)
    local pm = ss .. '\\31' .. e.q .. '\\31' .. e.t
    mwrite(G .. 'm:' .. g .. ':' .. pm, G .. 'm:' .. g, s, pm, w)
    local qm = ss .. '\\31' .. e.q
    mwrite(G .. 'mq:' .. g .. ':' .. qm, G .. 'mq:' .. g, s, qm, w)
    local tm = ss .. '\\31' .. e.t
    mwrite(G .. 'mt:' .. g .. ':' .. tm, G .. 'mt:' .. g, s, tm, w)
    mwrite(G .. 'ma:' .. g .. ':' .. ss, G .. 'ma:' .. g, s, ss, w)
  end
end
-- Move a pending minute (see mflush) into its buckets, and delete it.
local function mpflush(pk)
  local flat = redis.call('HGETALL', pk)
  if #flat == 0 then return end
  local e = { f = {}, x = {} }
  for i = 1, #flat, 2 do
    local k, v = flat[i], flat[i + 1]
    if k == '@' then
      e.m = tonumber(v)
    elseif k == '@q' then
      e.q = v
    elseif k == '@t' then
      e.t = v
    elseif k == 'dm' or k == 'wm' then
      e.x[k] = tonumber(v)
    else
      e.f[k] = tonumber(v)
    end
  end
  redis.call('DEL', pk)
  if e.m and e.q and e.t then mbuckets(e, mfields(e)) end
end
-- Every pending minute into its buckets: what a reader (or a pruning) of the buckets does first.
local function mpending()
  local mps = G .. 'mps'
  local keys = redis.call('SMEMBERS', mps)
  if #keys == 0 then return end
  mensure()
  for _, pk in ipairs(keys) do mpflush(pk) end
  redis.call('DEL', mps)
end
-- Write the accumulated observations. Each (queue, type) sums its latest minute in one pending hash,
-- {p}:mp:<queue US type> (fields: the bucket fields, and @ the minute, @q and @t), named in the set {p}:mps: one
-- HMGET and one HSET per call instead of two per bucket for each of twelve buckets (the three granularities of the
-- bucket and of its three roll-ups). The pending minute goes into its buckets when a later minute of its (queue,
-- type) arrives, or when anyone reads or prunes metrics (mpending), so a reader never sees less than was recorded.
-- Observations of an earlier minute than the pending one (late or back-dated) go straight to their buckets.
local function mflush(acc)
  if #acc.list == 0 then return end
  mensure()
  for _, e in ipairs(acc.list) do
    local pk = G .. 'mp:' .. e.q .. '\\31' .. e.t
    local w = mfields(e)
    local names, incs, n, nmax = w.names, w.incs, #w.names, w.nmax
    local cur = redis.call('HMGET', pk, '@', unpack(names))
    local pm = tonumber(cur[1])
    if pm and e.m < pm then
      mbuckets(e, w)
    else
      if pm and e.m > pm then
        mpflush(pk)
        pm = nil
      end
      local args
      if pm then
        args = {}
      else
        args = { '@', mfmt(e.m), '@q', e.q, '@t', e.t }
      end
      for j = 1, n do
        local c = 0
        if pm then c = tonumber(cur[j + 1]) or 0 end
        args[#args + 1] = names[j]
        args[#args + 1] = mfmt(mmerge(c, incs[j], j, n - nmax))
      end
      redis.call('HSET', pk, unpack(args))
      if not pm then redis.call('SADD', G .. 'mps', pk) end
    end
  end
end
`;

/** Arguments per metric event of {@link RECORD_METRICS} and of the inline metrics of the queue scripts. */
export const METRIC_ARITY = 7;

/** The head of a metrics script: `G` and `NOW` like the other global scripts. */
export const METRICS_HEAD = `
local G = '{' .. string.gsub(ARGV[1], '^{', '') .. '}:'
${METRICS_FN}
`;

/**
 * ARGV: (kind, queue, type, at, count, h ('d' | 'w' | ''), value)... One call records a batch of metric events,
 * summed per bucket inside the script.
 */
export const RECORD_METRICS = luaScript(
  'record-metrics',
  `${METRICS_HEAD}
local acc = mnew()
for i = 3, #ARGV, ${METRIC_ARITY} do
  local h = ARGV[i + 5]
  if h == '' then h = nil end
  macc(acc, ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), h, tonumber(ARGV[i + 6]))
end
mflush(acc)
return 1
`,
);

/**
 * ARGV: granularity, from (aligned), to (exclusive), queue|'', type|'', mode ('s' series | 't' totals),
 * groupBy (''|'queue'|'type'). Sums the matching buckets inside Redis and returns { group, {field, value...} }...
 * where the group is the bucket start (series), the queue or type (grouped totals), or '' (totals). Reads the
 * overall, per-queue or per-type roll-ups when they answer the query, the (queue, type) buckets only when both
 * filters (or a filter and the other grouping) are given: the cost is the buckets in range of one of them.
 */
export const READ_METRICS = luaScript(
  'read-metrics',
  `${METRICS_HEAD}
local g, from, to, fq, ft, mode, gb = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9]
mensure()
mpending()
local src
if fq == '' and ft == '' then
  if mode == 's' or gb == '' then src = 'ma' elseif gb == 'queue' then src = 'mq' else src = 'mt' end
elseif ft == '' and (mode == 's' or gb ~= 'type') then src = 'mq'
elseif fq == '' and (mode == 's' or gb ~= 'queue') then src = 'mt'
else src = 'm' end
local groups, order = {}, {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', G .. src .. ':' .. g, from, '(' .. to)) do
  local st, q, t = m, nil, nil
  local a = string.find(m, '\\31', 1, true)
  if a then
    st = string.sub(m, 1, a - 1)
    local b = string.find(m, '\\31', a + 1, true)
    if b then
      q, t = string.sub(m, a + 1, b - 1), string.sub(m, b + 1)
    elseif src == 'mq' then
      q = string.sub(m, a + 1)
    else
      t = string.sub(m, a + 1)
    end
  end
  if (fq == '' or fq == q) and (ft == '' or ft == t) then
    local key
    if mode == 's' then key = st elseif gb == 'queue' then key = q elseif gb == 'type' then key = t else key = '' end
    local into = groups[key]
    if not into then
      into = {}
      groups[key] = into
      order[#order + 1] = key
    end
    maddhash(into, redis.call('HGETALL', G .. src .. ':' .. g .. ':' .. m))
  end
end
local out = {}
for _, key in ipairs(order) do
  local flat = {}
  for k, v in pairs(groups[key]) do
    flat[#flat + 1] = k
    flat[#flat + 1] = mfmt(v)
  end
  out[#out + 1] = key
  out[#out + 1] = flat
end
return out
`,
);

/** ARGV: (granularity, cutoff)... Drops buckets (and roll-ups) that start before their cutoff; returns how many (queue, type) buckets went. */
export const PRUNE_METRICS = luaScript(
  'prune-metrics',
  `${METRICS_HEAD}
mpending()
local n = 0
for i = 3, #ARGV, 2 do
  for _, kind in ipairs({ 'm', 'mq', 'mt', 'ma' }) do
    local idx = G .. kind .. ':' .. ARGV[i]
    while true do
      local doomed = redis.call('ZRANGEBYSCORE', idx, '-inf', '(' .. ARGV[i + 1], 'LIMIT', 0, 500)
      if #doomed == 0 then break end
      for _, m in ipairs(doomed) do redis.call('DEL', idx .. ':' .. m) end
      redis.call('ZREM', idx, unpack(doomed))
      if kind == 'm' then n = n + #doomed end
    end
  end
end
return n
`,
);
