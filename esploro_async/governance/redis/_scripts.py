"""The Lua scripts: reserve a slot, penalize after a 429, keep the quota (Redis ``TIME``)."""

# Numbers written back are formatted with %.0f: Lua 5.1 turns a number into a string with
# 14 significant digits, which would round a µs timestamp (16 digits).
RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local s = redis.call('HMGET', KEYS[1], 'tat', 'rate', 'anchor', 'paused', 'ilast', 'itat', 'tat0',
                    'qtat', 'n', 'an')
local ceiling = tonumber(ARGV[1])
local rate = tonumber(s[2]) or ceiling
if rate > ceiling then rate = ceiling end
local anchor = tonumber(s[3]) or now
if rate < ceiling then
  local every = tonumber(ARGV[4])
  local steps = math.floor((now - anchor) / every)
  if steps > 0 then
    rate = math.min(ceiling, rate + steps * tonumber(ARGV[3]))
    anchor = anchor + steps * every
  end
end
-- The margin: ARGV[2], or with an automatic margin (ARGV[15] == '1') the widest that any
-- process of the last minute proposes (each from the round trips and arrival order it saw),
-- so evidence of jitter seen anywhere widens it everywhere. Unreadable entries are dropped.
local margin = tonumber(ARGV[2])
if ARGV[15] == '1' then
  redis.call('HSET', KEYS[5], ARGV[8], ARGV[2] .. ' ' .. string.format('%.0f', now))
  local all = redis.call('HGETALL', KEYS[5])
  for i = 1, #all, 2 do
    local m, at = string.match(all[i + 1], '^(%S+) (%S+)$')
    m, at = tonumber(m), tonumber(at)
    if m and at and m >= 0 and m <= 1 and now - at < 60000000 then
      if m > margin then margin = m end
    else
      redis.call('HDEL', KEYS[5], all[i])
    end
  end
  redis.call('PEXPIRE', KEYS[5], 120000)
end
local interval = math.ceil((1 + margin) * 1000000 / rate)
-- Room for other integrations of the institution: a process that sees them in the daily
-- counter proposes the pace (requests per second) that leaves them room (ARGV[18], '' when it
-- sees none); the slowest proposal of the last 2 s spaces everyone's grants.
if ARGV[18] ~= '' then
  redis.call('HSET', KEYS[6], ARGV[8], ARGV[18] .. ' ' .. string.format('%.0f', now))
  redis.call('PEXPIRE', KEYS[6], 10000)
else
  redis.call('HDEL', KEYS[6], ARGV[8])
end
local paces = redis.call('HGETALL', KEYS[6])
for i = 1, #paces, 2 do
  local p, at = string.match(paces[i + 1], '^(%S+) (%S+)$')
  p, at = tonumber(p), tonumber(at)
  if p and at and p > 0 and now - at < 2000000 then
    interval = math.max(interval, math.ceil(1000000 / p))
  else
    redis.call('HDEL', KEYS[6], paces[i])
  end
end
local paused = tonumber(s[4]) or 0
local push = tonumber(ARGV[7])
if push > 0 and now + push > paused then paused = now + push end
-- No schedule (first use, restart, expiry, eviction): processes may still hold slots up to
-- one horizon ahead on the lost one, so the new schedule starts after them.
local horizon = tonumber(ARGV[5])
local tat = tonumber(s[1])
if not tat then
  tat = now + horizon
  redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat))
end
-- Lanes. While interactive requests come from any process (within ARGV[12] µs of the last
-- one) the interactive lane has its own schedule 'itat' at a share ARGV[13] of the rate, with
-- a burst of ARGV[14], and batch work runs at the rest: interactive requests never queue
-- behind batch work. The first one of a busy period goes at once, before the batch work
-- already reserved (one extra start in a window, within the margin); the others wait until
-- one interval after that work ('tat0'), then keep to their schedule.
local ilast = tonumber(s[5]) or 0
local itat = tonumber(s[6]) or 0
local tat0 = tonumber(s[7]) or 0
local interactive = ARGV[11] == 'i'
local active = now - ilast < tonumber(ARGV[12])
local share = tonumber(ARGV[13])
local first = math.max(paused, now)
local slot
local step = interval
local heads = 0
if interactive then
  local every = math.ceil(interval / share)
  if not active then
    slot = first
    tat0 = math.max(tat, first)
    -- the next ones start one interval after the batch work already reserved, no burst
    itat = tat0 + (tonumber(ARGV[14]) - 1) * every
  else
    slot = math.max(first, itat - (tonumber(ARGV[14]) - 1) * every)
    if now < tat0 then slot = math.max(slot, tat0) end
  end
  ilast = now
  step = every
else
  slot = math.max(tat, first)
  -- the rest of the rate, less what the interactive burst may add in a window
  if active then
    step = math.ceil(1000000 / (1000000 / interval * (1 - share) - (tonumber(ARGV[14]) - 1)))
  end
  -- With a batch reach shorter than the horizon (ARGV[16]), batch requests refused earlier
  -- hold tickets, one slot apart up to 'qtat' (advisory:
  -- nothing is reserved, an interactive request may still take the next slot). A request
  -- without a ticket (ARGV[17] ~= '1') lines up after them, within the other processes'
  -- count of batch waiters (a vanished ticket holder costs one slot once, never more).
  heads = 0
  local procs = redis.call('HGETALL', KEYS[2])
  for i = 1, #procs, 2 do
    if procs[i] ~= ARGV[8] then
      local b = tonumber(string.match(procs[i + 1], ' (%-?%d+)$'))
      if b and b > 0 then heads = heads + 1 end
    end
  end
  if ARGV[17] ~= '1' and (tonumber(ARGV[16]) or horizon) < horizon then
    local queued = math.min(tonumber(s[8]) or 0, slot + heads * step)
    slot = math.max(slot, queued)
  end
end
local wait = slot - now
local granted = 0
-- How far ahead this request may hold a slot (ARGV[16]): batch work holds its slots only
-- a little ahead, so that a new interactive request of any process can take the next one.
local ahead = tonumber(ARGV[16]) or horizon
if ahead > horizon then ahead = horizon end
-- 'n' numbers the institution's grants: a process reads from it how many requests of the
-- institution went between two of its own (their fall in the daily counter is not foreign).
local number = tonumber(s[9]) or 0
if wait <= ahead then
  granted = 1
  number = number + 1
  redis.call('HSET', KEYS[1], 'n', string.format('%.0f', number))
  if interactive then
    itat = math.max(itat, slot) + step
  else
    redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', slot + step))
  end
end
-- A refused batch request is told when to ask again: the processes refused together are
-- told one slot apart ('qtat', advisory: nothing is reserved, so an interactive request may
-- still take the next slot), not all the same one, which only one of them could get.
if granted == 0 and not interactive and ahead < horizon then
  local qtat = math.max(tonumber(s[8]) or 0, slot + step)
  redis.call('HSET', KEYS[1], 'qtat', string.format('%.0f', qtat))
end
redis.call('HSET', KEYS[1], 'rate', tostring(rate), 'anchor', string.format('%.0f', anchor),
           'paused', string.format('%.0f', paused), 'ilast', string.format('%.0f', ilast),
           'itat', string.format('%.0f', itat), 'tat0', string.format('%.0f', tat0))
redis.call('PEXPIRE', KEYS[1], ARGV[6])
-- What `esploro-async status` shows: grants per second (the last minute), and each
-- process's waiting requests by lane (processes seen in the last minute).
if granted == 1 then
  local sec = math.floor(slot / 1000000)
  if redis.call('HINCRBY', KEYS[4], sec, 1) == 1 then
    redis.call('HDEL', KEYS[4], sec - 61, sec - 62, sec - 63, sec - 64, sec - 65)
  end
  redis.call('PEXPIRE', KEYS[4], 120000)
end
-- The arrival order, judged institution-wide (an automatic margin reading it: ARGV[20] ~= '').
-- Each process hands in the slot (µs) and X-Exl-Api-Remaining of its accepted requests
-- (ARGV[19]: 'slot remaining ...'); they are numbered ('an') and the latest 64 kept, and each
-- process is given those numbered after the last one it read (ARGV[20]): every process reads
-- the order of every request of the institution against the one schedule they were spaced on.
local read = 0
local arrivals = {}
if ARGV[20] ~= '' then
  local an = tonumber(s[10]) or 0
  local tail = redis.call('LRANGE', KEYS[7], -1, -1)[1]
  local top = tail and tonumber(string.match(tail, '^(%d+) '))
  if top == nil or top > an then
    -- The count was lost (or never started): what the list holds would be read twice.
    redis.call('DEL', KEYS[7])
  end
  for slot_us, left in string.gmatch(ARGV[19], '(%d+) (%d+)') do
    an = an + 1
    redis.call('RPUSH', KEYS[7], string.format('%.0f', an) .. ' ' .. slot_us .. ' ' .. left)
  end
  redis.call('LTRIM', KEYS[7], -64, -1)
  redis.call('PEXPIRE', KEYS[7], 120000)
  redis.call('HSET', KEYS[1], 'an', string.format('%.0f', an))
  local from = tonumber(ARGV[20]) or 0
  if from > an then from = 0 end
  if an > from then
    local new = redis.call('LRANGE', KEYS[7], -math.min(64, an - from), -1)
    for i = 1, #new do
      local k, slot_us, left = string.match(new[i], '^(%d+) (%d+) (%d+)$')
      if k and tonumber(k) > from then
        arrivals[#arrivals + 1] = slot_us
        arrivals[#arrivals + 1] = left
      end
    end
  end
  read = an
end
redis.call('HSET', KEYS[2], ARGV[8], ARGV[9] .. ' ' .. ARGV[10])
redis.call('ZADD', KEYS[3], string.format('%.0f', now), ARGV[8])
local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now - 60000000)
if #gone > 0 then
  redis.call('HDEL', KEYS[2], unpack(gone))
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 60000000)
end
redis.call('PEXPIRE', KEYS[2], 120000)
redis.call('PEXPIRE', KEYS[3], 120000)
return {granted, wait, interval, tostring(rate), paused - now, ahead, tostring(margin), number,
        string.format('%.0f', slot), string.format('%.0f', read), arrivals}
"""

PENALIZE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local s = redis.call('HMGET', KEYS[1], 'tat', 'rate', 'paused', 'dec')
local ceiling = tonumber(ARGV[1])
local rate = tonumber(s[2]) or ceiling
if rate > ceiling then rate = ceiling end
local dec = tonumber(s[4]) or 0
if ARGV[6] == '1' and (dec == 0 or now - dec >= tonumber(ARGV[4])) then
  rate = math.max(tonumber(ARGV[5]), rate * tonumber(ARGV[3]))
  dec = now
end
-- An isolated 429 pauses first_pause (ARGV[9]); one within a second after the end of the
-- last pause pauses ARGV[2]; a Retry-After (ARGV[10]) longer than either wins.
local before = tonumber(s[3]) or 0
local pause = tonumber(ARGV[9])
if now <= before + 1000000 then pause = tonumber(ARGV[2]) end
local paused = math.max(before, now + math.max(pause, tonumber(ARGV[10])))
local tat = math.max(tonumber(s[1]) or 0, paused)
redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', tat), 'rate', tostring(rate),
           'anchor', string.format('%.0f', now), 'paused', string.format('%.0f', paused),
           'dec', string.format('%.0f', dec))
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('PUBLISH', ARGV[8], string.format('%.0f', paused - now))
return {paused - now, tostring(rate)}
"""

# KEYS: quota day, in flight (hash id -> count), leases (zset id -> expiry), the day's probe
# holder, processes reserving from their local view (zset id -> expiry), the day's probes
# answered without a quota header, when the day's count was last reported (µs).
# ARGV: 1 id, 2 mine, 3 observed remaining or '', 4 quota TTL ms, 5 lease µs, 6 want,
# 7 floor, 8 slack, 9 strict ('1': every reservation of this process is counted here),
# 10 probe lease ms, 11 release this process's probe ('1': not sent, '2': sent and answered
# without a quota header), 12 local window µs, 13 such answers after which probing stops,
# 14 the per-second ceiling.
# Reply: granted, stored (-1 unknown), others in flight, why refused (0 granted, 1 at the
# floor, 2 quota unknown and a probe in flight), processes reserving locally.
QUOTA_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local id = ARGV[1]
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
for i = 1, #dead do redis.call('HDEL', KEYS[2], dead[i]) end
if #dead > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
local stored = tonumber(redis.call('GET', KEYS[1]))
if stored and stored < 0 then stored = nil end
local obs = tonumber(ARGV[3])
if obs then
  if not stored or obs < stored then
    stored = obs
    redis.call('SET', KEYS[1], string.format('%.0f', obs), 'PX', ARGV[4])
  end
  redis.call('SET', KEYS[7], string.format('%.0f', now), 'PX', ARGV[4])
  redis.call('DEL', KEYS[4], KEYS[6])
end
-- A count reported dt seconds ago is still at least count - rate_limit * dt (ARGV[14]): the
-- institution cannot spend faster. Older than the local window (ARGV[12]), only that bound
-- is trusted; when it does not clear the floor, the count is as good as unknown: probe.
local known = stored
local seen = tonumber(redis.call('GET', KEYS[7]))
if stored and (not seen or now - seen > tonumber(ARGV[12])) then
  local age = now - (seen or 0)
  if not seen then age = 86400000000 end
  local bound = stored - math.ceil(tonumber(ARGV[14]) * age / 1000000)
  if bound <= tonumber(ARGV[7]) then known = nil end
end
if ARGV[11] ~= '0' and redis.call('GET', KEYS[4]) == id then
  redis.call('DEL', KEYS[4])
  if ARGV[11] == '2' then  -- sent, and answered without a quota header
    redis.call('INCR', KEYS[6])
    redis.call('PEXPIRE', KEYS[6], ARGV[4])
  end
end
local others = 0
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  if all[i] ~= id then others = others + (tonumber(all[i + 1]) or 0) end
end
local strict = ARGV[9] == '1'
if strict then
  redis.call('ZREM', KEYS[5], id)
else
  redis.call('ZADD', KEYS[5], string.format('%.0f', now + tonumber(ARGV[12])), id)
end
local loose = redis.call('ZCARD', KEYS[5])
if not strict then loose = loose - 1 end
local mine = tonumber(ARGV[2])
local want = tonumber(ARGV[6])
local granted = 1
local why = 0
if want > 0 then
  if not known then
    if (tonumber(redis.call('GET', KEYS[6])) or 0) >= tonumber(ARGV[13]) then
      granted = 1  -- the gateway does not report the quota: probing stops
    elseif redis.call('EXISTS', KEYS[4]) == 1 then
      granted, why = 0, 2
    else
      redis.call('SET', KEYS[4], id, 'PX', ARGV[10])
    end
  else
    local slack = 0
    if loose > 0 then slack = tonumber(ARGV[8]) end
    if stored - others - mine - slack <= tonumber(ARGV[7]) then granted, why = 0, 1 end
  end
  if granted == 1 then mine = mine + want end
end
local lease = tonumber(ARGV[5])
if mine > 0 then
  redis.call('HSET', KEYS[2], id, mine)
  redis.call('ZADD', KEYS[3], string.format('%.0f', now + lease), id)
else
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
end
local ttl = math.ceil(2 * lease / 1000)
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('PEXPIRE', KEYS[3], ttl)
redis.call('PEXPIRE', KEYS[5], ttl)
return {granted, known or -1, others, why, loose}
"""
