//! The Redis keys of a cluster, and the scripts that change several at once.

use std::sync::LazyLock;

/// Every key of the cluster starts with this.
pub const PREFIX: &str = "switchboard:";

/// The sorted set of live node ids, scored by when their registration expires (Redis time, ms).
pub fn nodes() -> String {
    format!("{PREFIX}nodes")
}

/// The cluster's resume key (hash: `secret`, `boot`).
pub fn resume() -> String {
    format!("{PREFIX}resume")
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

/// The pub/sub channel of room `room`'s roster changes ([`super::events::RoomEvent`]).
pub fn room_channel(room: &str) -> String {
    format!("{PREFIX}room:{room}")
}

/// The hash of room `room`'s members over the cluster: peer id → member (JSON).
pub fn room_members(room: &str) -> String {
    format!("{PREFIX}room:{room}:members")
}

/// The set of rooms node `node` has members in (so its members can be taken out when it dies).
pub fn node_rooms(node: &str) -> String {
    format!("{PREFIX}node:{node}:rooms")
}

/// Node `node`'s own pub/sub channel ([`super::events::NodeEvent`]).
pub fn node_channel(node: &str) -> String {
    format!("{PREFIX}node:{node}")
}

/// A member joined without [`RESERVE`] (Redis did not answer then): lists it (`KEYS[1]` room
/// members, `ARGV[1]` id, `ARGV[2]` member JSON), takes its name (`KEYS[3]`, `ARGV[6]`), notes
/// its room for its node (`KEYS[2]`, `ARGV[3]` room), then tells the room's channel (`ARGV[4]`,
/// `ARGV[5]` event) — listed before told, so a node that reads the list after subscribing
/// misses nobody.
/// It goes last in the join order (`KEYS[4]`, numbered by `KEYS[5]`).
pub const JOINED: &str = r"
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[6], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[5]), ARGV[1])
redis.call('PUBLISH', ARGV[4], ARGV[5])
";

/// A member left: unlists it (`KEYS[1]`, `ARGV[1]` id), frees its name (`KEYS[2]`, `ARGV[4]`
/// lower-cased) and its token identity (`KEYS[3]`, `ARGV[5]`, empty if none) where they are
/// still this member's, and tells the room's channel (`ARGV[2]`, `ARGV[3]` event).
/// Then, in a host room whose host it was, the role moves ([`ELECT`]; `KEYS[4]` host, `KEYS[5]`
/// join order).
pub static LEFT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{ELECT}{}",
        r"
redis.call('HDEL', KEYS[1], ARGV[1])
if redis.call('HGET', KEYS[2], ARGV[4]) == ARGV[1] then redis.call('HDEL', KEYS[2], ARGV[4]) end
if ARGV[5] ~= '' and redis.call('HGET', KEYS[3], ARGV[5]) == ARGV[1] then
  redis.call('HDEL', KEYS[3], ARGV[5])
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
elect(KEYS[4], KEYS[5], ARGV[2], ARGV[1])
"
    )
});

/// A Lua function for the scripts where members leave: member `left` is out of room's join
/// order (`order`, a sorted set); if it hosted (`host`, a hash: `peer` the host's id, `relay`,
/// or empty; `on_leave` the room's policy), the role goes to the relay (`on_leave = relay`) or
/// the earliest member left (none: vacant), told on the room's channel (`channel`) as
/// `{"type":"host_changed","host"}` after the `left`.
const ELECT: &str = r"
local function elect(host, order, channel, left)
  redis.call('ZREM', order, left)
  if redis.call('HGET', host, 'peer') ~= left then return end
  local next = ''
  if redis.call('HGET', host, 'on_leave') == 'relay' then
    next = 'relay'
  else
    next = redis.call('ZRANGE', order, 0, 0)[1] or ''
  end
  redis.call('HSET', host, 'peer', next)
  redis.call('PUBLISH', channel, cjson.encode({type = 'host_changed', host = next}))
end
";

/// Node `ARGV[1]` is gone (expired, or left): every member it had is unlisted and a `left`
/// (reason `timeout`) told to its room; then its room set (`KEYS[1]`) is dropped. `ARGV[2]` is
/// the key prefix. With `ARGV[3]` (a node restarted under the same id), only the members of its
/// other runs go, and the room set stays. Returns how many members were taken out.
/// Members that hosted hand the role on ([`ELECT`]).
pub static NODE_GONE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{ELECT}{}",
        r"
local rooms = redis.call('SMEMBERS', KEYS[1])
local gone = 0
for _, room in ipairs(rooms) do
  local key = ARGV[2] .. 'room:' .. room .. ':members'
  local all = redis.call('HGETALL', key)
  for i = 1, #all, 2 do
    local ok, m = pcall(cjson.decode, all[i + 1])
    if ok and m.node == ARGV[1] and (ARGV[3] == '' or m.incarnation ~= ARGV[3]) then
      redis.call('HDEL', key, all[i])
      for _, suffix in ipairs({':names', ':identities'}) do
        local held = ARGV[2] .. 'room:' .. room .. suffix
        local taken = redis.call('HGETALL', held)
        for j = 1, #taken, 2 do
          if taken[j + 1] == all[i] then redis.call('HDEL', held, taken[j]) end
        end
      end
      local channel = ARGV[2] .. 'room:' .. room
      redis.call('PUBLISH', channel,
        cjson.encode({type = 'left', node = ARGV[1], peer_id = all[i], reason = 'timeout'}))
      elect(channel .. ':host', channel .. ':order', channel, all[i])
      gone = gone + 1
    end
  end
end
if ARGV[3] == '' then redis.call('DEL', KEYS[1]) end
return gone
"
    )
});

/// The hash of room `room`'s token identities over the cluster: identity → peer id.
pub fn room_identities(room: &str) -> String {
    format!("{PREFIX}room:{room}:identities")
}

/// The hash of room `room`'s names over the cluster: lower-cased name → peer id.
pub fn room_names(room: &str) -> String {
    format!("{PREFIX}room:{room}:names")
}

/// A member joins on some node: admitted only if the room has fewer than `ARGV[4]` members over
/// the cluster (`KEYS[1]`), nobody has its token identity (`KEYS[4]`, `ARGV[8]`, empty if none)
/// and nobody uses its name (`KEYS[2]`, `ARGV[3]` lower-cased); then listed, its identity and
/// name taken, its room noted for its node (`KEYS[3]`, `ARGV[5]` room) and the room's channel
/// told (`ARGV[6]`, `ARGV[7]` event), all at once. Returns 0 (admitted), 1 (the room is full),
/// 2 (the name is taken) or 3 (the identity is in the room), with the room's host after the
/// join. The member goes last in the room's join order (`KEYS[5]`, numbered by `KEYS[6]`); in a
/// host room (`ARGV[9]` its `on_host_leave`, empty in other rooms) it hosts if nobody does
/// (`KEYS[7]`, see [`ELECT`]).
pub const RESERVE: &str = r"
local host = redis.call('HGET', KEYS[7], 'peer') or ''
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[4]) then return {1, host} end
if ARGV[8] ~= '' and redis.call('HEXISTS', KEYS[4], ARGV[8]) == 1 then return {3, host} end
if redis.call('HSETNX', KEYS[2], ARGV[3], ARGV[1]) == 0 then return {2, host} end
if ARGV[8] ~= '' then redis.call('HSET', KEYS[4], ARGV[8], ARGV[1]) end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[3], ARGV[5])
redis.call('ZADD', KEYS[5], redis.call('INCR', KEYS[6]), ARGV[1])
redis.call('PUBLISH', ARGV[6], ARGV[7])
if ARGV[9] ~= '' then
  redis.call('HSET', KEYS[7], 'on_leave', ARGV[9])
  if host == '' then
    host = ARGV[1]
    redis.call('HSET', KEYS[7], 'peer', host)
  end
end
return {0, host}
";

/// The hash of host room `room`'s host: `peer` (the hosting member's id, `relay`, or empty) and
/// `on_leave` (its `on_host_leave`).
pub fn room_host(room: &str) -> String {
    format!("{PREFIX}room:{room}:host")
}

/// The sorted set of room `room`'s members in join order (the earliest is elected host).
pub fn room_order(room: &str) -> String {
    format!("{PREFIX}room:{room}:order")
}

/// The counter that numbers room `room`'s joins.
pub fn room_joins(room: &str) -> String {
    format!("{PREFIX}room:{room}:joins")
}

/// Claims relay room lease `KEYS[1]` for node `ARGV[1]` for `ARGV[2]` ms if it is free or that
/// node's already (a renewal); returns the node that holds it.
pub const CLAIM_RELAY: &str = r"
local owner = redis.call('GET', KEYS[1])
if not owner or owner == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return owner
";

/// Deletes relay room lease `KEYS[1]` if node `ARGV[1]` holds it.
pub const RELEASE_RELAY: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// A member's seat moved to this node: relists it (`KEYS[1]` room members, `ARGV[1]` id,
/// `ARGV[2]` member JSON with the new node), notes its room for the node (`KEYS[2]`, `ARGV[3]`
/// room), then tells the room's channel (`ARGV[4]`, `ARGV[5]` event).
pub const MOVED: &str = r"
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PUBLISH', ARGV[4], ARGV[5])
";
