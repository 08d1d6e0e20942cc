"""The Redis limiter's scripts: each one atomic step on a key's shared state.

The state's layout, what each script does and why, is in the module docstring
of ``lemlist_async._redis``, which runs them. Kept apart because they are a
language of their own (Lua, run by Redis) and make most of the limiter's text.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ACQUIRE",
    "COMPLETE",
    "GRANTED",
    "HOLDING",
    "PAUSE",
    "PAUSED",
    "PRELUDE",
    "QUEUED",
    "RELEASE",
    "RESERVED",
    "SHARE",
    "STATUS",
    "SUBSCRIBE",
    "US",
]

US: Final = 1_000_000  # Scripts count Redis time in integer microseconds.

# The acquire script's answers: {code, µs, messages published}.
GRANTED: Final = 1  # A slot, free now.
RESERVED: Final = 2  # A slot that may be used µs from now.
PAUSED: Final = 3  # The key is paused for µs more.
# Queued; a message will hand it a slot. µs: until a slot's lease may end, or the
# gate (shared_key) opens by itself, whichever comes first: nobody announces either.
QUEUED: Final = 4
SUBSCRIBE: Final = 5  # It would be queued: listen on the channel first, then ask again.
HOLDING: Final = frozenset({GRANTED, RESERVED, QUEUED})  # Redis holds something for the id.

# Every script takes KEYS = [slots, pause, done, reserved, queue, share] and ARGV =
# [limit, lease µs, window + margin µs, channel, probe timeout µs (0: shared_key
# off), ...], and reads the clock from
# Redis TIME. Times are integer microseconds (about 1.8e15: exact in a Lua
# double). They are passed to redis.call as numbers, which Redis formats with 17
# significant digits; Lua's tostring() would round them to 14, so no time is ever
# concatenated into a string: messages carry durations (well under 1e14 µs).
SHARE: Final = """
-- The key's probe-and-cap state: lemlist_async._sharing.ShareState as one hash,
-- its rules line for line (each function names the method it mirrors). Times
-- are Redis µs; ShareState's -inf is NEVER and its inf FOREVER, numbers that
-- are only compared, never added to. probe_id is the probe's slot id, which
-- ShareState does not need: it lets a probe whose ticket this process lost (a
-- lost message, a failed call) end with its slot all the same.
local NEVER, FOREVER = -1, 4000000000000000
local S = nil

local function share_load()
  local v = redis.call('HMGET', SHARE, 'serial', 'probe', 'probe_until', 'cap_left',
    'cap_until', 'known_until', 'probe_id')
  S = {
    serial = tonumber(v[1]) or 0,
    probe = tonumber(v[2]) or 0,
    probe_until = tonumber(v[3]) or NEVER,
    cap_left = tonumber(v[4]) or 0,
    cap_until = tonumber(v[5]) or NEVER,
    known_until = tonumber(v[6]) or NEVER,
    probe_id = v[7] or '',
  }
end

local function share_save()
  redis.call('HSET', SHARE, 'serial', S.serial, 'probe', S.probe, 'probe_until', S.probe_until,
    'cap_left', S.cap_left, 'cap_until', S.cap_until, 'known_until', S.known_until,
    'probe_id', S.probe_id)
end

-- ShareState._unknown
local function share_unknown(now, busy)
  return S.probe == 0 and (busy == 0 or now >= S.known_until)
end

-- ShareState.allowance (nil: the slot rule alone decides)
local function share_allowance(now, busy)
  if S.probe ~= 0 and now < S.probe_until then
    return 0
  end
  if now < S.cap_until then
    return math.max(0, S.cap_left)
  end
  if share_unknown(now, busy) then
    return 1
  end
  return nil
end

-- ShareState.next_change (nil: only events)
local function share_next_change(now)
  local at = nil
  if S.cap_until > now then
    at = S.cap_until
  end
  if S.probe ~= 0 and S.probe_until > now and (at == nil or S.probe_until < at) then
    at = S.probe_until
  end
  return at
end

-- ShareState.take, for slot id usable from start: now, or a reservation's later
-- start (the others wait for the probe probe_timeout from when it may be sent).
-- Returns the ticket {serial, busy, in_flight, probe (1 or 0)}.
local function share_take(now, busy, in_flight, start, id)
  S.serial = S.serial + 1
  local probe = 0
  if now < S.cap_until then
    S.cap_left = S.cap_left - 1
  elseif share_unknown(now, busy) then
    probe = 1
    S.probe = S.serial
    S.probe_id = id
    S.probe_until = start + probe_timeout
    -- Nothing is known until the probe is answered: if it fails, the next
    -- request probes again.
    S.known_until = NEVER
  end
  return {S.serial, busy, in_flight, probe}
end

-- ShareState._end_probe, by the ticket's serial or by the probe's slot id.
local function share_end_probe(serial, id)
  if S.probe ~= 0 and (serial == S.probe or id == S.probe_id) then
    S.probe = 0
    S.probe_until = NEVER
    S.probe_id = ''
  end
end

-- ShareState._learnt
local function share_learnt(now)
  -- While capped, what is known ends with the cap: the window has then reset
  -- and the other consumer may have started the next one.
  if now < S.cap_until then
    S.known_until = S.cap_until
  else
    S.known_until = FOREVER
  end
end

-- ShareState.answered. t: the ticket {serial, busy, in_flight}; limit and
-- remaining: nil when absent; reset_in: µs, nil when unknown, math.huge when
-- too far to be about the window (a quota).
local function share_answered(t, id, now, limit, remaining, reset_in, refused)
  share_end_probe(t[1], id)
  -- The server window that counted the request ends within a window of its
  -- answer, whatever a coarse or far reset header says.
  local span = hold
  if reset_in then
    span = math.min(math.max(0, reset_in), hold)
  end
  if reset_in ~= math.huge and (refused or remaining ~= nil) then
    local sent_after = S.serial - t[1]
    local left, spent_elsewhere
    if refused then
      left, spent_elsewhere = 0, true
    else
      local own_max = t[2] + 1 + sent_after
      left = remaining - (t[3] + sent_after)
      spent_elsewhere = limit ~= nil and limit - remaining > own_max
    end
    if spent_elsewhere then
      if now < S.cap_until then
        S.cap_left = math.min(S.cap_left, left)
      else
        S.cap_left = left
      end
      S.cap_until = math.max(S.cap_until, now + span)
    elseif now < S.cap_until then
      -- No proof by itself, but while capped every answer tightens.
      S.cap_left = math.min(S.cap_left, left)
    end
  end
  share_learnt(now)
end

-- ShareState.ended: a probe that ends so opens the gate.
local function share_ended(t, id, now)
  share_end_probe(t[1], id)
  share_learnt(now)
end

-- ShareState.failed: a failed probe reopens the gate; the next request probes.
local function share_failed(t, id)
  share_end_probe(t[1], id)
end

-- The reset_in argument of share_answered, as sent: '' for None, 'inf', or µs.
local function share_reset_in(arg)
  if arg == 'inf' then
    return math.huge
  elseif arg ~= '' then
    return tonumber(arg)
  end
  return nil
end
"""

PRELUDE: Final = (
    """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local SLOTS, PAUSE, DONE, RESERVED, QUEUE = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local SHARE = KEYS[6]
local limit, lease, hold = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local channel = ARGV[4]
local probe_timeout = tonumber(ARGV[5])
local shared = probe_timeout > 0  -- shared_key: the rules of _sharing.py apply.
local published = 0
"""
    + SHARE
    + """
if shared then
  share_load()
end

-- Slots counted as ShareState counts them: busy (in flight, reserved, or
-- completed less than window + margin ago) and, of those, in flight: every slot
-- not completed yet, a reservation not yet started included (it will be sent
-- after any request answered now, and the server's count cannot include it).
local function counts()
  local busy = redis.call('ZCARD', SLOTS)
  return busy, busy - redis.call('ZCARD', DONE)
end

-- The ticket of a slot taken for id, usable from start ({0, 0, 0, 0} without shared_key).
local function taken(busy, in_flight, start, id)
  if not shared then
    return {0, 0, 0, 0}
  end
  return share_take(now, busy, in_flight, start, id)
end

-- The gate of _sharing.py on top of the slot rule: may a request start now?
local function gate_open(busy)
  return not shared or share_allowance(now, busy) ~= 0
end

-- Slots whose time is up free themselves (a dead process's, at the end of their lease).
local function expire()
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', SLOTS, '-inf', now)) do
    redis.call('HDEL', RESERVED, id)
  end
  redis.call('ZREMRANGEBYSCORE', SLOTS, '-inf', now)
  redis.call('ZREMRANGEBYSCORE', DONE, '-inf', now)
end

local function pause_end()
  return tonumber(redis.call('GET', PAUSE) or 0)
end

-- The earliest completed slot nobody claimed leaves the set; returns when it frees.
local function claim()
  local first = redis.call('ZRANGE', DONE, 0, 0, 'WITHSCORES')
  if #first == 0 then
    return nil
  end
  redis.call('ZREM', DONE, first[1])
  redis.call('ZREM', SLOTS, first[1])
  return tonumber(first[2])
end

-- id's slot is busy from start until it completes (or start + lease).
local function reserve(id, start)
  redis.call('ZADD', SLOTS, start + lease, id)
  redis.call('HSET', RESERVED, id, start)
end

-- Hand what can be handed to the waiters queued across processes, oldest first:
-- a slot free now, else the earliest completed one from its release. Nothing
-- starts before a pause ends, nor while the gate is shut (a probe out, the cap
-- spent). Each hears of its slot on the channel, with its ticket if shared.
local function serve()
  local pause = pause_end()
  while true do
    local head = redis.call('ZRANGE', QUEUE, 0, 0)[1]
    if not head then
      return
    end
    local busy, in_flight = counts()
    if not gate_open(busy) then
      return
    end
    local start = now
    if busy >= limit then
      start = claim()
      if not start then
        return
      end
    end
    start = math.max(start, pause)
    reserve(head, start)
    redis.call('ZREM', QUEUE, head)
    local message = head .. ' ' .. (start - now)
    if shared then
      local ticket = taken(busy, in_flight, start, head)
      message = message .. ' ' .. table.concat(ticket, ' ')
    end
    redis.call('SPUBLISH', channel, message)
    published = published + 1
  end
end

-- The key pauses until ends (a longer pause already set stays); every process
-- hears of it on the channel. Returns whether the pause was set.
local function pause_until(ends)
  if pause_end() >= ends then
    return false
  end
  redis.call('SET', PAUSE, ends, 'PX', math.ceil((ends - now) / 1000) + 1)
  -- Every process stops: one sleeping until a reserved slot's start sends nothing
  -- inside the pause.
  redis.call('SPUBLISH', channel, 'pause ' .. (ends - now))
  published = published + 1
  return true
end

-- What a waiter that left held goes back: a ticket leaves the queue; a slot
-- granted now is removed (nothing was sent); a reservation becomes again the
-- completed slot it replaced, busy until its start and claimable. Removing it
-- would free capacity before the slot it replaced did.
local function give_back(id)
  if redis.call('ZREM', QUEUE, id) == 1 then
    return
  end
  if shared then
    -- ShareState.failed: a probe never sent reopens the gate.
    share_failed({nil}, id)
  end
  local start = tonumber(redis.call('HGET', RESERVED, id))
  redis.call('HDEL', RESERVED, id)
  if redis.call('ZREM', SLOTS, id) == 1 and start and start > now then
    redis.call('ZADD', SLOTS, start, id)
    redis.call('ZADD', DONE, start, id)
  end
end

-- The ids in ARGV from position first on: what this process may hold by calls
-- that failed, or what a waiter that left held.
local function give_back_from(first)
  for i = first, #ARGV do
    give_back(ARGV[i])
  end
end

-- The keys may vanish once every slot has freed (a reservation may end past
-- now + lease: it starts later).
local function touch()
  local last = redis.call('ZRANGE', SLOTS, -1, -1, 'WITHSCORES')[2]
  local ttl = math.ceil(math.max(hold, tonumber(last or 0) - now) / 1000) + 1000
  for _, key in ipairs({SLOTS, DONE, RESERVED, QUEUE}) do
    redis.call('PEXPIRE', key, ttl)
  end
  if shared then
    share_save()
    redis.call('PEXPIRE', SHARE, ttl)
  end
end
"""
)

#: ARGV[6]: the caller's slot id; ARGV[7]: 1 if the caller listens on the channel
#: (it may be queued); ARGV[8...]: ids this process may hold by calls that failed
#: (given back first). Returns {code, µs, messages published, waiters ahead,
#: ticket serial, busy, in flight, probe}: the ticket of a slot granted or
#: reserved by this call (serial 0: none, or shared_key off).
ACQUIRE: Final = (
    PRELUDE
    + """
expire()
give_back_from(8)
local id = ARGV[6]
local pause = pause_end()
local function answer(code, value, ahead, ticket)
  touch()
  ticket = ticket or {0, 0, 0, 0}
  return {code, value, published, ahead or 0, ticket[1], ticket[2], ticket[3], ticket[4]}
end
-- Asked again: a slot was handed to it (its message may have been lost), unless
-- that slot would start inside a pause that began since.
local start = tonumber(redis.call('HGET', RESERVED, id))
if start then
  if pause <= now or start >= pause then
    return answer(2, math.max(0, start - now))
  end
  give_back(id)
end
if pause > now then
  return answer(3, pause - now)
end
serve()  -- Those queued before the caller first.
start = tonumber(redis.call('HGET', RESERVED, id))
if start then
  return answer(2, math.max(0, start - now))
end
local busy, in_flight = counts()
if redis.call('ZCARD', QUEUE) == 0 and gate_open(busy) then
  if busy < limit then
    redis.call('ZADD', SLOTS, now + lease, id)
    return answer(1, 0, 0, taken(busy, in_flight, now, id))
  end
  local release = claim()
  if release then
    reserve(id, release)
    return answer(2, release - now, 0, taken(busy, in_flight, release, id))
  end
end
if ARGV[7] ~= '1' then
  return answer(5, 0)
end
if not redis.call('ZSCORE', QUEUE, id) then
  redis.call('ZADD', QUEUE, now, id)
end
-- Every slot is in flight or reserved: each frees by a complete, which serves
-- the queue, or at the end of its lease, which nobody announces. The caller
-- asks again then if it has heard nothing.
local first = redis.call('ZRANGE', SLOTS, 0, 0, 'WITHSCORES')[2]
local wake = tonumber(first or now)
if shared then
  -- The gate opens by itself at the probe's deadline or the cap's end, which
  -- nobody announces: ask again then at the latest.
  local opens = share_next_change(now)
  if opens and (first == nil or opens < wake) then
    wake = opens
  end
end
return answer(4, math.max(0, wake - now), redis.call('ZRANK', QUEUE, id))
"""
)

#: ARGV[6]: slot id. With shared_key, what became of its request: ARGV[7]:
#: "answered", "ended" (no answer reported, no error) or "failed"; ARGV[8..10]:
#: its ticket's serial (0: unknown, judged as if taken now), busy, in flight;
#: for "answered", ARGV[11..14]: limit, remaining ("" when absent), reset_in
#: (µs, "" when unknown, "inf" when too far: a quota), refused (1: a 429).
#: Returns {1 if the slot was still held, else 0 (its lease had run out: it is
#: held again all the same, the server may have counted the request), messages
#: published, µs of a pause the answer set (0: none)}.
COMPLETE: Final = (
    PRELUDE
    + """
expire()
local id = ARGV[6]
local paused = 0
if shared and ARGV[7] then
  local busy, in_flight = counts()
  local ticket = {tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])}
  if ticket[1] == 0 then
    -- Its ticket was lost: as WindowRateLimiter.answered outside a slot, judge
    -- as if it were taken now (every busy slot may be in the server's count).
    ticket = {S.serial, busy, in_flight}
  end
  local outcome = ARGV[7]
  if outcome == 'failed' then
    share_failed(ticket, id)
  elseif outcome == 'ended' then
    share_ended(ticket, id, now)
  else
    share_answered(ticket, id, now, tonumber(ARGV[11]), tonumber(ARGV[12]),
      share_reset_in(ARGV[13]), ARGV[14] == '1')
    -- As WindowRateLimiter.answered: nothing left of the server's window is a
    -- pause, for every process (a reservation made before stops too).
    if now < S.cap_until and S.cap_left <= 0 and pause_until(S.cap_until) then
      paused = S.cap_until - now
    end
  end
end
local held = redis.call('ZSCORE', SLOTS, id)
redis.call('HDEL', RESERVED, id)
redis.call('ZADD', SLOTS, now + hold, id)
redis.call('ZADD', DONE, now + hold, id)
serve()
touch()
return {held and 1 or 0, published, paused}
"""
)

#: ARGV[6...]: ids to give back. Returns {0, messages published}.
RELEASE: Final = (
    PRELUDE
    + """
expire()
give_back_from(6)
serve()
touch()
return {0, published}
"""
)

#: ARGV[6]: delay µs; ARGV[7]: counted (-1: pause unconditionally; else pause only
#: if the server counted more requests than there are busy slots).
#: Returns {1 if the key is paused now else 0, µs until the pause ends, messages}.
PAUSE: Final = (
    PRELUDE
    + """
expire()
local counted = tonumber(ARGV[7])
if counted >= 0 and counted <= redis.call('ZCARD', SLOTS) then
  return {0, 0, 0}
end
local ends = now + tonumber(ARGV[6])
local current = pause_end()
if current >= ends then
  return {1, current - now, 0}
end
redis.call('SET', PAUSE, ends, 'PX', math.ceil((ends - now) / 1000) + 1)
-- Every process stops: one sleeping until a reserved slot's start sends nothing
-- inside the pause.
redis.call('SPUBLISH', channel, 'pause ' .. (ends - now))
return {1, ends - now, 1}
"""
)

#: Returns {busy slots, µs until the pause ends (0 when not paused)}.
STATUS: Final = (
    PRELUDE
    + """
expire()
return {redis.call('ZCARD', SLOTS), math.max(0, pause_end() - now)}
"""
)
