// permessage-deflate (RFC 7692) as pure functions over zlib: the negotiation of one connection's
// Sec-WebSocket-Extensions header, and the compression and inflation of one message.
//
// What we negotiate, and why: the server always answers with server_no_context_takeover and
// client_no_context_takeover. Without context takeover a message compresses the same whatever was
// sent before it, so a broadcast is deflated once and the same compressed frame is shared by
// every recipient (ws::OutFrame::deflated), as uncompressed frames are; and neither side keeps a
// zlib stream per connection between messages (an idle connection holds no 32 KiB window; the
// streams are per I/O thread and reset per message). The cost is ratio: each message starts with
// an empty window. RFC 7692 section 7.1.1 lets a server send both parameters whatever the offer.
#pragma once

#include <cstdint>
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
};

// Server-side configuration (socket.io's perMessageDeflate: { threshold, zlibDeflateOptions.level,
// serverMaxWindowBits }).
struct DeflateOptions {
  bool enabled = false;
  uint64_t threshold = 1024;  // messages shorter than this (payload bytes) are sent uncompressed
  int level = -1;
  int max_window_bits = 15;   // 9..15
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

enum class InflateResult { Ok, TooBig, Invalid };
// Inflates one message received without context takeover (RFC 7692 section 7.2.2: the 00 00 FF FF
// tail is added back here). Stops with TooBig as soon as the output would exceed `max_size`.
InflateResult inflate_message(std::string_view compressed, uint64_t max_size, std::string& out);

}  // namespace collabio::core::ws
