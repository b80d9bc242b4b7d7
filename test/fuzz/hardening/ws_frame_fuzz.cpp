// libFuzzer target: the RFC 6455 frame parser (native/core/ws_frame.h) on arbitrary client bytes,
// fed the way WsConnection feeds it (whatever arrived, keeping the unconsumed tail), in chunks whose
// sizes the input chooses. Invariants: feed() never claims more bytes than it was given; after an
// error nothing more is delivered; delivered text is valid UTF-8 and no message exceeds the limit;
// splitting the input differently yields the same messages.
// Seed corpus: test/fuzz/corpus/ws_frame/.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/ws_frame.h"

using namespace collabio::core::ws;

namespace {

constexpr uint64_t kMaxMessage = 1 << 16;

struct Sink : Parser::Handler {
  std::vector<std::string> events;  // "m<payload>" / "b<payload>" / "i" / "o" / "c<code>"
  void on_message(bool binary, std::string&& payload) override {
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

// Feeds `bytes` in chunks of `step` (0 = all at once); returns what was delivered and whether the
// parser failed.
Sink run(const uint8_t* bytes, size_t size, size_t step, bool& failed) {
  Parser parser(kMaxMessage);
  Sink sink;
  std::vector<uint8_t> pending;
  failed = false;
  size_t i = 0;
  while (i < size) {
    const size_t take = step == 0 ? size - i : std::min(step, size - i);
    pending.insert(pending.end(), bytes + i, bytes + i + take);
    i += take;
    const size_t used = parser.feed(pending.data(), pending.size(), sink);
    if (used == Parser::npos) {
      if (parser.error_code() == 0 || parser.error().empty()) __builtin_trap();
      failed = true;  // nothing after the failing frame is delivered
      break;
    }
    if (used > pending.size()) __builtin_trap();
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(used));
    if (parser.closed()) break;
  }
  return sink;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = data[0] % 17;  // 0: everything at once
  bool failed_whole = false, failed_chunked = false;
  const Sink whole = run(data + 1, size - 1, 0, failed_whole);
  const Sink chunked = run(data + 1, size - 1, step, failed_chunked);
  // Splitting must not change the outcome.
  if (failed_whole != failed_chunked || whole.events != chunked.events) __builtin_trap();
  valid_utf8(std::string_view(reinterpret_cast<const char*>(data), size));  // bytes as text
  return 0;
}
