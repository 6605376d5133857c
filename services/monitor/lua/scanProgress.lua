--[[
  Records how far a running scan has got in the bucket's status hash (the API shows it as
  scan_progress), unless the bucket has been removed meanwhile: a removed bucket's status
  hash is never written again. finishScan drops these fields when the scan ends.

  KEYS[1] scan status    hash
  KEYS[2] bucket config  string  must still exist
  ARGV    field/value pairs (scan_started_at, scan_objects_listed, ...)

  Returns 1, or 0 when the bucket is gone.
]]
local rcall = redis.call
if rcall('EXISTS', KEYS[2]) == 0 then return 0 end
rcall('HSET', KEYS[1], unpack(ARGV))
return 1
