--[[
  Compares one listed page with the bucket's object state. Read-only: an unchanged page
  costs this one round trip and no write.

  KEYS[1] object state  hash  field = object key, value = fingerprint
  ARGV    pairs: object key, listed fingerprint (one pair per listed object)

  Returns { known, i1, old1, i2, old2, ... }: how many listed keys have a state, then the
  0-based index and stored fingerprint ('' when none) of every object whose state differs.
]]
local rcall = redis.call
local stateKey = KEYS[1]
local n = #ARGV / 2
if n == 0 then return { 0 } end

local fields = {}
for i = 1, n do fields[i] = ARGV[2 * i - 1] end
local current = rcall('HMGET', stateKey, unpack(fields))

local out = { 0 }
local known = 0
for i = 1, n do
  local cur = current[i]
  if cur then known = known + 1 end
  if cur ~= ARGV[2 * i] then
    out[#out + 1] = i - 1
    out[#out + 1] = cur or ''
  end
end
out[1] = known
return out
