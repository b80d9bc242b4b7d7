// permessage-deflate (RFC 7692) as pure functions over zlib: the negotiation of one connection's
// Sec-WebSocket-Extensions header, and the compression and inflation of one message.
//
// What we negotiate, and why: by default the server answers with server_no_context_takeover and
// client_no_context_takeover (with DeflateOptions::server_context_takeover, the first is left out
// and the connection gets its own stream: ContextDeflater below). Without context takeover a message compresses the same whatever was
// sent before it, so a broadcast is deflated once and the same compressed frame is shared by
// every recipient (ws::OutFrame::deflated), as uncompressed frames are; and neither side keeps a
// zlib stream per connection between messages (an idle connection holds no 32 KiB window; the
// streams are per I/O thread and reset per message). The cost is ratio: each message starts with
// an empty window. RFC 7692 section 7.1.1 lets a server send both parameters whatever the offer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace collabio::core::ws {

// A connection's negotiated permessage-deflate parameters.
struct Deflate {
  bool enabled = false;
  int window_bits = 15;  // our deflate window: server_max_window_bits if the client limited it
  int level = -1;        // zlib level (-1: zlib's default, 6)
  uint64_t threshold = 1024;  // DeflateOptions::threshold
  // The server keeps its LZ77 window from message to message on this connection (the client did
  // not ask for server_no_context_takeover and the server allows it): messages are compressed by
  // the connection's own ContextDeflater, not shared.
  bool context_takeover = false;
};

// Server-side configuration (socket.io's perMessageDeflate: { threshold, zlibDeflateOptions.level,
// serverMaxWindowBits }).
struct DeflateOptions {
  bool enabled = false;
  uint64_t threshold = 1024;  // messages shorter than this (payload bytes) are sent uncompressed
  int level = -1;
  int max_window_bits = 15;   // 9..15
  // ws's serverNoContextTakeover: false. Off by default: with it each connection compresses its
  // own copy of every message (better ratio on streams of similar messages, ~300 KB of zlib state
  // per connection while it sends, and CPU per recipient instead of per broadcast).
  bool server_context_takeover = false;
};

// Picks the first acceptable permessage-deflate offer in a Sec-WebSocket-Extensions value (all
// the request's header lines joined by ", "). Returns the parameters and sets `response` to the
// value of the response's Sec-WebSocket-Extensions header; nullopt (and `response` empty) when no
// offer is acceptable, in which case the connection runs uncompressed. An offer is declined when
// it repeats or misspells a parameter, or has a value out of range (RFC 7692 section 7.1), or asks
// for server_max_window_bits=8 (zlib cannot deflate with a 256-byte window).
std::optional<Deflate> negotiate_deflate(std::string_view offers, const DeflateOptions& options, std::string& response);

// Compresses one message without context takeover (a fresh window), ends it with a sync flush
// and drops the final 00 00 FF FF (RFC 7692 section 7.2.1). `window_bits` in 9..15.
std::string deflate_message(std::string_view payload, int window_bits, int level);

// A connection's own deflate stream, for server context takeover: each message is compressed
// against the ones before it (RFC 7692 section 7.2.1: sync flush, 00 00 FF FF dropped). Created
// on the connection's first compressed message. Not thread-safe: its owner serializes calls, in
// the order the messages go on the wire.
class ContextDeflater {
 public:
  ContextDeflater(int window_bits, int level);
  ~ContextDeflater();
  ContextDeflater(const ContextDeflater&) = delete;
  ContextDeflater& operator=(const ContextDeflater&) = delete;
  // The compressed payload; empty when zlib failed (the caller then closes the connection: the
  // peer's window would no longer match).
  std::string compress(std::string_view payload);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

enum class InflateResult { Ok, TooBig, Invalid };
// Inflates one message received without context takeover (RFC 7692 section 7.2.2: the 00 00 FF FF
// tail is added back here). Stops with TooBig as soon as the output would exceed `max_size`.
InflateResult inflate_message(std::string_view compressed, uint64_t max_size, std::string& out);

}  // namespace collabio::core::ws
