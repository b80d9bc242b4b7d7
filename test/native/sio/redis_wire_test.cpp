// The @socket.io/redis-adapter wire codec (socketio/redis_wire.h, socketio/notepack.h) on bytes
// the real notepack.io wrote (the hex fixtures below; test/js/redis-wire.test.js runs the same
// codec against live adapters).
#include <gtest/gtest.h>

#include "socketio/notepack.h"
#include "socketio/redis_wire.h"

namespace wire = collabio::socketio::redis_wire;
namespace notepack = collabio::socketio::notepack;
using collabio::socketio::PacketType;

namespace {
std::string from_hex(std::string_view hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  return out;
}

// notepack.encode(['Ab3dE9', {type: 2, data: ['ev', {a: [1, 2.5]}, Buffer.from([0xca, 0xfe])], nsp: '/chat'},
//                 {rooms: ['r1', 'r2'], except: ['x'], flags: {volatile: true, compress: false}}])
const std::string kClassic = from_hex(
    "93a641623364453983a47479706502a46461746193a2657681a1619201cb4004000000000000c402cafea36e7370a52f6368617483a5726f6f6d"
    "7392a27231a27232a665786365707491a178a5666c61677382a8766f6c6174696c65c3a8636f6d7072657373c2");
// notepack.encode({type: 3, data: {packet: {type: 3, data: [Buffer.from('z')], id: 12},
//                  opts: {rooms: [], except: [], flags: {local: true}}}, uid: '0123456789abcdef', nsp: '/'})
const std::string kCluster = from_hex(
    "84a47479706503a46461746182a67061636b657483a47479706503a46461746191c4017aa269640ca46f70747383a5726f6f6d7390a66578636570"
    "7490a5666c61677381a56c6f63616cc3a3756964b030313233343536373839616263646566a36e7370a12f");
}  // namespace

TEST(RedisWireChannels, ClassicAndShardedNames) {
  const auto c = wire::classic_channels("socket.io", "/chat", "Ab3dE9");
  EXPECT_EQ(c.broadcast, "socket.io#/chat#");
  EXPECT_EQ(c.request, "socket.io-request#/chat#");
  EXPECT_EQ(c.response, "socket.io-response#/chat#");
  EXPECT_EQ(c.specific_response, "socket.io-response#/chat#Ab3dE9#");
  EXPECT_EQ(wire::room_channel(c.broadcast, "room 1"), "socket.io#/chat#room 1#");
  const auto s = wire::sharded_channels("socket.io", "/", "0123456789abcdef");
  EXPECT_EQ(s.main, "socket.io#/#");
  EXPECT_EQ(s.response, "socket.io#/#0123456789abcdef#");
}

TEST(RedisWireChannels, RoomOfChannel) {
  EXPECT_EQ(wire::room_of_channel("socket.io#/#", "socket.io#/#"), "");
  EXPECT_EQ(wire::room_of_channel("socket.io#/#r#1#", "socket.io#/#"), "r#1");
  EXPECT_EQ(wire::room_of_channel("socket.io#/chat#r#", "socket.io#/#"), std::nullopt);
  EXPECT_EQ(wire::room_of_channel("socket.io#/#r", "socket.io#/#"), std::nullopt);
}

TEST(RedisWire, ClassicBroadcastFromNotepack) {
  wire::ClassicBroadcast m;
  std::string error;
  ASSERT_TRUE(wire::decode_classic_broadcast(kClassic, m, error)) << error;
  EXPECT_EQ(m.uid, "Ab3dE9");
  EXPECT_EQ(m.packet.type, PacketType::BinaryEvent);
  EXPECT_EQ(m.packet.nsp, "/chat");
  EXPECT_FALSE(m.packet.id);
  EXPECT_EQ(m.packet.data_json, R"(["ev",{"a":[1,2.5]},{"_placeholder":true,"num":0}])");
  ASSERT_EQ(m.packet.attachments.size(), 1u);
  EXPECT_EQ(m.packet.attachments[0], "\xca\xfe");
  EXPECT_EQ(m.opts.rooms, (std::vector<std::string>{"r1", "r2"}));
  EXPECT_EQ(m.opts.except, (std::vector<std::string>{"x"}));
  EXPECT_TRUE(m.opts.volatile_);
  EXPECT_EQ(m.opts.compress, false);
  EXPECT_FALSE(m.opts.local);
  EXPECT_EQ(wire::to_socketio_text(m.packet), R"(51-/chat,["ev",{"a":[1,2.5]},{"_placeholder":true,"num":0}])");
  // Re-encoded: the bytes notepack wrote.
  EXPECT_EQ(wire::encode_classic_broadcast(m), kClassic);
}

TEST(RedisWire, ClusterBroadcastFromNotepack) {
  wire::ClusterMessage m;
  std::string error;
  ASSERT_TRUE(wire::decode_cluster_message(kCluster, m, error)) << error;
  EXPECT_EQ(m.type, wire::MessageType::Broadcast);
  EXPECT_EQ(m.uid, "0123456789abcdef");
  EXPECT_EQ(m.nsp, "/");
  wire::WirePacket packet;
  wire::BroadcastOpts opts;
  std::optional<std::string> request_id;
  ASSERT_TRUE(wire::decode_cluster_broadcast(m, packet, opts, request_id, error)) << error;
  EXPECT_EQ(packet.type, PacketType::BinaryAck);
  EXPECT_EQ(packet.id, 12u);
  EXPECT_EQ(packet.data_json, R"([{"_placeholder":true,"num":0}])");
  EXPECT_EQ(packet.attachments, std::vector<std::string>{"z"});
  EXPECT_TRUE(opts.local);
  EXPECT_FALSE(request_id);
  EXPECT_EQ(wire::to_socketio_text(packet), R"(61-12[{"_placeholder":true,"num":0}])");
}

TEST(RedisWire, ClusterMessagesWithoutBinaryAreJson) {
  wire::WirePacket p;
  p.data_json = R"(["ev","x"])";
  wire::BroadcastOpts opts;
  opts.rooms = {"a"};
  opts.timeout_ms = 5000;
  const auto m = wire::make_cluster_broadcast("u1", p, opts, std::string("req1"));
  EXPECT_EQ(wire::encode_cluster_message(m),
            R"({"type":3,"data":{"packet":{"type":2,"data":["ev","x"]},"requestId":"req1","opts":{"rooms":["a"],"except":[],"flags":{"timeout":5000}}},"uid":"u1","nsp":"/"})");
  wire::ClusterMessage back;
  std::string error;
  ASSERT_TRUE(wire::decode_cluster_message(wire::encode_cluster_message(m), back, error)) << error;
  wire::WirePacket p2;
  wire::BroadcastOpts o2;
  std::optional<std::string> rid;
  ASSERT_TRUE(wire::decode_cluster_broadcast(back, p2, o2, rid, error)) << error;
  EXPECT_EQ(p2.data_json, p.data_json);
  EXPECT_EQ(rid, "req1");
  EXPECT_EQ(o2.timeout_ms, 5000u);
}

TEST(RedisWire, HostileMessagesAreRefusedWithAReason) {
  const std::string bad[] = {
      "",
      from_hex("c1"),
      from_hex("93a16190"),                     // [uid, []]: too short
      from_hex("93a16190c0"),                   // packet is an array
      from_hex("93a16181a474797065cc0780"),     // type 7
      from_hex("93a16181a474797065029190"),     // packet ok-ish, opts an array
      kClassic.substr(0, kClassic.size() - 1),  // truncated
      kClassic + "x",                           // trailing byte
  };
  for (const auto& b : bad) {
    wire::ClassicBroadcast m;
    std::string error;
    EXPECT_FALSE(wire::decode_classic_broadcast(b, m, error));
    EXPECT_FALSE(error.empty());
  }
  for (const char* json : {"{", "{\"type\":99,\"uid\":\"u\",\"nsp\":\"/\"}", "{\"type\":3,\"nsp\":\"/\"}", "{\"type\":3,\"uid\":\"u\"}",
                           "[1]"}) {
    wire::ClusterMessage m;
    std::string error;
    EXPECT_FALSE(wire::decode_cluster_message(json, m, error)) << json;
    EXPECT_FALSE(error.empty());
  }
  // A placeholder that indexes no binary: refused, as socket.io-parser's "illegal attachments".
  std::string out;
  std::string error;
  EXPECT_FALSE(notepack::from_json(R"([{"_placeholder":true,"num":0}])", {}, out, error));
  EXPECT_EQ(error, "illegal attachments");
}

TEST(NotepackNumbers, JavaScriptNumberToString) {
  const std::pair<double, const char*> cases[] = {
      {0, "0"},           {-0.0, "0"},        {1, "1"},         {-1.5, "-1.5"},        {0.1, "0.1"},
      {1e21, "1e+21"},    {1e20, "100000000000000000000"},      {1.5e-7, "1.5e-7"},    {0.000001, "0.000001"},
      {123456789012345680000.0, "123456789012345680000"},       {5e-324, "5e-324"},    {1.7976931348623157e308, "1.7976931348623157e+308"},
  };
  for (const auto& [v, text] : cases) {
    std::string out;
    notepack::append_js_number(v, out);
    EXPECT_EQ(out, text);
  }
}
