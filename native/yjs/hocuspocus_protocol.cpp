// Hocuspocus message framing; contracts in hocuspocus_protocol.h.
#include "yjs/hocuspocus_protocol.h"

namespace collabio::yjs::hocuspocus {

namespace {

ProtocolError malformed(const DecodeError& e) {
  return ProtocolError(ProtocolError::Kind::Malformed, std::string("hocuspocus: malformed message: ") + e.what());
}

Body read_body(lib0::Decoder& d) {
  const uint64_t type = d.readVarUint();
  switch (type) {
    case static_cast<uint64_t>(MessageType::Sync):
    case static_cast<uint64_t>(MessageType::SyncReply): {
      const uint64_t sub = d.readVarUint();
      if (sub > static_cast<uint64_t>(sync::SyncType::Update)) {
        throw ProtocolError(ProtocolError::Kind::UnknownSyncType,
                            "hocuspocus: unknown sync message type " + std::to_string(sub));
      }
      return SyncMessage{static_cast<sync::SyncType>(sub), d.readVarUint8Array(),
                         type == static_cast<uint64_t>(MessageType::SyncReply)};
    }
    case static_cast<uint64_t>(MessageType::Awareness):
      return AwarenessMessage{d.readVarUint8Array()};
    case static_cast<uint64_t>(MessageType::QueryAwareness):
      return QueryAwarenessMessage{};
    case static_cast<uint64_t>(MessageType::Auth): {
      const uint64_t auth = d.readVarUint();
      if (auth != static_cast<uint64_t>(AuthType::Token)) {
        throw ProtocolError(ProtocolError::Kind::NotFromClient,
                            "hocuspocus: auth message type " + std::to_string(auth) + " is not sent by clients");
      }
      TokenMessage m{d.readVarStringView(), {}};
      if (d.hasContent()) m.provider_version = d.readVarStringView();
      return m;
    }
    case static_cast<uint64_t>(MessageType::Stateless):
      return StatelessMessage{d.readVarStringView()};
    case static_cast<uint64_t>(MessageType::Close):
      return CloseMessage{};
    case static_cast<uint64_t>(MessageType::BroadcastStateless):
    case static_cast<uint64_t>(MessageType::SyncStatus):
    case static_cast<uint64_t>(MessageType::Ping):
    case static_cast<uint64_t>(MessageType::Pong):
      throw ProtocolError(ProtocolError::Kind::NotFromClient,
                          "hocuspocus: message type " + std::to_string(type) + " is not sent by clients");
    default:
      throw ProtocolError(ProtocolError::Kind::UnknownMessageType,
                          "hocuspocus: unknown message type " + std::to_string(type));
  }
}

lib0::Encoder start(std::string_view address, MessageType type) {
  lib0::Encoder e;
  e.writeVarString(address);
  e.writeVarUint(static_cast<uint64_t>(type));
  return e;
}

std::vector<uint8_t> sync_message(std::string_view address, sync::SyncType type, std::span<const uint8_t> data) {
  lib0::Encoder e = start(address, MessageType::Sync);
  e.reserve(e.buffer().size() + 10 + data.size());
  e.writeVarUint(static_cast<uint64_t>(type));
  e.writeVarUint8Array(data);
  return e.take();
}

std::vector<uint8_t> string_message(std::string_view address, MessageType type, std::string_view s) {
  lib0::Encoder e = start(address, type);
  e.writeVarString(s);
  return e.take();
}

}  // namespace

bool is_pong(std::span<const uint8_t> frame) {
  return frame.size() == 1 && frame[0] == static_cast<uint8_t>(MessageType::Pong);
}

Message parse_message(std::span<const uint8_t> frame) {
  lib0::Decoder d(frame);
  try {
    Message m;
    m.address = d.readVarStringView();
    m.document = m.address.substr(0, m.address.find('\0'));
    m.body_offset = d.pos();
    m.body = read_body(d);
    return m;
  } catch (const ProtocolError&) {
    throw;
  } catch (const DecodeError& e) {
    throw malformed(e);
  }
}

Body parse_body(std::span<const uint8_t> body) {
  lib0::Decoder d(body);
  try {
    return read_body(d);
  } catch (const ProtocolError&) {
    throw;
  } catch (const DecodeError& e) {
    throw malformed(e);
  }
}

std::vector<uint8_t> encode_sync_step1(std::string_view address, std::span<const uint8_t> state_vector) {
  return sync_message(address, sync::SyncType::SyncStep1, state_vector);
}
std::vector<uint8_t> encode_sync_step2(std::string_view address, std::span<const uint8_t> update) {
  return sync_message(address, sync::SyncType::SyncStep2, update);
}
std::vector<uint8_t> encode_update(std::string_view address, std::span<const uint8_t> update) {
  return sync_message(address, sync::SyncType::Update, update);
}
std::vector<uint8_t> encode_awareness(std::string_view address, std::span<const uint8_t> awareness_update) {
  lib0::Encoder e = start(address, MessageType::Awareness);
  e.writeVarUint8Array(awareness_update);
  return e.take();
}
std::vector<uint8_t> encode_authenticated(std::string_view address, bool read_only) {
  lib0::Encoder e = start(address, MessageType::Auth);
  e.writeVarUint(static_cast<uint64_t>(AuthType::Authenticated));
  e.writeVarString(read_only ? "readonly" : "read-write");
  return e.take();
}
std::vector<uint8_t> encode_permission_denied(std::string_view address, std::string_view reason) {
  lib0::Encoder e = start(address, MessageType::Auth);
  e.writeVarUint(static_cast<uint64_t>(AuthType::PermissionDenied));
  e.writeVarString(reason);
  return e.take();
}
std::vector<uint8_t> encode_stateless(std::string_view address, std::string_view payload) {
  return string_message(address, MessageType::Stateless, payload);
}
std::vector<uint8_t> encode_sync_status(std::string_view address, bool saved) {
  lib0::Encoder e = start(address, MessageType::SyncStatus);
  e.writeVarUint(saved ? 1 : 0);
  return e.take();
}
std::vector<uint8_t> encode_close(std::string_view address, std::string_view reason) {
  return string_message(address, MessageType::Close, reason);
}
std::vector<uint8_t> encode_ping() { return {static_cast<uint8_t>(MessageType::Ping)}; }

}  // namespace collabio::yjs::hocuspocus
