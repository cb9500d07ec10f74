//! The Lua scripts of the Redis Streams history: each runs atomically in Redis, so two nodes
//! writing one room's stream (an old owner that has not noticed it lost the room, say) cannot
//! interleave inside one.

/// Appends a batch (`KEYS[1]` the stream; `ARGV[2..]` pairs of `seq`, message JSON) as entries
/// `0-<seq>` with the message (`m`) and when Redis stored it (`t`, ms on Redis' clock). Nothing
/// is written unless every `seq` is above the stream's last one (trimmed entries included) and
/// the batch's increase: a `seq` used before fails the whole batch. Fenced: with a node id in
/// `ARGV[1]`, nothing is written unless that node holds the room's relay lease (`KEYS[2]`).
pub const APPEND: &str = r"
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return redis.error_reply('LEASE_LOST node ' .. ARGV[1] .. ' does not hold the room')
end
local last = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      last = tonumber(string.match(info[i + 1], '%-(%d+)$'))
    end
  end
end
for i = 2, #ARGV, 2 do
  local seq = tonumber(ARGV[i])
  if not seq or seq <= last then
    return redis.error_reply('seq ' .. ARGV[i] .. ' is not above ' .. last)
  end
  last = seq
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 2, #ARGV, 2 do
  redis.call('XADD', KEYS[1], '0-' .. ARGV[i], 't', now, 'm', ARGV[i + 1])
end
return (#ARGV - 1) / 2
";

/// The highest `seq` ever appended to `KEYS[1]` (trimmed entries included), 0 for none: the
/// stream's last generated id.
pub const LAST_SEQ: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then
    return tonumber(string.match(info[i + 1], '%-(%d+)$'))
  end
end
return 0
";

/// Trims from `KEYS[1]` the entries stored before `ARGV[1]` ms ago (Redis' clock), looking at
/// most at `ARGV[2]` of them per call (the rest go at the next trim); returns how many went.
/// Entries are stored in order, so the first young one ends the scan.
pub const TRIM_AGE: &str = r"
local t = redis.call('TIME')
local cutoff = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[1])
local budget = tonumber(ARGV[2])
local start, scanned, keep_from = '-', 0, nil
while scanned < budget and not keep_from do
  local batch = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', math.min(100, budget - scanned))
  if #batch == 0 then break end
  for _, entry in ipairs(batch) do
    local stored = nil
    for i = 1, #entry[2], 2 do
      if entry[2][i] == 't' then stored = tonumber(entry[2][i + 1]) end
    end
    if stored and stored >= cutoff then
      keep_from = entry[1]
      break
    end
    scanned = scanned + 1
    start = '(' .. entry[1]
  end
end
if scanned == 0 then return 0 end
if not keep_from then
  keep_from = '0-' .. (tonumber(string.match(start, '%-(%d+)$')) + 1)
end
return redis.call('XTRIM', KEYS[1], 'MINID', keep_from)
";
