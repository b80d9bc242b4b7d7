// Redis Cluster's key space (https://redis.io/docs/reference/cluster-spec/): 16384 hash slots,
// a key's slot, the slot map a node reports (CLUSTER SLOTS) and the redirections it answers with.
//
//   key_slot("collabio:{doc-1}:updates") == key_slot("doc-1")   // the hash tag decides
//   key_slot("foo{}{bar}") hashes the whole key: the first `{` is followed at once by `}`
//
// Pure functions over untrusted replies: the parsers return false (or nullopt) on any shape they
// do not expect and never throw; test/fuzz/redis/cluster_reply_fuzz.cpp feeds them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "redis/resp.h"

namespace collabio::redis {

inline constexpr uint16_t kSlotCount = 16384;

/// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the cluster spec's key hash:
/// crc16("123456789") == 0x31C3.
uint16_t crc16(std::string_view bytes);

/// The key's slot: CRC16 of the hash tag (the bytes between the first `{` and the first `}`
/// after it, when there are any) or of the whole key, modulo 16384.
uint16_t key_slot(std::string_view key);

/// The slot of the keys a command touches, for the commands this project sends: the first key
/// (GET, SET, DEL, HMGET, XADD, XRANGE, XTRIM, ...: argument 1), EVAL / EVALSHA (the first of the
/// `numkeys` keys), XREAD (the first key after STREAMS). nullopt for a command without a key
/// (PING, PUBLISH, CLUSTER ...), which any node answers. Callers keep the keys of one command in
/// one slot (hash tags); Redis answers CROSSSLOT otherwise.
std::optional<uint16_t> command_slot(const std::vector<std::string>& args);

/// A short string (decimal digits) whose slot is `slot`, for a key that must live in that slot:
/// "<prefix>:{" + hash_tag_for_slot(s) + "}:x" has slot s.
std::string hash_tag_for_slot(uint16_t slot);

/// One range of CLUSTER SLOTS: slots [first, last] served by the master at host:port. An empty
/// host means "the node that answered" (Redis sends "" or "?" when it does not know its address).
struct SlotRange {
  uint16_t first = 0;
  uint16_t last = 0;
  std::string host;
  uint16_t port = 0;
};
/// CLUSTER SLOTS's reply: [[first, last, [host, port, id, ...], replica...], ...]. Replicas are
/// ignored (reads go to masters).
bool parse_cluster_slots(const Reply& reply, std::vector<SlotRange>& out);

/// `MOVED 3999 127.0.0.1:6381` (the slot has a new owner: update the map) or
/// `ASK 3999 127.0.0.1:6381` (the slot is migrating: send ASKING then the command there, once).
struct Redirect {
  enum class Kind { Moved, Ask };
  Kind kind = Kind::Moved;
  uint16_t slot = 0;
  std::string host;  // without the IPv6 brackets
  uint16_t port = 0;
};
/// The redirection an error reply's text carries; nullopt for any other error.
std::optional<Redirect> parse_redirect(std::string_view error);

}  // namespace collabio::redis
