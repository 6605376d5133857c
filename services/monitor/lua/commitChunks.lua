--[[
  Records changes in the chunked object state (see compareRange.lua) and enqueues their
  events in one step, as compare-and-set: a change is applied only if the stored fingerprint
  is still the one the scan compared against, and never when it already equals the new one.
  A crash-and-rescan or a replica whose lease ran out therefore never enqueues a change twice.

  Chunks stay at most ARGV[3] entries, so that Redis keeps them listpack-encoded (it never
  converts a hash back once it grew past hash-max-listpack-entries): a full chunk is split
  before an insert, and a chunk left small by deletions is merged into the one before it.
  Chunk hashes are named from ARGV[2] inside the script, since a split or merge decides which
  exist; the deployment is standalone or Sentinel Redis, not Cluster.

  Whether events go out is decided here, from the notification switch as Redis holds it at
  this instant, not from the caller's memory of it: a switch acknowledged by the API before
  this commit is honoured whatever the scanning replica last heard.

  KEYS[1] state index   zset    member = chunk lower bound ('' for the first chunk)
  KEYS[2] state meta    hash    objects = number of tracked objects
  KEYS[3] event queue   list    RPUSH of JSON events
  KEYS[4] bucket config string  must still exist (a bucket removed mid-scan gets no writes)
  KEYS[5] notifications_disabled string  "true" when the bucket's notifications are off
  ARGV[1] what the caller prepared: 'push' (events built; pushed unless the switch is off),
          'off' (no events built because the switch was off when the scan read it),
          'baseline' (state only, whatever the switch says: a first scan, a state migration)
  ARGV[2] chunk key prefix (a chunk's hash is prefix .. lower bound)
  ARGV[3] most entries per chunk
  ARGV[4..] quads: object key, expected fingerprint ('' = no state),
            new fingerprint ('' = remove the state), event JSON ('' = no event)

  Returns { applied, pushed, skipped, i1, i2, ... }: the counts, then the 0-based index of
  every quad skipped; { -1 } when the bucket is gone; { -2 } when the caller prepared no
  events ('off') but notifications are on now: nothing is applied, so a rescan announces them.
]]
local rcall = redis.call
local indexKey, metaKey, queueKey = KEYS[1], KEYS[2], KEYS[3]
local mode, prefix, maxEntries = ARGV[1], ARGV[2], tonumber(ARGV[3])
if rcall('EXISTS', KEYS[4]) == 0 then return { -1 } end
local enabled = rcall('GET', KEYS[5]) ~= 'true'
if mode == 'off' and enabled then return { -2 } end
local push = mode == 'push' and enabled

--- @include "byteOrder"

-- The lower bound of the chunk holding `key`; nil when there is no chunk yet.
local function chunkOf (key)
  return rcall('ZREVRANGEBYLEX', indexKey, '[' .. key, '-', 'LIMIT', 0, 1)[1]
end

local function startChunk (lower)
  rcall('ZADD', indexKey, 0, lower)
end

-- A chunk created expires with the rest of the state (the index's TTL; none yet on a first
-- scan, when the scan renews every chunk's TTL at its end).
local indexTtl = rcall('PTTL', indexKey)
local function expireNew (chunkKey)
  if indexTtl > 0 then rcall('PEXPIRE', chunkKey, indexTtl) end
end

local function moveFields (fromKey, toKey, keys, values)
  if #keys == 0 then return end
  local args = {}
  for i = 1, #keys do args[2 * i - 1] = keys[i]; args[2 * i] = values[keys[i]] end
  rcall('HSET', toKey, unpack(args))
  rcall('HDEL', fromKey, unpack(keys))
end

-- Makes room for `key` in the full chunk at `lower`: a key after all of the chunk's starts
-- a chunk of its own (appends fill chunks), else the upper half moves to a new chunk.
local function split (lower, key)
  local entries = rcall('HGETALL', prefix .. lower)
  local keys, values = {}, {}
  for i = 1, #entries, 2 do keys[#keys + 1] = entries[i]; values[entries[i]] = entries[i + 1] end
  table.sort(keys, before)
  if before(keys[#keys], key) then
    startChunk(key)
    return
  end
  local mid = math.floor(#keys / 2) + 1
  local upper = {}
  for i = mid, #keys do upper[#upper + 1] = keys[i] end
  startChunk(keys[mid])
  moveFields(prefix .. lower, prefix .. keys[mid], upper, values)
  expireNew(prefix .. keys[mid])
end

-- An empty chunk leaves the index; one under a quarter full joins the chunk before it when
-- both fit in three quarters.
local function mergeIfSmall (lower)
  if lower == '' then return end
  local size = rcall('HLEN', prefix .. lower)
  if size * 4 >= maxEntries then return end
  if size == 0 then
    rcall('ZREM', indexKey, lower)
    return
  end
  local prev = rcall('ZREVRANGEBYLEX', indexKey, '(' .. lower, '-', 'LIMIT', 0, 1)[1] or ''
  if (rcall('HLEN', prefix .. prev) + size) * 4 > maxEntries * 3 then return end
  local entries = rcall('HGETALL', prefix .. lower)
  local keys, values = {}, {}
  for i = 1, #entries, 2 do keys[#keys + 1] = entries[i]; values[entries[i]] = entries[i + 1] end
  moveFields(prefix .. lower, prefix .. prev, keys, values)
  rcall('ZREM', indexKey, lower)
end

local tracked = 0

local function store (key, fp, cur, lower)
  if cur ~= '' then return rcall('HSET', prefix .. lower, key, fp) end
  if lower == nil then
    lower = ''
    startChunk('')
  end
  local size = rcall('HLEN', prefix .. lower)
  if size >= maxEntries then
    split(lower, key)
    lower = chunkOf(key)
    size = rcall('HLEN', prefix .. lower)
  end
  rcall('HSET', prefix .. lower, key, fp)
  if size == 0 then expireNew(prefix .. lower) end
  tracked = tracked + 1
end

local function remove (key, lower)
  rcall('HDEL', prefix .. lower, key)
  tracked = tracked - 1
  mergeIfSmall(lower)
end

local applied, pushed = 0, 0
local skippedAt = {}
for i = 4, #ARGV, 4 do
  local field, expected, fp, event = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local lower = chunkOf(field)
  local cur = lower and rcall('HGET', prefix .. lower, field) or ''
  if cur == fp or cur ~= expected then
    skippedAt[#skippedAt + 1] = (i - 4) / 4
  else
    if fp == '' then remove(field, lower) else store(field, fp, cur, lower) end
    applied = applied + 1
    if push and event ~= '' then
      rcall('RPUSH', queueKey, event)
      pushed = pushed + 1
    end
  end
end
if tracked ~= 0 then rcall('HINCRBY', metaKey, 'objects', tracked) end
return { applied, pushed, #skippedAt, unpack(skippedAt) }
