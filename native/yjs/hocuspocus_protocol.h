// The Hocuspocus message framing (@hocuspocus/server 4.7 and @hocuspocus/provider 4.8,
// MessageType in packages/server/src/types.ts, AuthMessageType in packages/common/src/auth.ts).
// Many documents share one WebSocket: every message starts with the document's address.
//
//   message         = varString(address) varUint(type) body
//   address         = document name, or name "\0" sessionId (provider `sessionAwareness`); replies
//                     carry the address the client used
//   Sync (0)        = varUint(syncType) varUint8Array(data)   as y-protocols (sync_protocol.h)
//   Awareness (1)   = varUint8Array(awarenessUpdate)
//   Auth (2)        = varUint(authType) ...  Token (0): varString(token) [varString(providerVersion)]
//                     (4.x adds the version; 3.x does not); PermissionDenied (1): varString(reason);
//                     Authenticated (2): varString(scope: "read-write" | "readonly")
//   QueryAwareness (3) = nothing
//   SyncReply (4)   = as Sync (Hocuspocus sends it between servers; served as Sync)
//   Stateless (5)   = varString(payload)
//   BroadcastStateless (6) = varString(payload), server internal: refused from a client
//   Close (7)       = [varString(reason)] (from the client: detach this document)
//   SyncStatus (8)  = varUint(1 saved | 0 not saved), server to client after each write
//   Ping (9) / Pong (10): bare one-byte messages, no address (the 4.x provider answers a Ping)
//
// Example: the provider's update for document "a" is `01 61 00 02 <len> <update>`.
//
// Owner: none (pure functions). Views in parsed messages point into the frame.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "yjs/lib0.h"
#include "yjs/sync_protocol.h"

namespace collabio::yjs::hocuspocus {

enum class MessageType : uint64_t {
  Sync = 0,
  Awareness = 1,
  Auth = 2,
  QueryAwareness = 3,
  SyncReply = 4,
  Stateless = 5,
  BroadcastStateless = 6,
  Close = 7,
  SyncStatus = 8,
  Ping = 9,
  Pong = 10,
};
enum class AuthType : uint64_t { Token = 0, PermissionDenied = 1, Authenticated = 2 };

/// Sync (or SyncReply, `reply` true): the y-protocols sync message.
struct SyncMessage {
  sync::SyncType type;
  std::span<const uint8_t> data;
  bool reply = false;
};
using AwarenessMessage = sync::AwarenessMessage;
using QueryAwarenessMessage = sync::QueryAwarenessMessage;
/// Auth Token: the only Auth message a client sends.
struct TokenMessage {
  std::string_view token;
  std::string_view provider_version;  // "" from 3.x providers
};
struct StatelessMessage {
  std::string_view payload;
};
/// The client detaches this document (its provider was destroyed or detached).
struct CloseMessage {};

using Body = std::variant<SyncMessage, AwarenessMessage, QueryAwarenessMessage, TokenMessage, StatelessMessage,
                          CloseMessage>;

struct Message {
  std::string_view address;
  std::string_view document;  // address up to the first NUL
  size_t body_offset = 0;     // where the type starts: parse_body(frame.subspan(body_offset))
  Body body;
};

/// Why a frame was refused. Malformed: truncated or invalid varint / length / UTF-8.
/// UnknownMessageType: a type no Hocuspocus version defines. NotFromClient: a type only servers
/// send (BroadcastStateless, SyncStatus, Auth other than Token, Ping). UnknownSyncType: as y-protocols.
class ProtocolError : public DecodeError {
 public:
  enum class Kind { Malformed, UnknownMessageType, NotFromClient, UnknownSyncType };
  ProtocolError(Kind kind, const std::string& what) : DecodeError(what), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

/// True for the bare Pong a 4.x provider answers our Ping with (no address).
bool is_pong(std::span<const uint8_t> frame);

/// Parses a client message. Throws ProtocolError. Bytes after the body are ignored (as Hocuspocus).
Message parse_message(std::span<const uint8_t> frame);
/// Parses the part from the type on (Message::body_offset). Throws ProtocolError.
Body parse_body(std::span<const uint8_t> body);

// Server-to-client encoders: each returns one complete message for document address `address`.
std::vector<uint8_t> encode_sync_step1(std::string_view address, std::span<const uint8_t> state_vector);
std::vector<uint8_t> encode_sync_step2(std::string_view address, std::span<const uint8_t> update);
std::vector<uint8_t> encode_update(std::string_view address, std::span<const uint8_t> update);
std::vector<uint8_t> encode_awareness(std::string_view address, std::span<const uint8_t> awareness_update);
/// Auth Authenticated with scope "readonly" or "read-write".
std::vector<uint8_t> encode_authenticated(std::string_view address, bool read_only);
std::vector<uint8_t> encode_permission_denied(std::string_view address, std::string_view reason);
std::vector<uint8_t> encode_stateless(std::string_view address, std::string_view payload);
std::vector<uint8_t> encode_sync_status(std::string_view address, bool saved);
std::vector<uint8_t> encode_close(std::string_view address, std::string_view reason);
/// The bare Ping (one byte, 9).
std::vector<uint8_t> encode_ping();

}  // namespace collabio::yjs::hocuspocus
