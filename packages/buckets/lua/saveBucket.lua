--[[
  Stores a bucket's configuration and announces the change to every replica.

  KEYS[1] bucket config   string  JSON (no secrets)
  KEYS[2] config version  string  counter
  ARGV[1] config JSON
  ARGV[2] pub/sub channel
  ARGV[3] bucket name
  ARGV[4] mode: 'create' (fail if present), 'update' (fail if absent) or 'put'
  ARGV[5] optional deadline, ms in the Redis clock: past it, nothing is changed (the
          caller has given up and answered that the write failed)

  Returns the new config version, or -1 (exists, on create) / -2 (missing, on update), or
  -3 when the deadline has passed.
]]
--- @include "clock"

local rcall = redis.call
local configKey, versionKey = KEYS[1], KEYS[2]
local json, channel, bucket, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if past_deadline(ARGV[5]) then return -3 end

local exists = rcall('EXISTS', configKey) == 1
if mode == 'create' and exists then return -1 end
if mode == 'update' and not exists then return -2 end
rcall('SET', configKey, json)
local version = rcall('INCR', versionKey)
rcall('PUBLISH', channel, bucket)
return version
