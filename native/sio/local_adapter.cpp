#include "sio/local_adapter.h"

namespace collabio::sio {

void LocalAdapter::join(const std::string& nsp, uint64_t conn, const std::vector<std::string>& rooms) {
  for (const auto& r : rooms) rooms_.join(nsp, conn, r);
}

void LocalAdapter::broadcast(const Broadcast& b) {
  std::vector<uint64_t> ids;
  recipients(b, ids);
  if (ids.empty()) return;
  out_.deliver(ids, b.packet, b.attachments, b.is_volatile, b.compress);
}

}  // namespace collabio::sio
