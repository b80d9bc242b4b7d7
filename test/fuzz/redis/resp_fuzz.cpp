// RESP reader: any bytes, fed in pieces as a socket would deliver them, give replies or a
// protocol error, never a crash, a leak or unbounded allocation. The first byte picks the chunk
// size, so the same reply is also parsed across every kind of split.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "redis/resp.h"

namespace {
size_t count_nodes(const collabio::redis::Reply& r) {
  size_t n = 1;
  for (const auto& e : r.elements) n += count_nodes(e);
  return n;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 64;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);  // bytes as chars
  collabio::redis::RespReader reader;
  collabio::redis::Reply reply;
  size_t nodes = 0;
  for (size_t i = 0; i < bytes.size(); i += chunk) {
    if (!reader.feed(bytes.substr(i, chunk))) return 0;
    for (;;) {
      const auto status = reader.next(reply);
      if (status == collabio::redis::RespReader::Status::ProtocolError) return 0;
      if (status == collabio::redis::RespReader::Status::Incomplete) break;
      nodes += count_nodes(reply);
    }
  }
  return nodes == static_cast<size_t>(-1) ? 1 : 0;
}
