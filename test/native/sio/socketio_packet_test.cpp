// Socket.IO v5 packet parsing: cases from docs/socket.io-protocol/v5-current.md and the validity
// rules of socket.io-parser 4.2 (Decoder#decodeString / isPayloadValid), malformed input included.
#include <gtest/gtest.h>

#include "socketio/json_scan.h"
#include "socketio/packet.h"

namespace sio = collabio::socketio;
using sio::PacketType;

namespace {

// Parses `text`, expecting success.
sio::Packet ok(std::string_view text) {
  sio::Packet p;
  std::string error;
  EXPECT_TRUE(sio::parse_packet(text, p, error)) << text << ": " << error;
  return p;
}

// Parses `text`, expecting failure; returns the reason.
std::string bad(std::string_view text, uint32_t max_attachments = sio::kDefaultMaxAttachments) {
  sio::Packet p;
  std::string error;
  EXPECT_FALSE(sio::parse_packet(text, p, error, max_attachments)) << "accepted: " << text;
  EXPECT_FALSE(error.empty());
  return error;
}

}  // namespace

TEST(SocketIoParse, ConnectToMainNamespaceWithAndWithoutAuth) {
  auto p = ok("0");
  EXPECT_EQ(p.type, PacketType::Connect);
  EXPECT_EQ(p.nsp, "/");
  EXPECT_FALSE(p.id);
  EXPECT_EQ(p.data, "");
  p = ok("0{\"token\":\"abc\"}");
  EXPECT_EQ(p.data, "{\"token\":\"abc\"}");
}

TEST(SocketIoParse, ConnectToCustomNamespace) {
  auto p = ok("0/admin,");
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(p.data, "");
  p = ok("0/admin,{\"token\":\"abc\"}");
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(p.data, "{\"token\":\"abc\"}");
  p = ok("0/admin");  // socket.io-parser reads the namespace to the end when there is no comma
  EXPECT_EQ(p.nsp, "/admin");
}

TEST(SocketIoParse, ConnectPayloadMustBeAnObject) {
  bad("0[]");
  bad("0\"str\"");
  bad("0true");
  EXPECT_EQ(*ok("01").id, 1u);  // digits after the type are an ack id, as in socket.io-parser
  bad("0null");
  bad("0 ");
  bad("0{");
}

TEST(SocketIoParse, DisconnectCarriesNoPayload) {
  auto p = ok("1");
  EXPECT_EQ(p.type, PacketType::Disconnect);
  p = ok("1/admin,");
  EXPECT_EQ(p.nsp, "/admin");
  bad("1{}");
  bad("1\"bye\"");
}

TEST(SocketIoParse, EventFromTheSpec) {
  auto p = ok("2[\"hey\",\"Jude\"]");
  EXPECT_EQ(p.type, PacketType::Event);
  EXPECT_EQ(p.data, "[\"hey\",\"Jude\"]");
  p = ok("2/admin,[\"bar\"]");
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(p.data, "[\"bar\"]");
}

TEST(SocketIoParse, EventWithAckId) {
  auto p = ok("212[\"hello\"]");
  ASSERT_TRUE(p.id);
  EXPECT_EQ(*p.id, 12u);
  p = ok("2/admin,456[\"project:delete\",123]");
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(*p.id, 456u);
  EXPECT_EQ(p.data, "[\"project:delete\",123]");
  p = ok("20[\"a\"]");
  EXPECT_EQ(*p.id, 0u);
}

TEST(SocketIoParse, EscapedEventNamesAreAcceptedAndPassedVerbatim) {
  auto p = ok(R"(2["a\"b\u00e9\ud83d\ude00",1])");
  EXPECT_EQ(p.data, R"(["a\"b\u00e9\ud83d\ude00",1])");
  ok(R"(2["\u0000x"])");
  ok(R"(2[""])");
}

TEST(SocketIoParse, NumericEventNameAcceptedLikeSocketIoParser) {
  auto p = ok("2[42,\"x\"]");
  EXPECT_EQ(p.data, "[42,\"x\"]");
}

TEST(SocketIoParse, EventMustBeANonEmptyArrayWithAStringName) {
  bad("2");
  bad("2/admin,");
  bad("212");
  bad("2[]");
  bad("2{}");
  bad("2\"hello\"");
  bad("2[{}]");
  bad("2[null]");
  bad("2[[\"a\"]]");
  bad("2[true]");
  bad("2 ");
  bad("2hello");
}

TEST(SocketIoParse, ReservedEventNamesRejected) {
  for (const char* name : {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}) {
    bad(std::string("2[\"") + name + "\"]");
    bad(std::string("51-[\"") + name + "\",{\"_placeholder\":true,\"num\":0}]");
  }
  // Escaped spelling of a reserved name is still that name after JSON.parse.
  bad(R"(2["\u0063onnect"])");
  ok("2[\"Connect\"]");
  ok("2[\"connect \"]");
}

TEST(SocketIoParse, AckFromTheSpec) {
  auto p = ok("3/admin,456[]");
  EXPECT_EQ(p.type, PacketType::Ack);
  EXPECT_EQ(*p.id, 456u);
  EXPECT_EQ(p.data, "[]");
  p = ok("312[\"a\",{\"b\":1}]");
  EXPECT_EQ(*p.id, 12u);
  bad("312");
  bad("312{}");
  bad("312\"x\"");
  bad("312null");
}

TEST(SocketIoParse, ConnectErrorObjectOrString) {
  auto p = ok("4{\"message\":\"Not authorized\"}");
  EXPECT_EQ(p.type, PacketType::ConnectError);
  ok("4/admin,{\"message\":\"Not authorized\",\"data\":{\"a\":1}}");
  ok("4\"Not authorized\"");
  ok("4");
  bad("4[]");
  bad("4true");
}

TEST(SocketIoParse, BinaryEventFromTheSpec) {
  auto p = ok("51-[\"baz\",{\"_placeholder\":true,\"num\":0}]");
  EXPECT_EQ(p.type, PacketType::BinaryEvent);
  EXPECT_EQ(p.attachments, 1u);
  p = ok("51-/admin,456[\"project:delete\",{\"_placeholder\":true,\"num\":0}]");
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(*p.id, 456u);
  EXPECT_EQ(p.attachments, 1u);
  p = ok("510-[\"x\"]");
  EXPECT_EQ(p.attachments, 10u);
}

TEST(SocketIoParse, BinaryAckFromTheSpec) {
  auto p = ok("61-/admin,456[{\"_placeholder\":true,\"num\":0}]");
  EXPECT_EQ(p.type, PacketType::BinaryAck);
  EXPECT_EQ(p.attachments, 1u);
  EXPECT_EQ(*p.id, 456u);
  bad("61-456{}");
}

TEST(SocketIoParse, BinaryAttachmentCountIsRequiredAndBounded) {
  bad("5[\"a\"]");
  bad("5-[\"a\"]");
  bad("50-[\"a\"]");
  bad("511-[\"a\"]");  // above the default maxAttachments (10)
  bad("5a-[\"a\"]");
  bad("51[\"a\"]");
  bad("51");
  bad("5");
  bad("6");
  bad("599999999999999999999999999-[\"a\"]");
  bad("5-1-[\"a\"]");
  EXPECT_EQ(bad("511-[\"a\"]"), "too many attachments");
  sio::Packet p;
  std::string error;
  EXPECT_TRUE(sio::parse_packet("511-[\"a\"]", p, error, 11));
  EXPECT_FALSE(sio::parse_packet("52-[\"a\"]", p, error, 1));
}

TEST(SocketIoParse, AckIdMustFitInUint64) {
  auto p = ok("218446744073709551615[\"a\"]");
  EXPECT_EQ(*p.id, UINT64_MAX);
  EXPECT_EQ(bad("218446744073709551616[\"a\"]"), "ack id too large");
  bad("29999999999999999999999999999999999999[\"a\"]");
  bad("39999999999999999999999999999999999999[]");
}

TEST(SocketIoParse, EmptyAndUnknownTypes) {
  EXPECT_EQ(bad(""), "empty packet");
  EXPECT_EQ(bad("7"), "unknown packet type");
  EXPECT_EQ(bad("9[\"a\"]"), "unknown packet type");
  bad("a");
  bad("/");
  bad("-");
  bad(std::string_view("\0", 1));
}

TEST(SocketIoParse, NamespaceMustStartWithSlash) {
  bad("2admin,[\"a\"]");
  bad("2,[\"a\"]");
  auto p = ok("2/a/b,[\"a\"]");
  EXPECT_EQ(p.nsp, "/a/b");
}

TEST(SocketIoParse, InvalidJsonRejected) {
  bad("2[\"a\"");
  bad("2[\"a\",]");
  bad("2[\"a\"]x");
  bad("2[\"a\"][\"b\"]");
  bad("2['a']");
  bad("2[\"a\",NaN]");
  bad("2[\"a\",Infinity]");
  bad("2[\"a\",undefined]");
  bad("2[\"a\",01]");
  bad("2[\"a\" /* c */]");
  bad(std::string_view("2[\"a\"]\0", 7));
  bad(std::string_view("2[\"a\",\"\0\"]", 10));
  bad("2[\"a\",\"\t\"]");  // raw control character in a string
  ok("2 [\"a\"] \n");    // whitespace around the value is JSON
}

TEST(SocketIoParse, InvalidUtf8InJsonStringsRejected) {
  bad("2[\"\xff\"]");
  bad("2[\"a\",\"\xc3\"]");           // truncated sequence
  bad("2[\"a\",\"\xc0\xaf\"]");       // overlong encoding
  bad("2[\"a\",\"\xed\xa0\x80\"]");   // UTF-8 encoded surrogate
  bad("2[\"a\",\"\xf4\x90\x80\x80\"]");  // above U+10FFFF
  bad("2[\"\xe2\x82\"]");
  ok("2[\"\xe2\x82\xac\",\"\xf0\x9f\x98\x80\"]");
}

TEST(SocketIoParse, UnpairedSurrogateEscapesAcceptedLikeJsonParse) {
  // JSON.stringify("😀".slice(0, 1)) === '"\\ud83d"'; socket.io accepts it, so must we.
  const std::string text = R"(2["a","\ud83d","x\ude00y","\ud83d\ude00","\\ud800",{"k\udbff":"\ud800\u0041"}])";
  auto p = ok(text);
  EXPECT_EQ(p.data, text.substr(1));  // forwarded verbatim, not masked
  ok(R"(2["\ud800ev"])");
  bad(R"(2["a","\ud800)");
  bad(R"(2["a","\ud80"])");
  bad(R"(2["a","\uzzzz"])");
}

TEST(SocketIoParse, MaskLoneSurrogatesKeepsLengthAndPairs) {
  EXPECT_EQ(sio::mask_lone_surrogates(R"(["\ud800","\ud83d\ude00","\udc00x"])"),
            R"(["\ufffd","\ud83d\ude00","\ufffdx"])");
  EXPECT_EQ(sio::mask_lone_surrogates(R"(["\\ud800"])"), R"(["\\ud800"])");  // escaped backslash
  EXPECT_EQ(sio::mask_lone_surrogates(R"({"\ud800":1})"), R"({"\ufffd":1})");
  EXPECT_EQ(sio::mask_lone_surrogates(R"(["\ud800\ud800"])"), R"(["\ufffd\ufffd"])");
  EXPECT_EQ(sio::mask_lone_surrogates(R"(["\ud800)"), R"(["\ufffd)");
}

TEST(SocketIoParse, DeepNestingDoesNotOverflowTheStack) {
  const size_t depth = 100000;
  std::string unclosed = "2" + std::string(depth, '[');
  bad(unclosed);
  std::string closed = "2[\"deep\"," + std::string(depth, '[') + std::string(depth, ']') + "]";
  ok(closed);
  std::string objects = "2[\"deep\",";
  for (size_t i = 0; i < depth; ++i) objects += "{\"a\":";
  objects += "1";
  objects += std::string(depth, '}');
  objects += "]";
  ok(objects);
  bad("0" + std::string(depth, '{'));
}

TEST(SocketIoParse, EveryJsonKindPassesThroughVerbatim) {
  const std::string data =
      R"(["echo","",0,-1.5e300,18446744073709551616123,true,false,null,{"a":[1,{"b":"\u00e9"}]},"😀"])";
  const std::string text = "2" + data;  // Packet::data points into it
  auto p = ok(text);
  EXPECT_EQ(p.data, data);
}

TEST(SocketIoParse, BigNumberOutsideDoubleRangeRejected) {
  // Divergence from JSON.parse (which yields Infinity); no JS client ever sends these.
  bad("2[\"a\",1e400]");
}

TEST(SocketIoPacket, FailureResetsTheOutput) {
  sio::Packet p = ok("2/x,1[\"a\"]");
  std::string error;
  EXPECT_FALSE(sio::parse_packet("9", p, error));
  EXPECT_EQ(p.nsp, "/");
  EXPECT_FALSE(p.id);
}

TEST(SocketIoEncode, HeadersFromTheSpec) {
  EXPECT_EQ(sio::encode_header(PacketType::Connect, "/", std::nullopt, 0), "0");
  EXPECT_EQ(sio::encode_header(PacketType::Connect, "/admin", std::nullopt, 0), "0/admin,");
  EXPECT_EQ(sio::encode_header(PacketType::Event, "/", 12, 0), "212");
  EXPECT_EQ(sio::encode_header(PacketType::Event, "", std::nullopt, 0), "2");
  EXPECT_EQ(sio::encode_header(PacketType::Ack, "/admin", 456, 0), "3/admin,456");
  EXPECT_EQ(sio::encode_header(PacketType::ConnectError, "/", std::nullopt, 0), "4");
  EXPECT_EQ(sio::encode_header(PacketType::BinaryEvent, "/", std::nullopt, 1), "51-");
  EXPECT_EQ(sio::encode_header(PacketType::BinaryAck, "/admin", 7, 2), "62-/admin,7");
  EXPECT_EQ(sio::encode_header(PacketType::Event, "/", UINT64_MAX, 0), "218446744073709551615");
  EXPECT_EQ(sio::encode_packet(PacketType::Event, "/", std::nullopt, 0, "[\"hey\",\"Jude\"]"), "2[\"hey\",\"Jude\"]");
}

TEST(SocketIoEncode, RoundTripsThroughTheParser) {
  const std::string text =
      sio::encode_packet(PacketType::BinaryEvent, "/room", 99, 2,
                         R"(["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
  auto p = ok(text);
  EXPECT_EQ(p.type, PacketType::BinaryEvent);
  EXPECT_EQ(p.nsp, "/room");
  EXPECT_EQ(*p.id, 99u);
  EXPECT_EQ(p.attachments, 2u);
  EXPECT_EQ(p.data, R"(["up",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
}
