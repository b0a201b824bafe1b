package store

// The Lua scripts of the Redis store. Redis runs each atomically. Times
// and step numbers are computed in Go and passed as arguments: Lua
// numbers are doubles, exact only up to 2^53, so the scripts see times in
// ms or µs and window offsets in ns relative to a step, never absolute ns,
// and counts no larger than maxExact. A counter is changed only with
// INCRBY, DECRBY or HINCRBY by an argument or a value read back, never by
// a number the script computed: Redis would pass that as a double's text,
// which for large numbers is in exponent form ("1e+17"), and INCRBY
// refuses it.
//
// A key may appear twice in one admission (a recipient listed twice): the
// check counts the admission's earlier charges of the key as if they were
// in the current step.
//
// A sliding-window counter is a hash from step number to count. A step
// is live when cur-60 < step <= cur+60: the upper bound admits the steps
// of a sidecar whose clock is slightly ahead, and drops those left by an
// earlier configuration with another window length, whose step numbers
// are far away.

// admitScript decides an admission.
//
//	KEYS: [the idempotency record, if ARGV[2] == "1"], then one key per limit.
//	ARGV: charge ("1"/"0"), has record ("1"/"0"), now (ms), body hash,
//	      record ttl (ms), in-flight time (ms, 0 = whole ttl), owner token,
//	      then per limit: kind ("w" window, "d" day, "p" period), cost,
//	      max, current step, step length (ns), now's offset in its step
//	      (ns), counter ttl (ms; for a period, when it expires, Unix ms).
//
// It returns {verdict} or, admitted and charged, {0, the value of each
// limit's counter after the charges} or, refused, {1, limit index
// (0-based), value, retry after (ns; the caller computes it for day and
// period limits)} or, replayed, {2, 0, 0, 0, record}. Verdict numbers are
// those of the Verdict type.
const admitScript = `
local now = tonumber(ARGV[3])
local k0 = 0
if ARGV[2] == '1' then
  k0 = 1
  local r = redis.call('HMGET', KEYS[1], 's', 'h', 't', 'r')
  if r[1] then
    if r[2] ~= ARGV[4] then return {4} end
    if r[1] == 'c' then return {2, 0, 0, 0, r[4] or ''} end
    if r[1] == 'u' then return {5} end
    local inflight = tonumber(ARGV[6])
    if inflight > 0 and now - tonumber(r[3]) > inflight then return {5} end
    return {3}
  end
end
local n = (#ARGV - 7) / 7
local stale = {}
local pending = {}
local held = {}
for j = 1, n do
  local b = 7 + (j - 1) * 7
  local key = KEYS[k0 + j]
  local cost = tonumber(ARGV[b + 2])
  local max = tonumber(ARGV[b + 3])
  local earlier = pending[key] or 0
  pending[key] = earlier + cost
  if ARGV[b + 1] ~= 'w' then
    held[j] = tonumber(redis.call('GET', key) or '0')
    local v = held[j] + earlier
    if v + cost > max then return {1, j - 1, v, 0} end
  else
    local cur = tonumber(ARGV[b + 4])
    local step = tonumber(ARGV[b + 5])
    local flat = redis.call('HGETALL', key)
    local v = earlier
    local live = {}
    local old = {}
    for i = 1, #flat, 2 do
      local idx = tonumber(flat[i])
      if idx > cur - 60 and idx <= cur + 60 then
        local c = tonumber(flat[i + 1])
        v = v + c
        live[#live + 1] = {idx, c}
      else
        old[#old + 1] = flat[i]
      end
    end
    if v + cost > max then
      local retry = 60 * step
      if cost <= max then
        retry = retry - tonumber(ARGV[b + 6])
        table.sort(live, function(x, y) return x[1] < y[1] end)
        local freed = 0
        for _, s in ipairs(live) do
          freed = freed + s[2]
          if v - freed + cost <= max then
            retry = (s[1] + 60 - cur) * step - tonumber(ARGV[b + 6])
            break
          end
        end
      end
      return {1, j - 1, v, retry}
    end
    held[j] = v - earlier
    stale[j] = old
  end
end
local out = {0}
if ARGV[1] == '1' then
  for j = 1, n do
    local b = 7 + (j - 1) * 7
    local key = KEYS[k0 + j]
    if ARGV[b + 2] ~= '0' then
      if ARGV[b + 1] ~= 'w' then
        redis.call('INCRBY', key, ARGV[b + 2])
      else
        local old = stale[j]
        if #old > 0 then redis.call('HDEL', key, unpack(old)) end
        redis.call('HINCRBY', key, ARGV[b + 4], ARGV[b + 2])
      end
      if ARGV[b + 1] == 'p' then
        redis.call('PEXPIREAT', key, ARGV[b + 7])
      else
        redis.call('PEXPIRE', key, ARGV[b + 7])
      end
    end
    out[j + 1] = held[j] + pending[key]
  end
end
if k0 == 1 then
  redis.call('HSET', KEYS[1], 's', 'f', 'h', ARGV[4], 't', ARGV[3], 'o', ARGV[7])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
end
return out
`

// settleScript settles a ticket.
//
//	KEYS: [the idempotency record, if ARGV[2] == "1"], then one key per
//	      charge moved.
//	ARGV: charges moved ("1"/"0"), has record ("1"/"0"), outcome
//	      ("release", "completed", "unknown"), owner token, ttl (ms, "0"
//	      keeps it), record, then per charge moved: field ("" for a day
//	      or period counter), how far to move it (a signed integer, not
//	      0: minus its amount for a refund).
//
// The record is settled only if the ticket's claim still owns it. A
// counter never goes below zero, and a counter or window step already
// gone has nothing to move.
const settleScript = `
local k0 = 0
if ARGV[2] == '1' then
  k0 = 1
  if redis.call('HGET', KEYS[1], 'o') == ARGV[4] then
    if ARGV[3] == 'release' then
      redis.call('DEL', KEYS[1])
    else
      if ARGV[3] == 'completed' then
        redis.call('HSET', KEYS[1], 's', 'c', 'r', ARGV[6])
      else
        redis.call('HSET', KEYS[1], 's', 'u')
      end
      if ARGV[5] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[5]) end
    end
  end
end
if ARGV[1] == '1' then
  local n = (#ARGV - 6) / 2
  for j = 1, n do
    local key = KEYS[k0 + j]
    local field = ARGV[5 + 2 * j]
    local delta = ARGV[6 + 2 * j]
    local d = tonumber(delta)
    if field == '' then
      local v = redis.call('GET', key)
      if v then
        if tonumber(v) > -d then
          redis.call('INCRBY', key, delta)
        elseif tonumber(v) > 0 then
          redis.call('DECRBY', key, v)
        end
      end
    else
      local v = redis.call('HGET', key, field)
      if v then
        if tonumber(v) > -d then
          redis.call('HINCRBY', key, field, delta)
        else
          redis.call('HDEL', key, field)
        end
      end
    end
  end
end
return 1
`

// adjustScript adjusts period counters.
//
//	KEYS: one per adjustment.
//	ARGV: per adjustment: delta (a signed integer), when the counter
//	      expires (Unix ms).
//
// A counter never goes below zero, and one that would hold nothing is
// not made. It returns each counter's value after all of them.
const adjustScript = `
for j = 1, #KEYS do
  local delta = ARGV[2 * j - 1]
  local d = tonumber(delta)
  local v = redis.call('GET', KEYS[j])
  if d > 0 or (v and tonumber(v) > -d) then
    redis.call('INCRBY', KEYS[j], delta)
    redis.call('PEXPIREAT', KEYS[j], ARGV[2 * j])
  elseif v and tonumber(v) > 0 then
    redis.call('DECRBY', KEYS[j], v)
  end
end
local out = {}
for j = 1, #KEYS do
  out[j] = tonumber(redis.call('GET', KEYS[j]) or '0')
end
return out
`

// attributeScript remembers one attribution.
//
//	KEYS: the attribution.
//	ARGV: data, cost, ttl (ms).
const attributeScript = `
redis.call('HSET', KEYS[1], 'd', ARGV[1], 'c', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`

// reconcileScript sets a remembered message's cost.
//
//	KEYS: the attribution.
//	ARGV: the new cost.
//
// It returns {0} for a message it does not remember (storing nothing),
// or {1, data, the cost before}.
const reconcileScript = `
local a = redis.call('HMGET', KEYS[1], 'd', 'c')
if not a[2] then return {0} end
redis.call('HSET', KEYS[1], 'c', ARGV[1])
return {1, a[1] or '', a[2]}
`

// usageScript reads counters without charging them.
//
//	KEYS: one per limit.
//	ARGV: per limit: kind ("w"/"d"/"p"), current step.
const usageScript = `
local out = {}
for j = 1, #KEYS do
  if ARGV[2 * j - 1] ~= 'w' then
    out[j] = tonumber(redis.call('GET', KEYS[j]) or '0')
  else
    local cur = tonumber(ARGV[2 * j])
    local flat = redis.call('HGETALL', KEYS[j])
    local v = 0
    for i = 1, #flat, 2 do
      local idx = tonumber(flat[i])
      if idx > cur - 60 and idx <= cur + 60 then v = v + tonumber(flat[i + 1]) end
    end
    out[j] = v
  end
end
return out
`

// reserveScript takes a slot in a pacing bucket: the gcra function, in µs.
//
//	KEYS: the bucket.
//	ARGV: now (µs), interval (µs), burst, max wait (µs).
//
// It returns {1, wait} or, refused, {0, wait}. The bucket's key expires a
// second after its arrival time has passed, when it reads as new anyway:
// now is the caller's clock and the expiry Redis's, and the second covers
// the difference (with 1 ms, a sidecar whose clock ran behind Redis's
// found its bucket gone early and sent a burst).
const reserveScript = `
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now - (tonumber(ARGV[3]) - 1) * interval
if wait > tonumber(ARGV[4]) then return {0, wait} end
if wait < 0 then wait = 0 end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
return {1, wait}
`

// claimSecondScript claims a signing second.
//
//	KEYS: the sorted set of claimed seconds.
//	ARGV: now (s), max ahead (s), ttl (s), key ttl (ms).
//
// It returns {1, second} or, with every second up to now+max ahead
// taken, {0, 0}.
const claimSecondScript = `
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. string.format('%d', now - tonumber(ARGV[3])))
for s = now, now + tonumber(ARGV[2]) do
  local m = string.format('%d', s)
  if not redis.call('ZSCORE', KEYS[1], m) then
    redis.call('ZADD', KEYS[1], m, m)
    redis.call('PEXPIRE', KEYS[1], ARGV[4])
    return {1, s}
  end
end
return {0, 0}
`

// claimMarkerScript claims a marker: absent, it is set pending for
// ARGV[1] ms (0 is returned); pending gives 1, done 2.
const claimMarkerScript = `
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], 'p', 'PX', ARGV[1])
  return 0
end
if v == 'd' then return 2 end
return 1
`

// releaseMarkerScript deletes a marker that is still pending.
const releaseMarkerScript = `
if redis.call('GET', KEYS[1]) == 'p' then return redis.call('DEL', KEYS[1]) end
return 0
`

// tallyScript applies a tally: the key is a hash from slot number to
// count.
//
//	KEYS: the tally.
//	ARGV: from (the lowest slot kept), ttl (ms), then per add: slot,
//	      count (at least 1; Go leaves out adds of 0 and below from).
//
// It returns the key's slots after it, flat: {slot, count, ...}, in no
// order. The slots below from are deleted 1,000 at a time (unpack has a
// limit). A key left without slots is gone; one with slots lives for the
// ttl from now, refreshed by every call.
const tallyScript = `
for i = 3, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
local from = tonumber(ARGV[1])
local flat = redis.call('HGETALL', KEYS[1])
local out = {}
local old = {}
for i = 1, #flat, 2 do
  if tonumber(flat[i]) < from then
    old[#old + 1] = flat[i]
  else
    out[#out + 1] = flat[i]
    out[#out + 1] = flat[i + 1]
  end
end
for i = 1, #old, 1000 do
  redis.call('HDEL', KEYS[1], unpack(old, i, math.min(i + 999, #old)))
end
if #out > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return out
`

// The holds are one hash from a hold's key to its value: when it ends
// (Unix ms), a colon, and its data. A value without a colon reads as
// ended. The hash expires holdLinger after the last of its holds ends:
// its TTL is set from the caller's now, so that a caller's clock that is
// ahead of or behind Redis's keeps the holds for as long, and the linger
// covers the differences between callers.
//
// holdUntilLua is the scripts' function that reads when a value ends.
const holdUntilLua = `
local function ends(v)
  local c = string.find(v, ':', 1, true)
  if not c then return 0 end
  return tonumber(string.sub(v, 1, c - 1)) or 0
end
`

// placeHoldScript places a hold unless a live one has its key.
//
//	KEYS: the holds.
//	ARGV: key, now (ms), until (ms), data, linger (ms).
//
// It returns 1 if it placed it, 0 if not.
const placeHoldScript = holdUntilLua + `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and ends(v) > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3] .. ':' .. ARGV[4])
local last = tonumber(ARGV[3])
local flat = redis.call('HGETALL', KEYS[1])
for i = 2, #flat, 2 do
  local u = ends(flat[i])
  if u > last then last = u end
end
redis.call('PEXPIRE', KEYS[1], string.format('%d', last - tonumber(ARGV[2]) + tonumber(ARGV[5])))
return 1
`

// listHoldsScript returns the live holds and deletes those that ended.
//
//	KEYS: the holds.
//	ARGV: now (ms).
//
// It returns the live holds, flat: {key, value, ...}, in no order.
const listHoldsScript = holdUntilLua + `
local now = tonumber(ARGV[1])
local flat = redis.call('HGETALL', KEYS[1])
local out = {}
local ended = {}
for i = 1, #flat, 2 do
  if ends(flat[i + 1]) > now then
    out[#out + 1] = flat[i]
    out[#out + 1] = flat[i + 1]
  else
    ended[#ended + 1] = flat[i]
  end
end
for i = 1, #ended, 1000 do
  redis.call('HDEL', KEYS[1], unpack(ended, i, math.min(i + 999, #ended)))
end
return out
`

// liftHoldScript deletes a hold.
//
//	KEYS: the holds.
//	ARGV: key, now (ms).
//
// It returns 1 if the hold was live, 0 if not (ended, or none).
const liftHoldScript = holdUntilLua + `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
if ends(v) > tonumber(ARGV[2]) then return 1 end
return 0
`
