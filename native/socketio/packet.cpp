// Socket.IO v5 packet header parsing, payload validity rules and header encoding.
#include "socketio/packet.h"

#include <array>

#include "socketio/json_scan.h"

namespace collabio::socketio {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Reads decimal digits at text[i...]; false when the value does not fit in `limit`.
bool read_decimal(std::string_view text, size_t& i, uint64_t limit, uint64_t& value) {
  value = 0;
  for (; i < text.size() && is_digit(text[i]); ++i) {
    const uint64_t d = static_cast<uint64_t>(text[i] - '0');
    if (value > (limit - d) / 10) return false;
    value = value * 10 + d;
  }
  return true;
}

bool fail(std::string& error, const char* reason) {
  error = reason;
  return false;
}

}  // namespace

bool is_reserved_event(std::string_view name) {
  static constexpr std::array<std::string_view, 6> kReserved = {
      "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
  };
  for (const auto r : kReserved)
    if (r == name) return true;
  return false;
}

bool parse_packet(std::string_view text, Packet& out, std::string& error, uint32_t max_attachments) {
  out = Packet{};
  if (text.empty()) return fail(error, "empty packet");
  if (text[0] < '0' || text[0] > '6') return fail(error, "unknown packet type");
  out.type = static_cast<PacketType>(text[0] - '0');
  size_t i = 1;

  const bool binary = out.type == PacketType::BinaryEvent || out.type == PacketType::BinaryAck;
  if (binary) {
    const size_t start = i;
    uint64_t n = 0;
    // Anything above max_attachments is rejected, so a bound of 2^32 keeps the arithmetic exact.
    if (!read_decimal(text, i, uint64_t{1} << 32, n)) return fail(error, "too many attachments");
    if (i == start || i >= text.size() || text[i] != '-' || n == 0) return fail(error, "illegal attachments");
    if (n > max_attachments) return fail(error, "too many attachments");
    out.attachments = static_cast<uint32_t>(n);
    ++i;  // '-'
  }

  if (i < text.size() && text[i] == '/') {
    const size_t comma = text.find(',', i);
    if (comma == std::string_view::npos) {
      out.nsp.assign(text.substr(i));
      i = text.size();
    } else {
      out.nsp.assign(text.substr(i, comma - i));
      i = comma + 1;
    }
  }

  if (i < text.size() && is_digit(text[i])) {
    uint64_t id = 0;
    if (!read_decimal(text, i, UINT64_MAX, id)) return fail(error, "ack id too large");
    out.id = id;
  }

  out.data = text.substr(i);
  if (out.data.empty()) {
    switch (out.type) {
      case PacketType::Connect:
      case PacketType::Disconnect:
      case PacketType::ConnectError:
        return true;
      default:
        return fail(error, "missing payload");
    }
  }
  if (out.type == PacketType::Disconnect) return fail(error, "invalid payload");

  JsonShape shape;
  if (!inspect_json(out.data, shape, error)) return false;
  switch (out.type) {
    case PacketType::Connect:
      if (shape.kind != JsonKind::Object) return fail(error, "invalid payload");
      return true;
    case PacketType::ConnectError:
      if (shape.kind != JsonKind::Object && shape.kind != JsonKind::String) return fail(error, "invalid payload");
      return true;
    case PacketType::Ack:
    case PacketType::BinaryAck:
      if (shape.kind != JsonKind::Array) return fail(error, "invalid payload");
      return true;
    case PacketType::Event:
    case PacketType::BinaryEvent:
      if (shape.kind != JsonKind::Array || shape.array_size == 0) return fail(error, "invalid payload");
      if (shape.first_kind == JsonKind::Number) return true;
      if (shape.first_kind != JsonKind::String) return fail(error, "invalid payload");
      if (is_reserved_event(shape.first_text)) return fail(error, "reserved event name");
      return true;
    case PacketType::Disconnect:
      break;
  }
  return fail(error, "invalid payload");
}

std::string encode_header(PacketType type, std::string_view nsp, std::optional<uint64_t> id, uint32_t attachments) {
  std::string out;
  out.reserve(24 + nsp.size());
  out.push_back(static_cast<char>('0' + static_cast<int>(type)));
  if (type == PacketType::BinaryEvent || type == PacketType::BinaryAck) {
    out += std::to_string(attachments);
    out.push_back('-');
  }
  if (!nsp.empty() && nsp != "/") {
    out.append(nsp);
    out.push_back(',');
  }
  if (id) out += std::to_string(*id);
  return out;
}

std::string encode_packet(PacketType type, std::string_view nsp, std::optional<uint64_t> id, uint32_t attachments,
                          std::string_view json) {
  std::string out = encode_header(type, nsp, id, attachments);
  out.append(json);
  return out;
}

}  // namespace collabio::socketio
