// Engine.IO v4 packet codec: single text packets, the open packet, handshake error bodies and the
// long-polling payload format. Plain C++; no I/O. Spec: socket.io repo
// docs/engine.io-protocol/v4-current.md; reference: packages engine.io-parser and engine.io.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace collabio::engineio {

/// Engine.IO packet types; the wire form of a text packet is the decimal digit followed by data.
enum class PacketType : uint8_t { Open = 0, Close = 1, Ping = 2, Pong = 3, Message = 4, Upgrade = 5, Noop = 6 };

/// Handshake error codes sent as `{"code":N,"message":"..."}` with HTTP 400 (403 for Forbidden).
enum class ErrorCode : int {
  UnknownTransport = 0,
  UnknownSid = 1,
  BadHandshakeMethod = 2,
  BadRequest = 3,
  Forbidden = 4,
  UnsupportedProtocolVersion = 5,
};

/// Splits one text packet (a WebSocket text frame, or one element of a polling payload) into its
/// type and data. `data` points into `in`. Returns false for an empty input or a first character
/// that is not '0'..'6'. Example: "4hello" -> Message, "hello"; "2" -> Ping, "".
bool parse_text_packet(std::string_view in, PacketType& type, std::string_view& data);

/// The open packet exactly as engine.io v4 writes it (key order and compact JSON included):
/// `0{"sid":"…","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`
/// `upgrades` is `[]` when `can_upgrade` is false (a session opened directly over WebSocket).
std::string open_packet(std::string_view sid, bool can_upgrade, uint32_t ping_interval, uint32_t ping_timeout,
                        uint64_t max_payload);

/// A new session id: 15 random bytes from the operating system's CSPRNG, as 20 characters of the
/// url-safe base64 alphabet (same shape as engine.io's base64id). Safe to call from any thread.
std::string generate_sid();

/// The JSON body of a handshake error, e.g. error_json(0) == `{"code":0,"message":"Transport unknown"}`.
/// Codes outside 0..5 are reported as 3 "Bad request".
std::string error_json(int code);
inline std::string error_json(ErrorCode code) { return error_json(static_cast<int>(code)); }
/// Same with a custom message (e.g. the one allowRequest gave); "" uses the code's default.
/// error_json(4, "no") == `{"code":4,"message":"no"}`.
std::string error_json(int code, std::string_view message);
/// engine.io's Server.errorMessages[code] ("Bad request" for codes outside 0..5).
std::string_view error_message(int code);

/// One packet of a long-polling payload.
struct PollingPacket {
  bool binary = false;
  /// Text packet: "<type digit><data>". Binary packet: the raw bytes of a binary message.
  std::string data;
};

/// The record separator between packets of a polling payload.
inline constexpr char kPayloadSeparator = '\x1e';

/// Decodes a polling body: packets separated by '\x1e'; each one is a text packet (type digit
/// first) or 'b' followed by the base64 of a binary message. Returns false (and leaves `out` with
/// the packets decoded before the bad one) on an empty body, an empty element, an unknown type or
/// bad base64. Mirrors engine.io-parser decodePayload, which stops at the first error packet.
bool decode_payload(std::string_view body, std::vector<PollingPacket>& out);

/// Appends packet number `index` (from 0) of a polling body to `out`: the '\x1e' separator before
/// every packet but the first, then a text packet as is or a binary one as 'b' + base64.
/// Example: index 0, text "4hi" then index 1, binary {1,2} give "4hi\x1ebAQI=".
void append_to_payload(std::string& out, size_t index, bool binary, std::string_view data);

/// Encodes packets into a polling body (append_to_payload for each).
std::string encode_payload(const std::vector<PollingPacket>& packets);

/// Standard base64 with padding (the alphabet engine.io-parser uses for binary over polling).
std::string base64_encode(std::string_view bytes);

/// Decodes standard or url-safe base64; padding is optional. Returns false on any other character,
/// misplaced padding or an impossible length.
bool base64_decode(std::string_view text, std::string& out);

}  // namespace collabio::engineio
