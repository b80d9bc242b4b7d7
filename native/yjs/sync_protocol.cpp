// y-websocket message framing; contracts in sync_protocol.h.
#include "yjs/sync_protocol.h"

namespace collabio::yjs::sync {

namespace {

Message parse_body(lib0::Decoder& d) {
  const uint64_t type = d.readVarUint();
  switch (type) {
    case static_cast<uint64_t>(MessageType::Sync): {
      const uint64_t sub = d.readVarUint();
      if (sub > static_cast<uint64_t>(SyncType::Update)) {
        throw ProtocolError(ProtocolError::Kind::UnknownSyncType,
                            "y-websocket: unknown sync message type " + std::to_string(sub));
      }
      return SyncMessage{static_cast<SyncType>(sub), d.readVarUint8Array()};
    }
    case static_cast<uint64_t>(MessageType::Awareness):
      return AwarenessMessage{d.readVarUint8Array()};
    case static_cast<uint64_t>(MessageType::Auth): {
      AuthMessage m{d.readVarUint(), {}};
      if (m.kind == 0) m.reason = d.readVarString();
      return m;
    }
    case static_cast<uint64_t>(MessageType::QueryAwareness):
      return QueryAwarenessMessage{};
    default:
      throw ProtocolError(ProtocolError::Kind::UnknownMessageType,
                          "y-websocket: unknown message type " + std::to_string(type));
  }
}

std::vector<uint8_t> frame(MessageType type, std::span<const uint8_t> body) {
  lib0::Encoder e;
  e.writeVarUint(static_cast<uint64_t>(type));
  e.writeVarUint8Array(body);
  return e.take();
}

std::vector<uint8_t> sync_frame(SyncType type, std::span<const uint8_t> data) {
  lib0::Encoder e;
  e.writeVarUint(static_cast<uint64_t>(MessageType::Sync));
  e.writeVarUint(static_cast<uint64_t>(type));
  e.writeVarUint8Array(data);
  return e.take();
}

}  // namespace

ParsedMessage parse_message(std::span<const uint8_t> frame_bytes) {
  lib0::Decoder d(frame_bytes);
  try {
    Message m = parse_body(d);
    return ParsedMessage{std::move(m), d.remaining()};
  } catch (const ProtocolError&) {
    throw;
  } catch (const DecodeError& e) {
    throw ProtocolError(ProtocolError::Kind::Malformed, std::string("y-websocket: malformed message: ") + e.what());
  }
}

bool is_document_write(const Message& m) {
  const auto* s = std::get_if<SyncMessage>(&m);
  return s && (s->type == SyncType::SyncStep2 || s->type == SyncType::Update);
}

std::vector<uint8_t> encode_sync_step1(std::span<const uint8_t> state_vector) {
  return sync_frame(SyncType::SyncStep1, state_vector);
}
std::vector<uint8_t> encode_sync_step2(std::span<const uint8_t> update) {
  return sync_frame(SyncType::SyncStep2, update);
}
std::vector<uint8_t> encode_sync_step2(std::vector<uint8_t>&& update) {
  lib0::Encoder header;
  header.writeVarUint(static_cast<uint64_t>(MessageType::Sync));
  header.writeVarUint(static_cast<uint64_t>(SyncType::SyncStep2));
  header.writeVarUint(update.size());
  const auto& h = header.buffer();
  if (update.capacity() - update.size() < h.size()) return encode_sync_step2(std::span<const uint8_t>(update));
  update.insert(update.begin(), h.begin(), h.end());  // moves the bytes within the buffer
  return std::move(update);
}
std::vector<uint8_t> encode_update(std::span<const uint8_t> update) { return sync_frame(SyncType::Update, update); }
std::vector<uint8_t> encode_awareness(std::span<const uint8_t> awareness_update) {
  return frame(MessageType::Awareness, awareness_update);
}
std::vector<uint8_t> encode_query_awareness() { return {static_cast<uint8_t>(MessageType::QueryAwareness)}; }
std::vector<uint8_t> encode_permission_denied(std::string_view reason) {
  lib0::Encoder e;
  e.writeVarUint(static_cast<uint64_t>(MessageType::Auth));
  e.writeVarUint(0);
  e.writeVarString(reason);
  return e.take();
}

}  // namespace collabio::yjs::sync
