// Engine.IO v4 single-packet codec, open packet and handshake error bodies.
#include "engineio/packet.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace collabio::engineio {

bool parse_text_packet(std::string_view in, PacketType& type, std::string_view& data) {
  if (in.empty()) return false;
  const char c = in.front();
  if (c < '0' || c > '6') return false;
  type = static_cast<PacketType>(c - '0');
  data = in.substr(1);
  return true;
}

std::string open_packet(std::string_view sid, bool can_upgrade, uint32_t ping_interval, uint32_t ping_timeout,
                        uint64_t max_payload) {
  // Key order follows engine.io's Socket#onOpen (JSON.stringify keeps insertion order).
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("sid");
  w.String(sid.data(), static_cast<rapidjson::SizeType>(sid.size()));
  w.Key("upgrades");
  w.StartArray();
  if (can_upgrade) w.String("websocket");
  w.EndArray();
  w.Key("pingInterval");
  w.Uint(ping_interval);
  w.Key("pingTimeout");
  w.Uint(ping_timeout);
  w.Key("maxPayload");
  w.Uint64(max_payload);
  w.EndObject();
  std::string out;
  out.reserve(1 + buf.GetSize());
  out.push_back('0');
  out.append(buf.GetString(), buf.GetSize());
  return out;
}

std::string_view error_message(int code) {
  // Messages from engine.io's Server.errorMessages.
  static constexpr std::string_view kMessages[] = {
      "Transport unknown", "Session ID unknown", "Bad handshake method",
      "Bad request",       "Forbidden",          "Unsupported protocol version",
  };
  if (code < 0 || code > 5) code = static_cast<int>(ErrorCode::BadRequest);
  return kMessages[code];
}

std::string error_json(int code) { return error_json(code, {}); }

std::string error_json(int code, std::string_view message) {
  if (code < 0 || code > 5) code = static_cast<int>(ErrorCode::BadRequest);
  if (message.empty()) message = error_message(code);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("code");
  w.Int(code);
  w.Key("message");
  w.String(message.data(), static_cast<rapidjson::SizeType>(message.size()));
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace collabio::engineio
