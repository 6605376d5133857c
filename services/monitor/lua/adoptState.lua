--[[
  Moves a batch of the Python monitor's per-object state strings into the bucket's state hash
  (upgrade from the Python service). A field the new scanner already tracks is kept; each
  legacy string is deleted once moved. Called with a variable number of keys.

  KEYS[1]       object state hash   field = object key, value = fingerprint
  KEYS[2..n]    legacy state strings `{state_prefix}{bucket}:{key}`, one per ARGV pair
  ARGV[2i-1]    object key of KEYS[i+1]
  ARGV[2i]      its fingerprint, or '' when the legacy value was unreadable (then only deleted)

  Returns the number of fields written.
]]
local rcall = redis.call
local written = 0
for i = 2, #KEYS do
  local field, fp = ARGV[2 * (i - 1) - 1], ARGV[2 * (i - 1)]
  if fp ~= '' then written = written + rcall('HSETNX', KEYS[1], field, fp) end
  rcall('DEL', KEYS[i])
end
return written
