--[[
  Compares one listed page with the bucket's object state over the key range the page
  covers, and finds the tracked keys of that range the page did not list (deletion
  candidates). Read-only: an unchanged page costs this one round trip and no write.

  The state is split in chunks: small hashes (field = object key, value = fingerprint) that
  Redis keeps listpack-encoded, each holding the keys from its lower bound up to the next
  chunk's; the index is a sorted set of the lower bounds (all scores 0, so lex order =
  byte order, the order S3 lists in). The first chunk's lower bound is ''.

  KEYS[1] state index   zset    member = chunk lower bound
  ARGV[1] chunk key prefix      a chunk's hash is prefix .. lower bound
  ARGV[2] range start           '-' (from the first key), '(' .. key (after key) or '[' .. key (from key)
  ARGV[3] range end             '+' (to the last key), '[' .. key (up to key) or '(' .. key (before key)
  ARGV[4] key prefix            only keys starting with it are in the range ('' = every key)
  ARGV[5] at most this many chunks read in one call (a page's range over a bucket
          emptied since the last scan can hold the whole state)
  ARGV[6..] the listed keys of the range, ascending, with their fingerprints: pairs, or one
          packed argument key NUL fingerprint NUL ... (one large argument costs the client
          far less to encode than 2,000 small ones)

  Returns { known, handled, resume, nChanged, i1, old1, ..., key1, fp1, key2, fp2, ... }:
  how many listed keys have a state; how many listed keys (a prefix of them) this call
  compared; '' when the whole range was read, else the lower bound of the first chunk not
  read (call again from '[' .. resume with the listed keys not handled); then per changed
  listed key its 0-based index and stored fingerprint ('' when none); then every tracked
  key of the part read that was not listed, with its fingerprint.
]]
local rcall = redis.call
local indexKey, prefix = KEYS[1], ARGV[1]
local from, to, keyPrefix, maxChunks = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[5])

--- @include "byteOrder"

-- The keys starting with a prefix are those from it up to (not including) this string.
local function prefixEnd (p)
  local i = #p
  while i > 0 and string.byte(p, i) == 255 do i = i - 1 end
  if i == 0 then return nil end
  return string.sub(p, 1, i - 1) .. string.char(string.byte(p, i) + 1)
end
if keyPrefix ~= '' then
  if from == '-' then from = '[' .. keyPrefix end
  local stop = prefixEnd(keyPrefix)
  if to == '+' and stop then to = '(' .. stop end
end

local fields, listed = {}, {}
if #ARGV == 6 then
  local packed, pos, n = ARGV[6], 1, 0
  while pos <= #packed do
    local keyEnd = string.find(packed, '\0', pos, true)
    local fpEnd = string.find(packed, '\0', keyEnd + 1, true)
    n = n + 1
    fields[n] = string.sub(packed, pos, keyEnd - 1)
    listed[n] = string.sub(packed, keyEnd + 1, fpEnd - 1)
    pos = fpEnd + 1
  end
else
  for j = 1, (#ARGV - 5) / 2 do
    fields[j] = ARGV[2 * j + 4]
    listed[j] = ARGV[2 * j + 5]
  end
end

-- The chunks overlapping the range: the one holding its start, then those starting inside it.
local low = string.sub(from, 2)
local bounds = {}
if from ~= '-' then
  local first = rcall('ZREVRANGEBYLEX', indexKey, '[' .. low, '-', 'LIMIT', 0, 1)
  if first[1] then bounds[1] = first[1] end
end
local inner = rcall('ZRANGEBYLEX', indexKey, from == '-' and '-' or '(' .. low, to, 'LIMIT', 0, maxChunks + 1)
for i = 1, #inner do bounds[#bounds + 1] = inner[i] end
local resume = ''
if #bounds > maxChunks then
  resume = bounds[maxChunks + 1]
  for i = #bounds, maxChunks + 1, -1 do bounds[i] = nil end
end

local lowInclusive = string.sub(from, 1, 1) == '['
local high = string.sub(to, 2)
local highInclusive = string.sub(to, 1, 1) == '['
local stored = {}
for c = 1, #bounds do
  local entries = rcall('HGETALL', prefix .. bounds[c])
  -- Only the first chunk can hold keys before the range, only the last (when the whole
  -- range is read) keys after it.
  local checkLow = c == 1 and from ~= '-'
  local checkHigh = c == #bounds and to ~= '+' and resume == ''
  for i = 1, #entries, 2 do
    local key = entries[i]
    local inside = not (checkLow and (before(key, low) or (key == low and not lowInclusive)))
    if inside and checkHigh and (before(high, key) or (key == high and not highInclusive)) then inside = false end
    if inside then stored[key] = entries[i + 1] end
  end
end

local handled = #fields
if resume ~= '' then
  handled = 0
  while handled < #fields and before(fields[handled + 1], resume) do handled = handled + 1 end
end

local out = { 0, handled, resume, 0 }
local known = 0
for i = 1, handled do
  local cur = stored[fields[i]]
  if cur then
    known = known + 1
    stored[fields[i]] = nil
  end
  if cur ~= listed[i] then
    out[#out + 1] = i - 1
    out[#out + 1] = cur or ''
  end
end
out[1] = known
out[4] = (#out - 4) / 2
for key, fp in pairs(stored) do
  out[#out + 1] = key
  out[#out + 1] = fp
end
return out
