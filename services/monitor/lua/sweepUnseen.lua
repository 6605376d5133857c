--[[
  One chunk of the deletion pass: walks the state hash with HSCAN and returns the entries
  whose key the pass's listing did not see. Read-only; commitChanges removes them.

  KEYS[1] object state  hash  field = object key, value = fingerprint
  KEYS[2] seen keys     set   every key of the complete listing
  ARGV[1] HSCAN cursor
  ARGV[2] HSCAN COUNT

  Returns { next cursor, key1, fingerprint1, key2, fingerprint2, ... }.
]]
local rcall = redis.call
local stateKey, seenKey = KEYS[1], KEYS[2]
local page = rcall('HSCAN', stateKey, ARGV[1], 'COUNT', ARGV[2])
local entries = page[2]
local out = { page[1] }
for i = 1, #entries, 2 do
  if rcall('SISMEMBER', seenKey, entries[i]) == 0 then
    out[#out + 1] = entries[i]
    out[#out + 1] = entries[i + 1]
  end
end
return out
