// Drives the Redis adapter's wire codec for the JS differential tests (test/js/redis-wire.test.js).
// One JSON request per stdin line, one JSON answer per stdout line:
//   {"op":"decode","hex":"93a3..."}  ->  {"ok":true,"json":"<text>","attachments":["<hex>",...]}
//   {"op":"encode","json":"<text>","attachments":["<hex>",...]}  ->  {"ok":true,"hex":"..."}
//   {"op":"classic","hex":...} / {"op":"cluster","hex":...}: a broadcast decoded by redis_wire.h
//      -> {"ok":true,"uid","type","nsp","id","data","attachments","rooms","except","volatile",
//          "local","compress","timeout","requestId","reencoded":"<hex>"}
// Failures answer {"ok":false,"error":"..."}.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "socketio/notepack.h"
#include "socketio/redis_wire.h"

namespace notepack = collabio::socketio::notepack;
namespace wire = collabio::socketio::redis_wire;

namespace {

std::string to_hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

std::string from_hex(std::string_view hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  return out;
}

void answer(rapidjson::Writer<rapidjson::StringBuffer>& w, rapidjson::StringBuffer& buf) {
  std::cout << buf.GetString() << '\n' << std::flush;
  buf.Clear();
  w.Reset(buf);
}

}  // namespace

int main() {
  std::string line;
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  while (std::getline(std::cin, line)) {
    rapidjson::Document req;
    req.Parse(line.data(), line.size());
    std::string error;
    w.StartObject();
    if (req.HasParseError() || !req.IsObject() || !req.HasMember("op")) {
      w.Key("ok");
      w.Bool(false);
      w.Key("error");
      w.String("bad request");
    } else if (std::string_view(req["op"].GetString()) == "decode") {
      std::string json;
      std::vector<std::string> attachments;
      const bool ok = notepack::to_json(from_hex(req["hex"].GetString()), json, attachments, error);
      w.Key("ok");
      w.Bool(ok);
      if (ok) {
        w.Key("json");
        w.String(json.data(), static_cast<rapidjson::SizeType>(json.size()));
        w.Key("attachments");
        w.StartArray();
        for (const auto& a : attachments) w.String(to_hex(a));
        w.EndArray();
      } else {
        w.Key("error");
        w.String(error);
      }
    } else if (std::string_view(req["op"].GetString()) == "classic" || std::string_view(req["op"].GetString()) == "cluster") {
      const bool classic = std::string_view(req["op"].GetString()) == "classic";
      const std::string payload = from_hex(req["hex"].GetString());
      wire::WirePacket packet;
      wire::BroadcastOpts opts;
      std::string uid;
      std::optional<std::string> request_id;
      std::string reencoded;
      bool ok;
      if (classic) {
        wire::ClassicBroadcast m;
        ok = wire::decode_classic_broadcast(payload, m, error);
        packet = m.packet;
        opts = m.opts;
        uid = m.uid;
        reencoded = wire::encode_classic_broadcast(m);
      } else {
        wire::ClusterMessage m;
        ok = wire::decode_cluster_message(payload, m, error) && wire::decode_cluster_broadcast(m, packet, opts, request_id, error);
        uid = m.uid;
        if (ok) reencoded = wire::encode_cluster_message(wire::make_cluster_broadcast(m.uid, packet, opts, request_id));
      }
      w.Key("ok");
      w.Bool(ok);
      if (ok) {
        w.Key("uid");
        w.String(uid);
        w.Key("type");
        w.Uint(static_cast<unsigned>(packet.type));
        w.Key("nsp");
        w.String(packet.nsp);
        w.Key("id");
        if (packet.id) {
          w.Uint64(*packet.id);
        } else {
          w.Null();
        }
        w.Key("data");
        w.String(packet.data_json);
        w.Key("attachments");
        w.StartArray();
        for (const auto& a : packet.attachments) w.String(to_hex(a));
        w.EndArray();
        w.Key("text");
        w.String(wire::to_socketio_text(packet));
        for (auto [name, list] : {std::pair{"rooms", &opts.rooms}, std::pair{"except", &opts.except}}) {
          w.Key(name);
          w.StartArray();
          for (const auto& r : *list) w.String(r);
          w.EndArray();
        }
        w.Key("volatile");
        w.Bool(opts.volatile_);
        w.Key("local");
        w.Bool(opts.local);
        w.Key("compress");
        if (opts.compress) {
          w.Bool(*opts.compress);
        } else {
          w.Null();
        }
        w.Key("timeout");
        if (opts.timeout_ms) {
          w.Uint64(*opts.timeout_ms);
        } else {
          w.Null();
        }
        w.Key("requestId");
        if (request_id) {
          w.String(*request_id);
        } else {
          w.Null();
        }
        w.Key("reencoded");
        w.String(to_hex(reencoded));
      } else {
        w.Key("error");
        w.String(error);
      }
    } else {
      std::vector<std::string> attachments;
      for (const auto& a : req["attachments"].GetArray()) attachments.push_back(from_hex(a.GetString()));
      std::string out;
      const std::string_view json(req["json"].GetString(), req["json"].GetStringLength());
      const bool ok = notepack::from_json(json, attachments, out, error);
      w.Key("ok");
      w.Bool(ok);
      if (ok) {
        w.Key("hex");
        w.String(to_hex(out));
      } else {
        w.Key("error");
        w.String(error);
      }
    }
    w.EndObject();
    answer(w, buf);
  }
  return 0;
}
