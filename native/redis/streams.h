// Redis Streams and lease commands for replicated documents (issue 21), as builders of a
// command's arguments and parsers of its reply, for redis::Connection::command:
//
//   conn.command(redis::xadd("collabio:{doc}:updates", {{"u", update}}), [](auto ec, redis::Reply r) {
//     redis::StreamId id;
//     if (!ec && redis::parse_stream_id(r, id)) ...  // durable: relay now
//   });
//
// XREAD BLOCK stalls every command behind it on its connection: give the reader its own
// (Connection::duplicate()). Reply parsers take untrusted replies and return false on any shape
// they do not expect; they never throw.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "redis/resp.h"

namespace collabio::redis {

/// A stream entry id `<ms>-<seq>`, ordered as Redis orders them.
struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;
  std::string to_string() const;
  auto operator<=>(const StreamId&) const = default;
};
/// "1700000000000-3" -> {1700000000000, 3}; "5" -> {5, 0}. False for anything else.
bool parse_stream_id(std::string_view text, StreamId& out);
/// The reply of XADD (a bulk string id).
bool parse_stream_id(const Reply& reply, StreamId& out);

struct StreamEntry {
  StreamId id;
  std::vector<std::pair<std::string, std::string>> fields;
};
/// One stream's part of an XREAD reply.
struct StreamBatch {
  std::string key;
  std::vector<StreamEntry> entries;
};

/// XADD key [MAXLEN ~ n] * field value ... (id chosen by Redis).
std::vector<std::string> xadd(std::string_view key, const std::vector<std::pair<std::string, std::string>>& fields,
                              std::optional<uint64_t> approx_maxlen = std::nullopt);
/// XRANGE key start end [COUNT n]; start/end are ids or "-" / "+" ("(" prefix: exclusive).
std::vector<std::string> xrange(std::string_view key, std::string_view start, std::string_view end,
                                std::optional<uint64_t> count = std::nullopt);
/// XREAD [COUNT n] BLOCK ms STREAMS key... id...: entries after each id ("$": only new ones).
/// block_ms 0 blocks until an entry arrives.
std::vector<std::string> xread_block(uint64_t block_ms, const std::vector<std::pair<std::string, std::string>>& key_after_id,
                                     std::optional<uint64_t> count = std::nullopt);
/// XTRIM key MINID [~] id: drops entries older than `id` (approximately: whole macro nodes only,
/// cheaper). Reply: the number of entries removed.
std::vector<std::string> xtrim_minid(std::string_view key, const StreamId& min_id, bool approximate = false);
/// SET key value NX PX ms: a lease. Reply: +OK when taken, nil when someone holds it.
std::vector<std::string> set_nx_px(std::string_view key, std::string_view value, uint64_t ttl_ms);

/// XRANGE's reply (an array of entries).
bool parse_entries(const Reply& reply, std::vector<StreamEntry>& out);
/// XREAD's reply: nil (the block timed out) gives an empty list.
bool parse_xread(const Reply& reply, std::vector<StreamBatch>& out);
/// SET NX's reply: true when the lease was taken.
bool parse_set_nx(const Reply& reply, bool& taken);

}  // namespace collabio::redis
