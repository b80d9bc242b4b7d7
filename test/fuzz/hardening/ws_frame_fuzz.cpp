// libFuzzer target: the RFC 6455 frame parser (native/core/ws_frame.h) on arbitrary client bytes,
// fed the way WsConnection feeds it: whatever arrived, keeping the unconsumed tail, in steps whose
// output is bounded (after a step that yielded, again with only what it kept), in chunk sizes and
// with a bound the input chooses. Invariants: feed() never claims more bytes than it was given;
// after an error nothing more is delivered; delivered text is valid UTF-8 and no message exceeds
// the limit; a step stops right after the message that reaches its bound, and yields only then,
// before a whole frame (the next step makes progress); splitting the input differently, and
// bounding the steps, yields the same messages.
// Seed corpus: test/fuzz/corpus/ws_frame/.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/ws_frame.h"
#include "stepped_feed.h"

using namespace collabio::core::ws;

namespace {

constexpr uint64_t kMaxMessage = 1 << 16;

struct Sink : Parser::Handler {
  std::vector<std::string> events;  // "m<payload>" / "b<payload>" / "i" / "o" / "c<code>"
  uint64_t messages = 0;   // data messages
  uint64_t delivered = 0;  // their payload bytes
  uint64_t last = 0;       // those of the last one
  void on_message(bool binary, std::string&& payload) override {
    ++messages;
    delivered += payload.size();
    last = payload.size();
    if (payload.size() > kMaxMessage) __builtin_trap();
    if (!binary && !valid_utf8(payload)) __builtin_trap();
    events.push_back((binary ? "b" : "m") + payload);
  }
  void on_ping(std::string_view p) override {
    if (p.size() > 125) __builtin_trap();
    events.push_back("i" + std::string(p));
  }
  void on_pong(std::string_view p) override {
    if (p.size() > 125) __builtin_trap();
    events.push_back("o" + std::string(p));
  }
  void on_close(uint16_t code, std::string_view reason) override {
    events.push_back("c" + std::to_string(code) + std::string(reason));
  }
};

// Feeds `bytes` in chunks of `step` (0 = all at once) and steps bounded by `bound`; returns what was
// delivered and whether the parser failed.
Sink run(const uint8_t* bytes, size_t size, size_t step, uint64_t bound, bool& failed) {
  Parser parser(kMaxMessage);
  Sink sink;
  failed = collabio::fuzz::feed_in_steps(parser, sink, bytes, size, step, bound);
  if (failed && parser.error().empty()) __builtin_trap();
  return sink;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = data[0] % 17;  // 0: everything at once
  // Bit 7 clear: steps bounded at 0..7 x 37 bytes of messages (0 still delivers one per step).
  const uint64_t bound = (data[0] & 0x80) ? UINT64_MAX : uint64_t{(data[0] >> 4) & 7u} * 37;
  bool failed_whole = false, failed_chunked = false;
  const Sink whole = run(data + 1, size - 1, 0, UINT64_MAX, failed_whole);
  const Sink chunked = run(data + 1, size - 1, step, bound, failed_chunked);
  // Splitting and bounding must not change the outcome.
  if (failed_whole != failed_chunked || whole.events != chunked.events) __builtin_trap();
  valid_utf8(std::string_view(reinterpret_cast<const char*>(data), size));  // bytes as text
  return 0;
}
