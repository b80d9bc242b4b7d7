// Socket.IO v5 packet codec (the text carried inside an Engine.IO `4` message packet).
// Wire form: `<type>[<attachments>-][<nsp>,][<ack id>][<JSON>]`, namespace omitted for "/".
// Spec: socket.io repo docs/socket.io-protocol/v5-current.md; validity rules follow
// socket.io-parser 4.2 (Decoder#decodeString, Decoder.isPayloadValid, reconstructPacket).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace collabio::socketio {

enum class PacketType : uint8_t { Connect = 0, Disconnect = 1, Event = 2, Ack = 3, ConnectError = 4, BinaryEvent = 5, BinaryAck = 6 };

/// Default bound on attachments per packet (socket.io-parser Decoder option maxAttachments).
inline constexpr uint32_t kDefaultMaxAttachments = 10;

/// A decoded packet header plus a view of its payload.
///
/// `data` points into the text given to parse_packet, so that text must outlive the packet.
struct Packet {
  PacketType type = PacketType::Connect;
  std::string nsp = "/";
  std::optional<uint64_t> id;
  /// Raw JSON text after the header, verbatim (may be empty: no payload).
  std::string_view data;
  /// BINARY_EVENT / BINARY_ACK: number of binary frames that follow (>= 1). Otherwise 0.
  uint32_t attachments = 0;
};

/// Event names a client may not emit (socket.io-parser RESERVED_EVENTS).
bool is_reserved_event(std::string_view name);

/// Parses the text after the Engine.IO `4`. On failure returns false and sets `error` to a short
/// reason; the caller emits it as an `error` on the client's sockets and closes the connection with
/// reason "forced close" (socket.io's Client#onerror).
///
/// Rules (server side): type digit 0..6; BINARY_* carry `<n>-` with 1 <= n <= max_attachments;
/// a namespace, when present, starts with '/' and runs to ',' (or the end); an ack id is decimal
/// digits that fit in uint64; the payload, when present, is valid JSON and: CONNECT an object;
/// DISCONNECT nothing; CONNECT_ERROR an object or a string; EVENT / BINARY_EVENT an array whose
/// first element is a string that is not a reserved name once its escapes are decoded (or a
/// number, which socket.io-parser accepts too); ACK / BINARY_ACK an array.
/// EVENT, BINARY_EVENT, ACK and BINARY_ACK require a payload.
/// Examples: `0{"token":"abc"}`, `0/admin,`, `2["hey","Jude"]`, `212["hello"]`, `312[]`,
/// `51-["ev",{"_placeholder":true,"num":0}]`.
bool parse_packet(std::string_view text, Packet& out, std::string& error,
                  uint32_t max_attachments = kDefaultMaxAttachments);

/// Checks the placeholders of a reassembled binary packet: every object whose `_placeholder` is
/// `true` must have an integer `num` with 0 <= num < attachments (socket.io-parser throws "illegal
/// attachments" otherwise), and every attachment index must be used by some placeholder.
/// `json` must already be valid (parse_packet checked it).
bool check_placeholders(std::string_view json, uint32_t attachments, std::string& error);

/// Encodes a header: `<type>[<n>-][<nsp>,][<id>]`; the namespace is omitted for "/" (or empty),
/// the attachment count is written only for BINARY_EVENT / BINARY_ACK.
/// Example: encode_header(BinaryAck, "/admin", 7, 2) == "62-/admin,7".
std::string encode_header(PacketType type, std::string_view nsp, std::optional<uint64_t> id, uint32_t attachments);

/// Encodes a whole packet: encode_header(...) followed by the JSON payload text.
std::string encode_packet(PacketType type, std::string_view nsp, std::optional<uint64_t> id, uint32_t attachments,
                          std::string_view json);

}  // namespace collabio::socketio
