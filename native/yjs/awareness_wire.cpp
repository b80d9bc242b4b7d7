#include "yjs/awareness_wire.h"

#include "yjs/awareness.h"
#include "yjs/lib0.h"

namespace collabio::yjs::awareness_wire {

std::vector<uint8_t> encode(const Message& message) {
  lib0::Encoder enc;
  enc.reserve(message.node.size() + message.update.size() + 16);
  enc.writeUint8(kVersion);
  enc.writeUint8(static_cast<uint8_t>(message.kind));
  enc.writeVarString(message.node);
  if (message.kind == Kind::Update) {
    enc.writeVarUint(message.peer);
    enc.writeVarUint8Array(message.update);
  }
  return enc.take();
}

bool decode(std::span<const uint8_t> bytes, Message& out, std::string& error) {
  try {
    lib0::Decoder dec(bytes);
    if (dec.readUint8() != kVersion) {
      error = "unknown version";
      return false;
    }
    const uint8_t kind = dec.readUint8();
    if (kind > static_cast<uint8_t>(Kind::Query)) {
      error = "unknown kind";
      return false;
    }
    Message m;
    m.kind = static_cast<Kind>(kind);
    m.node = dec.readVarString();
    if (m.node.empty() || m.node.size() > kMaxNodeIdBytes) {
      error = "bad node id";
      return false;
    }
    if (m.kind == Kind::Update) {
      m.peer = dec.readVarUint();
      const auto update = dec.readVarUint8Array();
      (void)awareness::decode_update(update);  // throws DecodeError on a malformed update
      m.update.assign(update.begin(), update.end());
    }
    if (dec.hasContent()) {
      error = "trailing bytes";
      return false;
    }
    out = std::move(m);
    return true;
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
}

}  // namespace collabio::yjs::awareness_wire
