// The y-websocket message framing (y-protocols sync.js / auth.js, y-websocket 3.x provider).
//
//   message        = varUint(messageType) payload              (one message per WebSocket frame)
//   Sync (0)       = varUint(syncType) varUint8Array(data)     syncType 0 SyncStep1 (state vector),
//                                                              1 SyncStep2 (update), 2 Update (update)
//   Awareness (1)  = varUint8Array(awarenessUpdate)            (see awareness.h)
//   Auth (2)       = varUint(0 = permission denied) varString(reason)
//   QueryAwareness (3) = nothing
//
// Example: the server's first frame for an empty document is SyncStep1 with the empty state vector
// `00 00 01 00` (Sync, SyncStep1, length 1, zero clients).
//
// This layer only frames: state vectors and updates are returned as views and validated by the
// document engine (doc.h), awareness updates by awareness.h.
//
// Owner: none (pure functions).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "yjs/lib0.h"

namespace collabio::yjs::sync {

enum class MessageType : uint64_t { Sync = 0, Awareness = 1, Auth = 2, QueryAwareness = 3 };
enum class SyncType : uint64_t { SyncStep1 = 0, SyncStep2 = 1, Update = 2 };

/// Sync message; `data` is the state vector (SyncStep1) or the update (SyncStep2, Update), a view
/// into the parsed frame.
struct SyncMessage {
  SyncType type;
  std::span<const uint8_t> data;
};
/// Awareness message; `update` is an awareness update (awareness.h), a view into the frame.
struct AwarenessMessage {
  std::span<const uint8_t> update;
};
/// Auth message. Only kind 0 (permission denied, with a reason) is defined; for any other kind the
/// reason is empty and the rest of the frame is counted as trailing bytes (clients ignore it too).
struct AuthMessage {
  uint64_t kind;
  std::string reason;
};
struct QueryAwarenessMessage {};

using Message = std::variant<SyncMessage, AwarenessMessage, AuthMessage, QueryAwarenessMessage>;

struct ParsedMessage {
  Message message;
  /// Bytes after the first complete message. The 3.x client and the reference server read only the
  /// first message of a frame and ignore the rest, so parse_message does the same (no error) and
  /// reports the count so the caller may log or reject it.
  size_t trailing_bytes = 0;
};

/// Why a frame was refused. Malformed: truncated or invalid varint / length / UTF-8; the frame is
/// garbage. UnknownMessageType / UnknownSyncType: well-formed but not a message we know. Recommended
/// handling at the connection boundary: ignore unknown message types (as the reference server and
/// client do, for forward compatibility) and close the connection on Malformed / UnknownSyncType
/// (the reference throws on an unknown sync type).
class ProtocolError : public DecodeError {
 public:
  enum class Kind { Malformed, UnknownMessageType, UnknownSyncType };
  ProtocolError(Kind kind, const std::string& what) : DecodeError(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

/// Parses one frame. Throws ProtocolError. The returned views point into `frame`.
ParsedMessage parse_message(std::span<const uint8_t> frame);

/// True for messages that change the document (SyncStep2, Update): what a read-only connection
/// must not be allowed to send (PROTOCOLS.md: drop frames starting [0,1] and [0,2]).
bool is_document_write(const Message& m);

// Encoders: each returns one complete frame.
std::vector<uint8_t> encode_sync_step1(std::span<const uint8_t> state_vector);
std::vector<uint8_t> encode_sync_step2(std::span<const uint8_t> update);
/// Same, built in `update`'s own buffer when it has room for the few header bytes (a large
/// Doc::encodeStateAsUpdate has): a newcomer's megabyte answer then needs no second buffer.
std::vector<uint8_t> encode_sync_step2(std::vector<uint8_t>&& update);
std::vector<uint8_t> encode_update(std::span<const uint8_t> update);
std::vector<uint8_t> encode_awareness(std::span<const uint8_t> awareness_update);
std::vector<uint8_t> encode_query_awareness();
/// Auth kind 0, permission denied. The y-websocket 3.x provider only logs the reason
/// (console.warn); send it before closing a rejected connection. Note that the 3.1 provider does not
/// reconnect after a close code in 4400..4499, so a rejection should close with e.g. 4403.
std::vector<uint8_t> encode_permission_denied(std::string_view reason);

}  // namespace collabio::yjs::sync
