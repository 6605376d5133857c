--[[
  Stores a bucket's configuration and announces the change to every replica.

  KEYS[1] bucket config   string  JSON (no secrets)
  KEYS[2] config version  string  counter
  ARGV[1] config JSON
  ARGV[2] pub/sub channel
  ARGV[3] bucket name
  ARGV[4] mode: 'create' (fail if present), 'update' (fail if absent) or 'put'

  Returns the new config version, or -1 (exists, on create) / -2 (missing, on update).
]]
local rcall = redis.call
local configKey, versionKey = KEYS[1], KEYS[2]
local json, channel, bucket, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4]

local exists = rcall('EXISTS', configKey) == 1
if mode == 'create' and exists then return -1 end
if mode == 'update' and not exists then return -2 end
rcall('SET', configKey, json)
local version = rcall('INCR', versionKey)
rcall('PUBLISH', channel, bucket)
return version
