--[[
  Ends a scan: on success refreshes the state's TTL and the Python monitor's last_scan key; writes
  the bucket's status (dropping the scan's live progress); and, if the caller still holds the
  lease, releases it (compare-and-delete) and sets the next due time, unless a resync made the
  bucket due during the scan.
  A bucket removed meanwhile gets nothing written back.

  KEYS[1] lease          string  owner token
  KEYS[2] schedule       zset    member = bucket, score = next due (epoch ms)
  KEYS[3] object state   hash    the state before chunks, if still there (EXPIRE on success)
  KEYS[4] last scan      string  scan start, epoch seconds (the Python monitor's key)
  KEYS[5] scan status    hash    per-bucket status for the API (objects_tracked)
  KEYS[6] bucket config  string  must still exist
  KEYS[7] state index    zset    chunk lower bounds (EXPIRE on success; the chunks' own TTLs
                                 are renewed by the scan)
  KEYS[8] state meta     hash    objects = tracked objects (EXPIRE on success)
  ARGV[1] owner token
  ARGV[2] bucket name
  ARGV[3] next due (epoch ms)
  ARGV[4] now (epoch ms)
  ARGV[5] 'ok' | 'error'
  ARGV[6] state TTL (seconds)
  ARGV[7] scan start (epoch seconds)
  ARGV[8] n = number of status fields to set, followed by n field/value pairs, then
          field/increment pairs for the status counters

  Returns 1 when the lease was still the caller's, 0 when not, -1 when the bucket is gone.
]]
local rcall = redis.call
local leaseKey, scheduleKey, stateKey, lastScanKey, statusKey, configKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local held = rcall('GET', leaseKey) == ARGV[1]
if held then rcall('DEL', leaseKey) end
if rcall('EXISTS', configKey) == 0 then return -1 end

if ARGV[5] == 'ok' then
  rcall('EXPIRE', stateKey, ARGV[6])
  rcall('EXPIRE', KEYS[7], ARGV[6])
  rcall('EXPIRE', KEYS[8], ARGV[6])
  rcall('SET', lastScanKey, ARGV[7])
end

-- The scan is over: its live progress (see scanProgress.lua) goes.
rcall('HDEL', statusKey, 'scan_started_at', 'scan_objects_listed', 'scan_pages', 'scan_ranges_done', 'scan_ranges_total', 'scan_updated_at')
local tracked = tonumber(rcall('HGET', KEYS[8], 'objects') or '0') + rcall('HLEN', stateKey)
rcall('HSET', statusKey, 'objects_tracked', tracked)
local n = tonumber(ARGV[8])
for i = 9, 8 + 2 * n, 2 do rcall('HSET', statusKey, ARGV[i], ARGV[i + 1]) end
for i = 9 + 2 * n, #ARGV, 2 do rcall('HINCRBY', statusKey, ARGV[i], ARGV[i + 1]) end

if not held then return 0 end
-- While a scan runs its score stays ahead of now (claim and renewals); at or below now, a resync asked for another scan.
local due = rcall('ZSCORE', scheduleKey, ARGV[2])
if due and tonumber(due) > tonumber(ARGV[4]) then rcall('ZADD', scheduleKey, 'XX', ARGV[3], ARGV[2]) end
return 1
