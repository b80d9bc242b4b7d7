// RFC 6455 WebSocket framing, server side, as a pure codec (no sockets).
//
// Why our own framing instead of boost::beast::websocket::stream: Beast's stream writes one message
// per system call and answers pings on its own write path, so it cannot cork several queued
// messages into one gather write. Server frames are unmasked, which makes an encoded frame identical
// for every recipient: a broadcast is framed once and the same bytes are queued to every socket.
// Beast still parses the HTTP upgrade request (native/core/http.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace collabio::core::ws {

enum class Opcode : uint8_t { Continuation = 0, Text = 1, Binary = 2, Close = 8, Ping = 9, Pong = 10 };

// Close codes we send (RFC 6455 section 7.4.1).
enum CloseCode : uint16_t {
  kNormal = 1000,
  kGoingAway = 1001,
  kProtocolError = 1002,
  kInvalidPayload = 1007,
  kPolicyViolation = 1008,
  kTooBig = 1009,
  kInternalError = 1011,
};

// Encodes a whole unmasked frame (FIN set) into one contiguous string: header then payload.
std::string encode_frame(Opcode op, std::string_view payload);
// Same, shared and immutable: what write queues hold, so a broadcast is framed once.
using Frame = std::shared_ptr<const std::string>;
Frame make_frame(Opcode op, std::string_view payload);
// A close frame carrying `code` and a UTF-8 reason (truncated to fit 125 bytes); code 0 sends an
// empty close frame (no status), as socket.io does when it drops a client for a bad packet.
std::string encode_close(uint16_t code, std::string_view reason);
// Length of the header encode_frame puts before a payload of `payload_size` bytes.
size_t header_size(size_t payload_size);

// True when `s` is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool valid_utf8(std::string_view s);

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key; empty if the key is not the base64 of 16
// bytes (RFC 6455 4.2.1 item 5).
std::string accept_key(std::string_view client_key);

// Incremental parser for client-to-server frames. Feed it bytes; it calls back with whole messages
// (fragments reassembled) and control frames. It enforces: frames must be masked, reserved bits
// clear (we negotiate no extension), control frames unfragmented and <= 125 bytes, continuation
// only inside a fragmented message, message size <= max_message, text valid UTF-8.
class Parser {
 public:
  struct Handler {
    virtual ~Handler() = default;
    virtual void on_message(bool binary, std::string&& payload) = 0;
    virtual void on_ping(std::string_view payload) = 0;
    virtual void on_pong(std::string_view payload) = 0;
    virtual void on_close(uint16_t code, std::string_view reason) = 0;
  };

  explicit Parser(uint64_t max_message) : max_message_(max_message) {}

  // Consumes as much of `data` as forms whole frames and returns how many bytes were used; the
  // caller keeps the rest and calls again with more. On a protocol violation returns npos and sets
  // error()/error_code(); the connection must then be closed with that code.
  static constexpr size_t npos = static_cast<size_t>(-1);
  size_t feed(const uint8_t* data, size_t size, Handler& handler);

  uint16_t error_code() const { return error_code_; }
  const std::string& error() const { return error_; }
  // Stops delivering after a Close frame was seen.
  bool closed() const { return closed_; }

 private:
  size_t fail(uint16_t code, std::string msg);

  uint64_t max_message_;
  std::string message_;     // fragments of the message being assembled
  bool in_message_ = false;
  bool message_binary_ = false;
  bool closed_ = false;
  uint16_t error_code_ = 0;
  std::string error_;
};

}  // namespace collabio::core::ws
