//! The Redis keys of a cluster, and the scripts that change several at once.

/// Every key of the cluster starts with this.
pub const PREFIX: &str = "switchboard:";

/// The sorted set of live node ids, scored by when their registration expires (Redis time, ms).
pub fn nodes() -> String {
    format!("{PREFIX}nodes")
}

/// The hash of node id → registration (JSON).
pub fn node_info() -> String {
    format!("{PREFIX}nodes:info")
}

/// One heartbeat, atomically and on Redis' clock (so the nodes' clocks need not agree): drops
/// the registrations that expired, renews this node's (`ARGV[1]` id, `ARGV[2]` JSON, `ARGV[3]`
/// TTL in ms; an empty id only reads), and returns the ids that expired and every live
/// registration.
pub const HEARTBEAT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for _, id in ipairs(dead) do redis.call('HDEL', KEYS[2], id) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[1] ~= '' then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
return {dead, redis.call('HVALS', KEYS[2])}
";
