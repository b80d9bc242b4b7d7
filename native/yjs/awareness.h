// Awareness (presence) for one document, as y-protocols awareness.js and the reference y-websocket
// server (utils.js) track it.
//
//   awarenessUpdate = varUint(n) { varUint(clientID) varUint(clock) varString(JSON state) }^n
//
// Example: client 7 at clock 3 with state {"a":1}: `01 07 03 07 7b 22 61 22 3a 31 7d`; the same
// client removed: `01 07 03 04 6e 75 6c 6c` (state "null").
//
// Rules (applyAwarenessUpdate): an entry is accepted when its clock is newer than the one known for
// that client, or equal with state null while the client has a state (a removal at the same clock).
// Everything accepted is re-broadcast to every connection of the document, the sender included (the
// reference server does this, and the echo keeps idle y-websocket clients from timing out).
//
// Decisions (where the reference leaves room):
//  - States are JSON text kept verbatim (not re-serialised) and validated as strict JSON: an invalid
//    state would make every other client's JSON.parse throw, so one bad client could break presence
//    for all. An update with any invalid entry is refused whole (DecodeError), nothing applied.
//  - Ownership: a client id belongs to the connection that made its state non-null (added it, or
//    revived it after a removal; the reference only tracks the first add, so a revived id would never
//    be cleaned up). A connection may update ids it does not own (y-websocket providers re-send the
//    states they receive; the clock rule makes that harmless) without taking them over.
//  - Limits: kMaxClientsPerConnection ids owned per connection, kMaxStateBytes and kMaxStateDepth
//    per state; entries over a limit are skipped and counted (Applied::rejected), the rest of the
//    update applies.
//  - Removal when a connection closes: state null at the SAME clock by default, as the reference
//    server (removeAwarenessStates bumps only the local client's clock). Peers accept it (equal clock,
//    null, known state), and a client that reconnects becomes visible again at its next renewal
//    (clock+1), ~15 s, whereas clock+1 here would hide it until clock+2 (~30 s).
//    RemovalClock::Increment gives the clock+1 variant.
//  - Memory: clocks of removed clients are remembered (to refuse stale entries) for the last
//    kMaxRememberedRemoved removals only.
//
// Owner: a Registry belongs to its document's strand; it is not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace collabio::yjs::awareness {

inline constexpr size_t kMaxClientsPerConnection = 64;
inline constexpr size_t kMaxStateBytes = 64 * 1024;
/// Deepest nesting of arrays/objects in a state. Every peer re-encodes the states it receives
/// (y-protocols encodeAwarenessUpdate -> JSON.stringify, recursive): a state nested tens of
/// thousands deep would overflow every other client's stack, so it is skipped like an oversize one.
inline constexpr size_t kMaxStateDepth = 256;
inline constexpr size_t kMaxRememberedRemoved = 4096;
/// y-protocols outdatedTimeout: a state not renewed for this long is removed (expire()).
inline constexpr int64_t kOutdatedTimeoutMs = 30000;

/// One entry of an awareness update. `state` is JSON text; "null" means removed.
struct Entry {
  uint64_t client_id = 0;
  uint64_t clock = 0;
  std::string state;
};

/// Decodes an awareness update. Throws DecodeError (lib0.h) for truncated input, invalid UTF-8 or a
/// state that is not strict JSON. Bytes after the last entry are ignored (as the reference).
std::vector<Entry> decode_update(std::span<const uint8_t> update);
/// Encodes entries as an awareness update (states written verbatim).
std::vector<uint8_t> encode_update(std::span<const Entry> entries);
/// Strict JSON (RFC 8259, one value, surrounding whitespace allowed), as JSON.parse accepts it, with
/// two exceptions: numbers beyond the double range and lone-surrogate escapes are refused.
bool is_valid_json(std::string_view text);
/// True when `json` (valid JSON) is the null literal.
bool is_null_state(std::string_view json);
/// Deepest array/object nesting of `json` (valid JSON): `1` -> 0, `[{"a":[]}]` -> 3.
size_t json_depth(std::string_view json);

using ConnectionId = uint64_t;  // opaque to the registry; chosen by the caller, unique per document

enum class RemovalClock { Same, Increment };

class Registry {
 public:
  explicit Registry(RemovalClock removal_clock = RemovalClock::Same) : removal_clock_(removal_clock) {}

  struct Applied {
    /// Awareness update (not framed) to send to every connection of the document, the sender
    /// included; empty when nothing changed (then send nothing).
    std::vector<uint8_t> broadcast;
    std::vector<uint64_t> added, updated, removed;
    size_t rejected = 0;  // entries skipped for a limit
  };

  /// Applies an update received from connection `conn` at time `now_ms` (any monotonic clock in
  /// milliseconds, used by expire). Throws DecodeError for a malformed update (nothing applied).
  Applied apply(ConnectionId conn, std::span<const uint8_t> update, int64_t now_ms);

  /// Forgets connection `conn`: its client ids become null (see RemovalClock). Returns the update to
  /// broadcast to the remaining connections, or empty if there is nothing to say.
  std::vector<uint8_t> remove_connection(ConnectionId conn);

  /// Removes states not renewed since now_ms - kOutdatedTimeoutMs (same clock, as the reference
  /// server's check). Returns the update to broadcast, or empty.
  std::vector<uint8_t> expire(int64_t now_ms);

  /// Every non-null state, for a newcomer (ids ascending); empty when there is none (send nothing).
  std::vector<uint8_t> encode_all() const;

  size_t size() const { return live_; }
  std::optional<std::string_view> state(uint64_t client_id) const;
  std::optional<uint64_t> clock(uint64_t client_id) const;
  std::vector<uint64_t> clients_of(ConnectionId conn) const;

 private:
  struct Client {
    uint64_t clock = 0;
    std::optional<std::string> state;  // nullopt: removed / never set
    int64_t last_updated_ms = 0;
    ConnectionId owner = 0;            // meaningful only while state is set
  };

  void release(uint64_t client_id, ConnectionId owner);
  void remember_removed(uint64_t client_id);  // after the client's clock is final
  void trim_removed();                         // at the end of every mutation
  std::vector<uint8_t> encode_clients(const std::vector<uint64_t>& ids) const;

  const RemovalClock removal_clock_;
  // Owner of everything below: the document's strand.
  std::unordered_map<uint64_t, Client> clients_;
  std::unordered_map<ConnectionId, std::vector<uint64_t>> owned_;  // insertion order, <= kMax...
  std::deque<std::pair<uint64_t, uint64_t>> removed_order_;        // (id, clock), oldest first
  size_t live_ = 0;                                                // clients with a state
};

}  // namespace collabio::yjs::awareness
