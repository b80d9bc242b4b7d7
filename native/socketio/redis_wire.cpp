#include "socketio/redis_wire.h"

#include <rapidjson/document.h>

#include "socketio/notepack.h"

namespace collabio::socketio::redis_wire {
namespace {

using notepack::append_js_number;
using notepack::append_js_string;

bool parse(std::string_view json, rapidjson::Document& doc, std::string& error) {
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag | rapidjson::kParseValidateEncodingFlag>(
      json.data(), json.size());
  if (doc.HasParseError()) {
    error = "redis message: invalid JSON";
    return false;
  }
  return true;
}

// Writes a value back as JSON text; placeholders are renumbered into `out_attachments` in order
// of appearance (so a packet taken out of a larger message indexes only its own binaries).
bool write_json(const rapidjson::Value& v, const std::vector<std::string>& attachments, std::string& out,
                std::vector<std::string>& out_attachments, uint32_t depth = 0) {
  if (depth > notepack::kMaxDepth) return false;
  switch (v.GetType()) {
    case rapidjson::kNullType: out += "null"; return true;
    case rapidjson::kFalseType: out += "false"; return true;
    case rapidjson::kTrueType: out += "true"; return true;
    case rapidjson::kStringType: append_js_string(std::string_view(v.GetString(), v.GetStringLength()), out); return true;
    case rapidjson::kNumberType:
      if (v.IsInt64()) {
        out += std::to_string(v.GetInt64());
      } else if (v.IsUint64()) {
        out += std::to_string(v.GetUint64());
      } else {
        append_js_number(v.GetDouble(), out);
      }
      return true;
    case rapidjson::kArrayType: {
      out += '[';
      bool first = true;
      for (const auto& e : v.GetArray()) {
        if (!first) out += ',';
        first = false;
        if (!write_json(e, attachments, out, out_attachments, depth + 1)) return false;
      }
      out += ']';
      return true;
    }
    case rapidjson::kObjectType: {
      const auto ph = v.FindMember("_placeholder");
      if (ph != v.MemberEnd() && ph->value.IsTrue()) {
        const auto num = v.FindMember("num");
        if (num == v.MemberEnd() || !num->value.IsUint() || num->value.GetUint() >= attachments.size()) return false;
        out += "{\"_placeholder\":true,\"num\":" + std::to_string(out_attachments.size()) + "}";
        out_attachments.push_back(attachments[num->value.GetUint()]);
        return true;
      }
      out += '{';
      bool first = true;
      for (const auto& m : v.GetObject()) {
        if (!first) out += ',';
        first = false;
        append_js_string(std::string_view(m.name.GetString(), m.name.GetStringLength()), out);
        out += ':';
        if (!write_json(m.value, attachments, out, out_attachments, depth + 1)) return false;
      }
      out += '}';
      return true;
    }
  }
  return false;
}

bool read_strings(const rapidjson::Value& obj, const char* name, std::vector<std::string>& out) {
  out.clear();
  const auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) return true;  // socket.io accepts a missing list as empty (new Set(undefined))
  if (!it->value.IsArray()) return false;
  for (const auto& e : it->value.GetArray()) {
    // Rooms are strings; a number (socket.io allows numeric room names) is kept as its text.
    if (e.IsString()) {
      out.emplace_back(e.GetString(), e.GetStringLength());
    } else if (e.IsNumber()) {
      std::string text;
      append_js_number(e.GetDouble(), text);
      out.push_back(std::move(text));
    } else {
      return false;
    }
  }
  return true;
}

bool read_opts(const rapidjson::Value& v, BroadcastOpts& opts) {
  opts = BroadcastOpts{};
  if (!v.IsObject()) return false;
  if (!read_strings(v, "rooms", opts.rooms) || !read_strings(v, "except", opts.except)) return false;
  const auto flags = v.FindMember("flags");
  if (flags == v.MemberEnd() || flags->value.IsNull()) return true;
  if (!flags->value.IsObject()) return false;
  const auto& f = flags->value;
  const auto truthy = [&](const char* name) {
    const auto it = f.FindMember(name);
    return it != f.MemberEnd() && it->value.IsTrue();
  };
  opts.volatile_ = truthy("volatile");
  opts.local = truthy("local");
  if (const auto c = f.FindMember("compress"); c != f.MemberEnd() && c->value.IsBool()) opts.compress = c->value.GetBool();
  if (const auto t = f.FindMember("timeout"); t != f.MemberEnd() && t->value.IsNumber() && t->value.GetDouble() >= 0) {
    opts.timeout_ms = static_cast<uint64_t>(t->value.GetDouble());
  }
  return true;
}

void write_strings(const std::vector<std::string>& list, std::string& out) {
  out += '[';
  for (size_t i = 0; i < list.size(); ++i) {
    if (i) out += ',';
    append_js_string(list[i], out);
  }
  out += ']';
}

void write_opts(const BroadcastOpts& opts, std::string& out) {
  out += "{\"rooms\":";
  write_strings(opts.rooms, out);
  out += ",\"except\":";
  write_strings(opts.except, out);
  out += ",\"flags\":{";
  bool first = true;
  const auto flag = [&](const char* name, const std::string& value) {
    if (!first) out += ',';
    first = false;
    out += '"';
    out += name;
    out += "\":";
    out += value;
  };
  if (opts.volatile_) flag("volatile", "true");
  if (opts.compress) flag("compress", *opts.compress ? "true" : "false");
  if (opts.local) flag("local", "true");
  if (opts.timeout_ms) flag("timeout", std::to_string(*opts.timeout_ms));
  out += "}}";
}

// `{type, data[, nsp][, id]}` -> WirePacket. EVENT / ACK with binaries become BINARY_*.
bool read_packet(const rapidjson::Value& v, const std::vector<std::string>& attachments, WirePacket& p, bool need_nsp,
                 std::string& error) {
  p = WirePacket{};
  if (!v.IsObject()) return error = "redis message: the packet is not an object", false;
  const auto type = v.FindMember("type");
  if (type == v.MemberEnd() || !type->value.IsUint() || type->value.GetUint() > 6) {
    return error = "redis message: the packet has no valid type", false;
  }
  p.type = static_cast<PacketType>(type->value.GetUint());
  const auto nsp = v.FindMember("nsp");
  if (nsp != v.MemberEnd()) {
    if (!nsp->value.IsString()) return error = "redis message: the packet's nsp is not a string", false;
    p.nsp.assign(nsp->value.GetString(), nsp->value.GetStringLength());
  } else if (need_nsp) {
    p.nsp = "/";  // RedisAdapter#onmessage: a packet without nsp is for "/"
  }
  const auto id = v.FindMember("id");
  if (id != v.MemberEnd() && !id->value.IsNull()) {
    if (!id->value.IsUint64()) return error = "redis message: the packet's id is not an integer", false;
    p.id = id->value.GetUint64();
  }
  const auto data = v.FindMember("data");
  p.data_json.clear();
  if (data == v.MemberEnd()) {
    p.data_json = "null";
  } else if (!write_json(data->value, attachments, p.data_json, p.attachments)) {
    return error = "redis message: illegal attachments or nesting in the packet", false;
  }
  if (!p.attachments.empty()) {
    if (p.type == PacketType::Event) p.type = PacketType::BinaryEvent;
    if (p.type == PacketType::Ack) p.type = PacketType::BinaryAck;
  }
  return true;
}

// The wire's type: EVENT / ACK whatever the binaries (socket.io-parser re-derives BINARY_*).
unsigned wire_type(PacketType t) {
  if (t == PacketType::BinaryEvent) return static_cast<unsigned>(PacketType::Event);
  if (t == PacketType::BinaryAck) return static_cast<unsigned>(PacketType::Ack);
  return static_cast<unsigned>(t);
}

void write_packet(const WirePacket& p, bool with_nsp, std::string& out) {
  out += "{\"type\":" + std::to_string(wire_type(p.type)) + ",\"data\":" + p.data_json;
  if (with_nsp) {
    out += ",\"nsp\":";
    append_js_string(p.nsp, out);
  }
  if (p.id) out += ",\"id\":" + std::to_string(*p.id);
  out += '}';
}

// Empty when a placeholder indexes no attachment (a caller's bug; see the header).
std::string to_msgpack(const std::string& json, const std::vector<std::string>& attachments) {
  std::string out;
  std::string error;
  if (!notepack::from_json(json, attachments, out, error)) out.clear();
  return out;
}

}  // namespace

ClassicChannels classic_channels(std::string_view key, std::string_view nsp, std::string_view uid) {
  ClassicChannels c;
  c.broadcast = std::string(key) + "#" + std::string(nsp) + "#";
  c.request = std::string(key) + "-request#" + std::string(nsp) + "#";
  c.response = std::string(key) + "-response#" + std::string(nsp) + "#";
  c.specific_response = c.response + std::string(uid) + "#";
  return c;
}

std::string room_channel(std::string_view prefix, std::string_view room) {
  return std::string(prefix) + std::string(room) + "#";
}

std::optional<std::string> room_of_channel(std::string_view channel, std::string_view prefix) {
  if (channel.substr(0, prefix.size()) != prefix) return std::nullopt;
  if (channel.size() == prefix.size()) return std::string();
  if (channel.back() != '#') return std::nullopt;
  return std::string(channel.substr(prefix.size(), channel.size() - prefix.size() - 1));
}

ShardedChannels sharded_channels(std::string_view key, std::string_view nsp, std::string_view uid) {
  ShardedChannels c;
  c.main = std::string(key) + "#" + std::string(nsp) + "#";
  c.response = c.main + std::string(uid) + "#";
  return c;
}

bool decode_payload(std::string_view payload, std::string& json, std::vector<std::string>& attachments, std::string& error) {
  attachments.clear();
  if (!payload.empty() && payload.front() == '{') {
    json.assign(payload);
    return true;
  }
  return notepack::to_json(payload, json, attachments, error);
}

bool decode_classic_broadcast(std::string_view payload, ClassicBroadcast& out, std::string& error) {
  std::string json;
  std::vector<std::string> attachments;
  if (!notepack::to_json(payload, json, attachments, error)) return false;
  rapidjson::Document doc;
  if (!parse(json, doc, error)) return false;
  if (!doc.IsArray() || doc.Size() < 3 || !doc[0].IsString()) {
    error = "redis message: a broadcast is [uid, packet, opts]";
    return false;
  }
  out.uid.assign(doc[0].GetString(), doc[0].GetStringLength());
  if (!read_packet(doc[1], attachments, out.packet, true, error)) return false;
  if (!read_opts(doc[2], out.opts)) {
    error = "redis message: malformed broadcast options";
    return false;
  }
  return true;
}

std::string encode_classic_broadcast(const ClassicBroadcast& m) {
  std::string json = "[";
  append_js_string(m.uid, json);
  json += ',';
  write_packet(m.packet, true, json);
  json += ',';
  write_opts(m.opts, json);
  json += ']';
  return to_msgpack(json, m.packet.attachments);
}

bool decode_cluster_message(std::string_view payload, ClusterMessage& out, std::string& error) {
  out = ClusterMessage{};
  std::string json;
  std::vector<std::string> attachments;
  if (!decode_payload(payload, json, attachments, error)) return false;
  rapidjson::Document parsed;
  if (!parse(json, parsed, error)) return false;
  const rapidjson::Value& doc = parsed;
  if (!doc.IsObject()) return error = "redis message: not an object", false;
  const auto type = doc.FindMember("type");
  if (type == doc.MemberEnd() || !type->value.IsUint() || type->value.GetUint() < 1 || type->value.GetUint() > 13) {
    return error = "redis message: unknown message type", false;
  }
  out.type = static_cast<MessageType>(type->value.GetUint());
  const auto uid = doc.FindMember("uid");
  if (uid == doc.MemberEnd() || !uid->value.IsString()) return error = "redis message: no uid", false;
  out.uid.assign(uid->value.GetString(), uid->value.GetStringLength());
  const auto nsp = doc.FindMember("nsp");
  if (nsp == doc.MemberEnd() || !nsp->value.IsString()) return error = "redis message: no nsp", false;
  out.nsp.assign(nsp->value.GetString(), nsp->value.GetStringLength());
  const auto data = doc.FindMember("data");
  out.data_json.clear();
  if (data == doc.MemberEnd()) {
    out.data_json = "null";
  } else if (!write_json(data->value, attachments, out.data_json, out.attachments)) {
    return error = "redis message: illegal attachments or nesting", false;
  }
  return true;
}

std::string encode_cluster_message(const ClusterMessage& m) {
  std::string json = "{\"type\":" + std::to_string(static_cast<unsigned>(m.type)) + ",\"data\":" + m.data_json + ",\"uid\":";
  append_js_string(m.uid, json);
  json += ",\"nsp\":";
  append_js_string(m.nsp, json);
  json += '}';
  if (m.attachments.empty()) return json;
  return to_msgpack(json, m.attachments);
}

bool decode_cluster_broadcast(const ClusterMessage& m, WirePacket& packet, BroadcastOpts& opts,
                              std::optional<std::string>& request_id, std::string& error) {
  rapidjson::Document parsed;
  if (!parse(m.data_json, parsed, error)) return false;
  const rapidjson::Value& doc = parsed;
  if (!doc.IsObject() || !doc.HasMember("packet") || !doc.HasMember("opts")) {
    return error = "redis message: a broadcast's data is {packet, opts}", false;
  }
  if (!read_packet(doc["packet"], m.attachments, packet, false, error)) return false;
  packet.nsp = m.nsp;
  if (!read_opts(doc["opts"], opts)) return error = "redis message: malformed broadcast options", false;
  request_id.reset();
  const auto rid = doc.FindMember("requestId");
  if (rid != doc.MemberEnd() && rid->value.IsString()) request_id.emplace(rid->value.GetString(), rid->value.GetStringLength());
  return true;
}

ClusterMessage make_cluster_broadcast(std::string_view uid, const WirePacket& packet, const BroadcastOpts& opts,
                                      const std::optional<std::string>& request_id) {
  ClusterMessage m;
  m.type = MessageType::Broadcast;
  m.uid = std::string(uid);
  m.nsp = packet.nsp;
  m.attachments = packet.attachments;
  m.data_json = "{\"packet\":";
  write_packet(packet, false, m.data_json);
  // Key order as ClusterAdapter writes them: packet, requestId (with acks), opts.
  if (request_id) {
    m.data_json += ",\"requestId\":";
    append_js_string(*request_id, m.data_json);
  }
  m.data_json += ",\"opts\":";
  write_opts(opts, m.data_json);
  m.data_json += '}';
  return m;
}

std::string to_socketio_text(const WirePacket& p) {
  PacketType type = p.type;
  if (!p.attachments.empty() && type == PacketType::Event) type = PacketType::BinaryEvent;
  if (!p.attachments.empty() && type == PacketType::Ack) type = PacketType::BinaryAck;
  return encode_packet(type, p.nsp, p.id, static_cast<uint32_t>(p.attachments.size()), p.data_json);
}

}  // namespace collabio::socketio::redis_wire
