// Engine.IO v4 codec: cases from docs/engine.io-protocol/v4-current.md and engine.io-parser.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "engineio/packet.h"

namespace eio = collabio::engineio;
using eio::PacketType;

TEST(EngineIoTextPacket, SplitsTypeDigitAndData) {
  PacketType t{};
  std::string_view d;
  ASSERT_TRUE(eio::parse_text_packet("4hello", t, d));
  EXPECT_EQ(t, PacketType::Message);
  EXPECT_EQ(d, "hello");
  ASSERT_TRUE(eio::parse_text_packet("2", t, d));
  EXPECT_EQ(t, PacketType::Ping);
  EXPECT_EQ(d, "");
  ASSERT_TRUE(eio::parse_text_packet("3probe", t, d));
  EXPECT_EQ(t, PacketType::Pong);
  EXPECT_EQ(d, "probe");
  ASSERT_TRUE(eio::parse_text_packet("6", t, d));
  EXPECT_EQ(t, PacketType::Noop);
}

TEST(EngineIoTextPacket, RejectsEmptyAndUnknownTypes) {
  PacketType t{};
  std::string_view d;
  EXPECT_FALSE(eio::parse_text_packet("", t, d));
  EXPECT_FALSE(eio::parse_text_packet("7", t, d));
  EXPECT_FALSE(eio::parse_text_packet("9hello", t, d));
  EXPECT_FALSE(eio::parse_text_packet("hello", t, d));
  EXPECT_FALSE(eio::parse_text_packet("b", t, d));  // 'b' is only meaningful inside polling payloads
  EXPECT_FALSE(eio::parse_text_packet(std::string_view("\0", 1), t, d));
  EXPECT_FALSE(eio::parse_text_packet("\xff\xfe", t, d));
}

TEST(EngineIoOpenPacket, MatchesEngineIoByteForByte) {
  // engine.io v4 Socket#onOpen: JSON.stringify({sid, upgrades, pingInterval, pingTimeout, maxPayload}).
  EXPECT_EQ(eio::open_packet("lv_VI97HAXpY6yYWAAAC", true, 25000, 20000, 1000000),
            "0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,"
            "\"pingTimeout\":20000,\"maxPayload\":1000000}");
  EXPECT_EQ(eio::open_packet("abc", false, 100, 50, 1e8),
            "0{\"sid\":\"abc\",\"upgrades\":[],\"pingInterval\":100,\"pingTimeout\":50,\"maxPayload\":100000000}");
}

TEST(EngineIoOpenPacket, EscapesTheSid) {
  EXPECT_EQ(eio::open_packet("a\"b\\", false, 1, 2, 3),
            "0{\"sid\":\"a\\\"b\\\\\",\"upgrades\":[],\"pingInterval\":1,\"pingTimeout\":2,\"maxPayload\":3}");
}

TEST(EngineIoOpenPacket, LargeMaxPayloadIsExact) {
  EXPECT_NE(eio::open_packet("s", false, 1, 2, 9007199254740991ULL).find("\"maxPayload\":9007199254740991}"),
            std::string::npos);
}

TEST(EngineIoSid, TwentyUrlSafeCharactersAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const std::string sid = eio::generate_sid();
    ASSERT_EQ(sid.size(), 20u);
    for (const char c : sid) {
      const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
      ASSERT_TRUE(ok) << sid;
    }
    seen.insert(sid);
  }
  EXPECT_EQ(seen.size(), 2000u);
}

TEST(EngineIoSid, SafeFromSeveralThreads) {
  std::vector<std::vector<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& v : per_thread)
    threads.emplace_back([&v] {
      for (int i = 0; i < 500; ++i) v.push_back(eio::generate_sid());
    });
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (auto& v : per_thread) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 2000u);
}

TEST(EngineIoErrorJson, CodesAndMessagesOfEngineIo) {
  EXPECT_EQ(eio::error_json(0), "{\"code\":0,\"message\":\"Transport unknown\"}");
  EXPECT_EQ(eio::error_json(1), "{\"code\":1,\"message\":\"Session ID unknown\"}");
  EXPECT_EQ(eio::error_json(2), "{\"code\":2,\"message\":\"Bad handshake method\"}");
  EXPECT_EQ(eio::error_json(3), "{\"code\":3,\"message\":\"Bad request\"}");
  EXPECT_EQ(eio::error_json(4), "{\"code\":4,\"message\":\"Forbidden\"}");
  EXPECT_EQ(eio::error_json(eio::ErrorCode::UnsupportedProtocolVersion),
            "{\"code\":5,\"message\":\"Unsupported protocol version\"}");
  EXPECT_EQ(eio::error_json(42), "{\"code\":3,\"message\":\"Bad request\"}");
  EXPECT_EQ(eio::error_json(-1), "{\"code\":3,\"message\":\"Bad request\"}");
}

TEST(EngineIoErrorJson, CustomMessageIsEscaped) {
  // allowRequest's message goes to the client as the JSON body of the 403.
  EXPECT_EQ(eio::error_json(4, "no entry"), "{\"code\":4,\"message\":\"no entry\"}");
  EXPECT_EQ(eio::error_json(4, "say \"hi\"\n"), "{\"code\":4,\"message\":\"say \\\"hi\\\"\\n\"}");
  EXPECT_EQ(eio::error_json(1, ""), eio::error_json(1));
  EXPECT_EQ(eio::error_message(5), "Unsupported protocol version");
  EXPECT_EQ(eio::error_message(9), "Bad request");
}

TEST(EngineIoBase64, EncodesWithPadding) {
  EXPECT_EQ(eio::base64_encode(""), "");
  EXPECT_EQ(eio::base64_encode("f"), "Zg==");
  EXPECT_EQ(eio::base64_encode("fo"), "Zm8=");
  EXPECT_EQ(eio::base64_encode("foo"), "Zm9v");
  EXPECT_EQ(eio::base64_encode(std::string("\x01\x02\x03\x04", 4)), "AQIDBA==");
  EXPECT_EQ(eio::base64_encode("\xfb\xff"), "+/8=");
}

TEST(EngineIoBase64, DecodesStandardAndUrlSafe) {
  std::string out;
  ASSERT_TRUE(eio::base64_decode("AQIDBA==", out));
  EXPECT_EQ(out, std::string("\x01\x02\x03\x04", 4));
  ASSERT_TRUE(eio::base64_decode("AQIDBA", out));
  EXPECT_EQ(out, std::string("\x01\x02\x03\x04", 4));
  ASSERT_TRUE(eio::base64_decode("+/8=", out));
  EXPECT_EQ(out, "\xfb\xff");
  ASSERT_TRUE(eio::base64_decode("-_8", out));
  EXPECT_EQ(out, "\xfb\xff");
  ASSERT_TRUE(eio::base64_decode("", out));
  EXPECT_EQ(out, "");
}

TEST(EngineIoBase64, RejectsBadInput) {
  std::string out;
  EXPECT_FALSE(eio::base64_decode("A", out));
  EXPECT_FALSE(eio::base64_decode("AQ*D", out));
  EXPECT_FALSE(eio::base64_decode("A=BC", out));
  EXPECT_FALSE(eio::base64_decode("====", out));
  EXPECT_FALSE(eio::base64_decode("AQ ID", out));
}

TEST(EngineIoPayload, DecodesSpecExample) {
  // v4-current.md: "4hello\x1e4€" and "4hello\x1ebAQIDBA==".
  std::vector<eio::PollingPacket> out;
  ASSERT_TRUE(eio::decode_payload("4hello\x1e" "4\xe2\x82\xac", out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_FALSE(out[0].binary);
  EXPECT_EQ(out[0].data, "4hello");
  EXPECT_EQ(out[1].data, "4\xe2\x82\xac");

  out.clear();
  ASSERT_TRUE(eio::decode_payload("4hello\x1e" "bAQIDBA==", out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[1].binary);
  EXPECT_EQ(out[1].data, std::string("\x01\x02\x03\x04", 4));

  out.clear();
  ASSERT_TRUE(eio::decode_payload("2", out));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].data, "2");

  out.clear();
  ASSERT_TRUE(eio::decode_payload("b", out));  // empty binary message
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].binary);
  EXPECT_EQ(out[0].data, "");
}

TEST(EngineIoPayload, RejectsBadBodies) {
  std::vector<eio::PollingPacket> out;
  EXPECT_FALSE(eio::decode_payload("", out));
  EXPECT_FALSE(eio::decode_payload("4a\x1e", out));
  EXPECT_FALSE(eio::decode_payload("\x1e" "4a", out));
  EXPECT_FALSE(eio::decode_payload("4a\x1e\x1e" "4b", out));
  EXPECT_FALSE(eio::decode_payload("9zz", out));
  EXPECT_FALSE(eio::decode_payload("4a\x1e" "b!!!!", out));
  out.clear();
  EXPECT_FALSE(eio::decode_payload("4a\x1exyz\x1e" "4b", out));
  ASSERT_EQ(out.size(), 1u);  // decoding stops at the first bad packet, like engine.io-parser
  EXPECT_EQ(out[0].data, "4a");
}

TEST(EngineIoPayload, EncodeRoundTrips) {
  const std::vector<eio::PollingPacket> packets = {
      {false, "4hello"}, {true, std::string("\x01\x02\x03\x04", 4)}, {false, "6"}, {true, ""}};
  const std::string body = eio::encode_payload(packets);
  EXPECT_EQ(body, "4hello\x1e" "bAQIDBA==\x1e" "6\x1e" "b");
  std::vector<eio::PollingPacket> back;
  ASSERT_TRUE(eio::decode_payload(body, back));
  ASSERT_EQ(back.size(), packets.size());
  for (size_t i = 0; i < back.size(); ++i) {
    EXPECT_EQ(back[i].binary, packets[i].binary);
    EXPECT_EQ(back[i].data, packets[i].data);
  }
  EXPECT_EQ(eio::encode_payload({}), "");
}
