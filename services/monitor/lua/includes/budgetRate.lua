-- The bucket's allowed requests per second now: its limit, or the rate a SlowDown lowered it
-- to, raised back by `recover` per second since then. Deletes the record once fully recovered.
-- Takes: rate_key (a hash: rate, lowered_at), limit, recover, now_ms.
local function current_rate (rate_key, limit, recover, now_ms)
  local rec = redis.call('HMGET', rate_key, 'rate', 'lowered_at')
  if not rec[1] then return limit end
  local rate = tonumber(rec[1]) + (now_ms - tonumber(rec[2])) / 1000 * recover
  if rate >= limit then
    redis.call('DEL', rate_key)
    return limit
  end
  return rate
end
