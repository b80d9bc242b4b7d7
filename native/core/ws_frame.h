// RFC 6455 WebSocket framing, server side, as a pure codec (no sockets).
//
// Why our own framing instead of boost::beast::websocket::stream: Beast's stream writes one message
// per system call and answers pings on its own write path, so it cannot cork several queued
// messages into one gather write. Server frames are unmasked, which makes an encoded frame identical
// for every recipient: a broadcast is framed once and the same bytes are queued to every socket.
// Beast still parses the HTTP upgrade request (native/core/http_session.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include <boost/container/small_vector.hpp>

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
  kTryAgainLater = 1013,
};

// Encodes a whole unmasked frame (FIN set) into one contiguous string: header then payload.
// `rsv1` marks a permessage-deflate compressed message (RFC 7692 section 6).
std::string encode_frame(Opcode op, std::string_view payload, bool rsv1 = false);
// The same for the payload `head` followed by `tail`, copied once: encode_frame(op, "4", "2[]")
// equals encode_frame(op, "42[]").
std::string encode_frame(Opcode op, std::string_view head, std::string_view tail, bool rsv1 = false);
// Length of the header encode_frame puts before a payload of `payload_size` bytes.
size_t header_size(size_t payload_size);

// What write queues hold: the bytes of one whole frame (or of a raw HTTP response written before
// the first frame), immutable and shared, so a broadcast is framed once and every recipient's
// queue points at the same buffer.
class OutFrame {
 public:
  // `compressible`: a data frame that permessage-deflate may compress (not compress(false), not
  // a control frame, not raw bytes).
  OutFrame(std::string bytes, bool compressible, size_t payload_offset)
      : bytes_(std::move(bytes)), payload_offset_(payload_offset), compressible_(compressible) {}

  const char* data() const { return bytes_.data(); }
  size_t size() const { return bytes_.size(); }
  std::string_view bytes() const { return bytes_; }
  std::string_view payload() const { return std::string_view(bytes_).substr(payload_offset_); }
  bool compressible() const { return compressible_; }

  // The same message as one compressed frame (RSV1 set), deflated without context takeover with a
  // window of 2^window_bits bytes at `level`: identical for every connection that negotiated
  // server_no_context_takeover with that window, so it is computed once per frame (the first
  // caller compresses, others wait and share it). Null when compression would not make the frame
  // smaller. One window size is cached; another one is compressed on every call. Thread-safe.
  std::shared_ptr<const OutFrame> deflated(int window_bits, int level) const;

 private:
  const std::string bytes_;
  const size_t payload_offset_;
  const bool compressible_;
  // The cache of deflated(): guarded by mu_.
  mutable std::mutex mu_;
  mutable int cached_bits_ = 0;  // 0: nothing cached yet
  mutable std::shared_ptr<const OutFrame> cached_;
};
using Frame = std::shared_ptr<const OutFrame>;
// The frames of one message and its attachments, the usual one or two held without allocating.
using Frames = boost::container::small_vector<Frame, 2>;
// A data or control frame; data frames are compressible unless `compressible` is false.
Frame make_frame(Opcode op, std::string_view payload, bool compressible = true);
// A data frame whose payload is `head` followed by `tail` (see encode_frame).
Frame make_frame(Opcode op, std::string_view head, std::string_view tail, bool compressible = true);
// A compressible binary data frame holding `message` (what the y-websocket and Hocuspocus
// document protocols send).
Frame binary_frame(std::span<const uint8_t> message);
// Bytes written as they are, before any frame (the 101 response): never compressed.
Frame raw_bytes(std::string bytes);
// The frame carrying `original`'s message as the permessage-deflate payload `body` (RSV1 set).
Frame make_compressed_frame(const OutFrame& original, std::string_view body);
// A close frame carrying `code` and a UTF-8 reason (truncated to fit 125 bytes); code 0 sends an
// empty close frame (no status), as socket.io does when it drops a client for a bad packet.
std::string encode_close(uint16_t code, std::string_view reason);
// True when `s` is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool valid_utf8(std::string_view s);

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key; empty if the key is not the base64 of 16
// bytes (RFC 6455 4.2.1 item 5).
std::string accept_key(std::string_view client_key);

// Incremental parser for client-to-server frames. Feed it bytes; it calls back with whole messages
// (fragments reassembled) and control frames. It enforces: frames must be masked, reserved bits
// clear (RSV1 only on the first frame of a data message, and only when permessage-deflate was
// negotiated), control frames unfragmented and <= 125 bytes, continuation only inside a fragmented
// message, message size <= max_message (compressed as received, and again once inflated: a
// message that inflates past it fails with 1009 as soon as the limit is crossed, so a
// decompression bomb costs at most max_message bytes of work), text valid UTF-8.
class Parser {
 public:
  struct Handler {
    virtual ~Handler() = default;
    virtual void on_message(bool binary, std::string&& payload) = 0;
    virtual void on_ping(std::string_view payload) = 0;
    virtual void on_pong(std::string_view payload) = 0;
    virtual void on_close(uint16_t code, std::string_view reason) = 0;
  };

  // `deflate`: permessage-deflate was negotiated, with client_no_context_takeover (every message
  // inflates on its own; native/core/ws_deflate.h).
  explicit Parser(uint64_t max_message, bool deflate = false) : max_message_(max_message), deflate_(deflate) {}

  // Consumes as much of `data` as forms whole frames and returns how many bytes were used; the
  // caller keeps the rest and calls again with more. On a protocol violation returns npos and sets
  // error()/error_code(); the connection must then be closed with that code.
  //
  // `max_delivered` bounds one call's output: once the data messages it delivered reach that many
  // payload bytes (inflated, when compressed), it returns before the next whole frame, and
  // yielded() says so. The caller keeps the rest and calls again, without waiting for new input,
  // when it is ready for more. A message is never split, and a call given a whole message delivers
  // it, the one that reaches the bound included. Why: with permessage-deflate a 64 KiB read can
  // inflate to ~64 MB (~1000:1 on repetitive text); the bound lets the reader ask its inbound
  // budget between steps (native/core/ws_connection.cpp). Example: two 100-byte messages fed with
  // max_delivered = 50 give one message and yielded(); the next call gives the other.
  static constexpr size_t npos = static_cast<size_t>(-1);
  size_t feed(const uint8_t* data, size_t size, Handler& handler, uint64_t max_delivered = UINT64_MAX);
  // The last feed() stopped at max_delivered before a whole frame: calling again with what it
  // left makes progress. False when it stopped for want of bytes (an incomplete frame, or none).
  bool yielded() const { return yielded_; }

  uint16_t error_code() const { return error_code_; }
  const std::string& error() const { return error_; }
  // Stops delivering after a Close frame was seen.
  bool closed() const { return closed_; }

 private:
  size_t fail(uint16_t code, std::string msg);

  uint64_t max_message_;
  bool deflate_;
  std::string message_;     // fragments of the message being assembled
  bool in_message_ = false;
  bool message_binary_ = false;
  bool message_compressed_ = false;  // RSV1 on its first frame
  bool closed_ = false;
  bool yielded_ = false;
  uint16_t error_code_ = 0;
  std::string error_;
};

}  // namespace collabio::core::ws
