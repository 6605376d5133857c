--[[
  Compares one listed page with the bucket's object state. Read-only: an unchanged page
  costs this one round trip and no write.

  KEYS[1] object state  hash  field = object key, value = fingerprint
  ARGV    pairs: object key, listed fingerprint (one pair per listed object); or, packed,
          one argument: key NUL fingerprint NUL key NUL fingerprint NUL ... (one large
          argument costs the client far less to encode than 2,000 small ones)

  Returns { known, i1, old1, i2, old2, ... }: how many listed keys have a state, then the
  0-based index and stored fingerprint ('' when none) of every object whose state differs.
]]
local rcall = redis.call
local stateKey = KEYS[1]

local fields, listed = {}, {}
if #ARGV == 1 then
  local packed, pos, n = ARGV[1], 1, 0
  while pos <= #packed do
    local keyEnd = string.find(packed, '\0', pos, true)
    local fpEnd = string.find(packed, '\0', keyEnd + 1, true)
    n = n + 1
    fields[n] = string.sub(packed, pos, keyEnd - 1)
    listed[n] = string.sub(packed, keyEnd + 1, fpEnd - 1)
    pos = fpEnd + 1
  end
else
  for i = 1, #ARGV / 2 do
    fields[i] = ARGV[2 * i - 1]
    listed[i] = ARGV[2 * i]
  end
end
local n = #fields
if n == 0 then return { 0 } end
local current = rcall('HMGET', stateKey, unpack(fields))

local out = { 0 }
local known = 0
for i = 1, n do
  local cur = current[i]
  if cur then known = known + 1 end
  if cur ~= listed[i] then
    out[#out + 1] = i - 1
    out[#out + 1] = cur or ''
  end
end
out[1] = known
return out
