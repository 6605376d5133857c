--[[
  Ends a scan: on success refreshes the state's TTL and the original's last_scan key; writes
  the bucket's status; and, if the caller still holds the lease, sets the next due time and
  releases the lease (compare-and-delete).

  KEYS[1] lease         string  owner token
  KEYS[2] schedule      zset    member = bucket, score = next due (epoch ms)
  KEYS[3] object state  hash    (EXPIRE on success)
  KEYS[4] last scan     string  scan start, epoch seconds (the original's key)
  KEYS[5] scan status   hash    per-bucket status for the API (objects_tracked = HLEN state)
  ARGV[1] owner token
  ARGV[2] bucket name
  ARGV[3] next due (epoch ms)
  ARGV[4] 'ok' | 'error'
  ARGV[5] state TTL (seconds)
  ARGV[6] scan start (epoch seconds)
  ARGV[7] n = number of status fields to set, followed by n field/value pairs, then
          field/increment pairs for the status counters

  Returns 1 when the lease was still the caller's, else 0.
]]
local rcall = redis.call
local leaseKey, scheduleKey, stateKey, lastScanKey, statusKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]

if ARGV[4] == 'ok' then
  rcall('EXPIRE', stateKey, ARGV[5])
  rcall('SET', lastScanKey, ARGV[6])
end

rcall('HSET', statusKey, 'objects_tracked', rcall('HLEN', stateKey))
local n = tonumber(ARGV[7])
for i = 8, 7 + 2 * n, 2 do rcall('HSET', statusKey, ARGV[i], ARGV[i + 1]) end
for i = 8 + 2 * n, #ARGV, 2 do rcall('HINCRBY', statusKey, ARGV[i], ARGV[i + 1]) end

if rcall('GET', leaseKey) ~= ARGV[1] then return 0 end
rcall('DEL', leaseKey)
rcall('ZADD', scheduleKey, 'XX', ARGV[3], ARGV[2])
return 1
