// Redis Cluster replies (redis/slots.h): any RESP reply given to parse_cluster_slots, and any
// error text to parse_redirect, yields a slot map / redirection or a refusal, never a crash. What
// they accept stays in range (slots below 16384, ports 1..65535).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "redis/resp.h"
#include "redis/slots.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace redis = collabio::redis;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);  // bytes as chars
  if (auto r = redis::parse_redirect(bytes)) {
    if (r->slot >= redis::kSlotCount || r->port == 0) __builtin_trap();
  }
  redis::RespReader reader;
  if (!reader.feed(bytes)) return 0;
  redis::Reply reply;
  while (reader.next(reply) == redis::RespReader::Status::Reply) {
    std::vector<redis::SlotRange> ranges;
    if (redis::parse_cluster_slots(reply, ranges)) {
      for (const auto& s : ranges) {
        if (s.first > s.last || s.last >= redis::kSlotCount || s.port == 0) __builtin_trap();
      }
    }
    (void)redis::command_slot({"XADD", std::string(bytes.substr(0, 64))});
  }
  return 0;
}
