--[[
  Releases the API's per-bucket lock only if this request still holds it (compare and delete),
  so a request whose lock expired never frees a lock another request took since.

  KEYS[1] lock   string  owner token, PX-expiring
  ARGV[1] owner token

  Returns 1 when released, 0 when the lock was not ours (or gone).
]]
local rcall = redis.call
if rcall('GET', KEYS[1]) == ARGV[1] then return rcall('DEL', KEYS[1]) end
return 0
