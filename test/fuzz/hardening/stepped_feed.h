// What the WebSocket parser fuzz targets (ws_frame_fuzz, ws_inflate_fuzz) share: feeding the parser
// as WsConnection does, in chunks of input and in steps bounded by the bytes of messages handed on,
// each step checked against Parser::feed's contract. `Sink` is a Parser::Handler that counts
// `messages`, their payload bytes `delivered` and those of the `last` one.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/ws_frame.h"

namespace collabio::fuzz {

// One feed() bounded by `bound`, checked against its contract; returns what it used (npos on error).
template <class Sink>
size_t checked_step(core::ws::Parser& parser, Sink& sink, const std::vector<uint8_t>& pending, uint64_t bound) {
  const uint64_t messages = sink.messages, delivered = sink.delivered;
  const size_t used = parser.feed(pending.data(), pending.size(), sink, bound);
  if (used == core::ws::Parser::npos) return used;
  if (used > pending.size()) __builtin_trap();
  const uint64_t n = sink.messages - messages, bytes = sink.delivered - delivered;
  // Stopped right after the message that reached the bound, never later.
  if (n > 1 && bytes - sink.last >= bound) __builtin_trap();
  // Yielded only at the bound, with bytes left (a whole frame: checked by the next step).
  if (parser.yielded() && (n == 0 || bytes < bound || used == pending.size())) __builtin_trap();
  return used;
}

// Feeds `bytes` in chunks of `step` (0 = all at once) and steps bounded by `bound`; returns whether
// the parser failed (then with an error code, and nothing after the failing frame delivered).
template <class Sink>
bool feed_in_steps(core::ws::Parser& parser, Sink& sink, const uint8_t* bytes, size_t size, size_t step, uint64_t bound) {
  std::vector<uint8_t> pending;
  size_t i = 0;
  while (i < size && !parser.closed()) {
    const size_t take = step == 0 ? size - i : std::min(step, size - i);
    pending.insert(pending.end(), bytes + i, bytes + i + take);
    i += take;
    bool kept = false;  // the last step yielded: a whole frame is waiting
    do {  // after a step that yielded, again with only what it kept
      const size_t used = checked_step(parser, sink, pending, bound);
      if (kept && used == 0) __builtin_trap();  // a yield left nothing to go on with
      if (used == core::ws::Parser::npos) {
        if (parser.error_code() == 0) __builtin_trap();
        return true;
      }
      pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(used));
      kept = parser.yielded();
    } while (kept);
  }
  return false;
}

}  // namespace collabio::fuzz
