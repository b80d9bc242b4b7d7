// libFuzzer target: awareness (presence) updates from several connections into one Registry, as a
// document's strand applies them (native/yjs/awareness.h). The input is a list of chunks, each
// `conn:u8 len:u16le bytes`; every chunk is applied for connection conn % 4, then connections
// leave and states expire. Invariants: what the registry broadcasts decodes; encode_all() decodes
// and lists exactly size() non-null states; no connection owns more than kMaxClientsPerConnection.
// Seed corpus: test/fuzz/corpus/awareness/.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "yjs/awareness.h"
#include "yjs/lib0.h"

using namespace collabio::yjs;

namespace {

void must_decode(const std::vector<uint8_t>& update) {
  if (update.empty()) return;
  try {
    awareness::decode_update(update);
  } catch (const DecodeError&) {
    __builtin_trap();
  }
}

void check(const awareness::Registry& r) {
  const auto all = r.encode_all();
  if (all.empty()) {
    if (r.size() != 0) __builtin_trap();
    return;
  }
  std::vector<awareness::Entry> entries;
  try {
    entries = awareness::decode_update(all);
  } catch (const DecodeError&) {
    __builtin_trap();
  }
  if (entries.size() != r.size()) __builtin_trap();
  for (const auto& e : entries)
    if (awareness::is_null_state(e.state)) __builtin_trap();
  for (uint64_t c = 0; c < 4; ++c)
    if (r.clients_of(c).size() > awareness::kMaxClientsPerConnection) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  awareness::Registry same(awareness::RemovalClock::Same);
  awareness::Registry incr(awareness::RemovalClock::Increment);
  int64_t now = 0;
  size_t i = 0;
  while (i + 3 <= size) {
    const uint64_t conn = data[i] % 4;
    const size_t n = data[i + 1] | (size_t(data[i + 2]) << 8);
    i += 3;
    const size_t take = n < size - i ? n : size - i;
    const std::span<const uint8_t> update(data + i, take);
    i += take;
    now += 1000;
    for (auto* r : {&same, &incr}) {
      try {
        must_decode(r->apply(conn, update, now).broadcast);
      } catch (const DecodeError&) {
      }
      check(*r);
    }
  }
  for (auto* r : {&same, &incr}) {
    must_decode(r->remove_connection(1));
    check(*r);
    must_decode(r->expire(now + awareness::kOutdatedTimeoutMs + 1));
    check(*r);
  }
  return 0;
}
