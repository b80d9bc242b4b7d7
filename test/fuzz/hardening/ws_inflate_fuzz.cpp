// libFuzzer target: the inflating side of permessage-deflate (native/core/ws_deflate.h and the
// RSV1 path of ws::Parser) on arbitrary client bytes. Byte 0 picks the chunk step and the bound on
// each step's inflated output, as in ws_frame_fuzz; the rest is fed to a Parser that negotiated
// deflate, then used three more ways: as a compressed message for inflate_message, as a
// Sec-WebSocket-Extensions offer, and as a message that must survive deflate_message ->
// inflate_message unchanged.
// Invariants: no message exceeds the limit, even inflated (a bomb fails with 1009); delivered text
// is UTF-8; a step stops right after the message whose inflated bytes reach its bound, and yields
// only then, before a whole frame; splitting the input and bounding the steps do not change the
// outcome; inflate_message never returns more than the limit; the round trip is exact; a
// negotiated window is in 9..15.
// Seed corpus: test/fuzz/corpus/ws_inflate/.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/ws_deflate.h"
#include "core/ws_frame.h"
#include "stepped_feed.h"

using namespace collabio::core::ws;

namespace {

constexpr uint64_t kMaxMessage = 1 << 16;

struct Sink : Parser::Handler {
  std::vector<std::string> events;
  uint64_t messages = 0;   // data messages
  uint64_t delivered = 0;  // their payload bytes, inflated
  uint64_t last = 0;       // those of the last one
  void on_message(bool binary, std::string&& payload) override {
    ++messages;
    delivered += payload.size();
    last = payload.size();
    if (payload.size() > kMaxMessage) __builtin_trap();
    if (!binary && !valid_utf8(payload)) __builtin_trap();
    events.push_back((binary ? "b" : "m") + payload);
  }
  void on_ping(std::string_view p) override { events.push_back("i" + std::string(p)); }
  void on_pong(std::string_view p) override { events.push_back("o" + std::string(p)); }
  void on_close(uint16_t code, std::string_view) override { events.push_back("c" + std::to_string(code)); }
};

Sink run(const uint8_t* bytes, size_t size, size_t step, uint64_t bound, bool& failed, uint16_t& code) {
  Parser parser(kMaxMessage, true);
  Sink sink;
  failed = collabio::fuzz::feed_in_steps(parser, sink, bytes, size, step, bound);
  code = failed ? parser.error_code() : 0;
  return sink;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = data[0] % 17;
  // Bit 7 clear: steps bounded at 0..7 x 4 KiB of inflated messages.
  const uint64_t bound = (data[0] & 0x80) ? UINT64_MAX : uint64_t{(data[0] >> 4) & 7u} * 4096;
  bool failed_whole = false, failed_chunked = false;
  uint16_t code_whole = 0, code_chunked = 0;
  const Sink whole = run(data + 1, size - 1, 0, UINT64_MAX, failed_whole, code_whole);
  const Sink chunked = run(data + 1, size - 1, step, bound, failed_chunked, code_chunked);
  if (failed_whole != failed_chunked || code_whole != code_chunked || whole.events != chunked.events) __builtin_trap();

  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  // The bytes as one compressed message, with a small limit so that bombs are common.
  std::string out;
  const uint64_t limit = 1 + data[0] * 64u;
  const InflateResult r = inflate_message(rest, limit, out);
  if (r == InflateResult::Ok && out.size() > limit) __builtin_trap();
  if (r != InflateResult::Ok && !out.empty()) __builtin_trap();

  // The bytes as an extension offer.
  DeflateOptions on;
  on.enabled = true;
  std::string response;
  if (const auto d = negotiate_deflate(rest, on, response)) {
    if (d->window_bits < 9 || d->window_bits > 15 || response.empty()) __builtin_trap();
  } else if (!response.empty()) {
    __builtin_trap();
  }

  // The bytes as a message: what we deflate inflates back to it exactly.
  const int bits = 9 + data[0] % 7;
  const std::string z = deflate_message(rest, bits, data[0] % 10);
  if (inflate_message(z, rest.size(), out) != InflateResult::Ok || out != rest) __builtin_trap();
  return 0;
}
