// RFC 6455 framing (native/core/ws_frame.h): the server-side parser refuses every malformed client
// frame with the close code the RFC asks for, reassembles fragments, and never reads past its input.
#include "core/ws_frame.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

using namespace collabio::core::ws;

namespace {

// Everything the parser delivered, in order.
struct Recorder : Parser::Handler {
  struct Msg {
    bool binary;
    std::string payload;
  };
  std::vector<Msg> messages;
  std::vector<std::string> pings, pongs;
  std::vector<std::pair<uint16_t, std::string>> closes;

  void on_message(bool binary, std::string&& payload) override { messages.push_back({binary, std::move(payload)}); }
  void on_ping(std::string_view p) override { pings.emplace_back(p); }
  void on_pong(std::string_view p) override { pongs.emplace_back(p); }
  void on_close(uint16_t code, std::string_view reason) override { closes.emplace_back(code, std::string(reason)); }
};

constexpr uint8_t kMask[4] = {0x37, 0xfa, 0x21, 0x3d};

// A client frame: `first` is the first header byte (FIN/RSV/opcode); the payload is masked with
// kMask unless `masked` is false. `len_form` forces the 16-bit (126) or 64-bit (127) length form.
std::vector<uint8_t> client_frame(uint8_t first, std::string_view payload, bool masked = true, int len_form = 0) {
  std::vector<uint8_t> out{first};
  const uint64_t n = payload.size();
  const uint8_t m = masked ? 0x80 : 0;
  if (len_form == 127 || (len_form == 0 && n > 0xFFFF)) {
    out.push_back(m | 127);
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
  } else if (len_form == 126 || (len_form == 0 && n >= 126)) {
    out.push_back(m | 126);
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(n));
  } else {
    out.push_back(m | static_cast<uint8_t>(n));
  }
  if (masked) out.insert(out.end(), kMask, kMask + 4);
  for (size_t i = 0; i < n; ++i)
    out.push_back(static_cast<uint8_t>(payload[i]) ^ (masked ? kMask[i & 3] : 0));
  return out;
}

std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

size_t feed(Parser& p, const std::vector<uint8_t>& bytes, Recorder& r) { return p.feed(bytes.data(), bytes.size(), r); }

constexpr uint8_t kFinText = 0x81, kFinBinary = 0x82, kFinCont = 0x80, kText = 0x01, kBinary = 0x02, kCont = 0x00;
constexpr uint8_t kClose = 0x88, kPing = 0x89, kPong = 0x8A;

}  // namespace

// ---- masking ----

TEST(WsFrameParser, UnmasksASingleTextFrame) {
  Parser p(1 << 20);
  Recorder r;
  const auto f = client_frame(kFinText, "Hello");
  EXPECT_EQ(feed(p, f, r), f.size());
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_FALSE(r.messages[0].binary);
  EXPECT_EQ(r.messages[0].payload, "Hello");
}

TEST(WsFrameParser, Rfc6455MaskedHelloExample) {
  // RFC 6455 5.7: a single-frame masked text message containing "Hello".
  const std::vector<uint8_t> f{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58};
  Parser p(1 << 20);
  Recorder r;
  EXPECT_EQ(feed(p, f, r), f.size());
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].payload, "Hello");
}

TEST(WsFrameParser, RefusesAnUnmaskedClientFrame) {
  Parser p(1 << 20);
  Recorder r;
  EXPECT_EQ(feed(p, client_frame(kFinText, "Hello", false), r), Parser::npos);
  EXPECT_EQ(p.error_code(), kProtocolError);
  EXPECT_TRUE(r.messages.empty());
}

TEST(WsFrameParser, BinaryPayloadKeepsEveryByteValue) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  Parser p(1 << 20);
  Recorder r;
  feed(p, client_frame(kFinBinary, all), r);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_TRUE(r.messages[0].binary);
  EXPECT_EQ(r.messages[0].payload, all);
}

// ---- incremental input ----

TEST(WsFrameParser, ByteByByteInputGivesTheSameMessages) {
  const auto bytes = cat({client_frame(kFinText, "first"), client_frame(kFinBinary, std::string(300, 'x')),
                          client_frame(kFinText, std::string(70000, 'y'))});
  Parser p(1 << 20);
  Recorder r;
  // The caller's contract: keep unconsumed bytes and feed again with more.
  std::vector<uint8_t> pending;
  for (uint8_t b : bytes) {
    pending.push_back(b);
    const size_t used = feed(p, pending, r);
    ASSERT_NE(used, Parser::npos);
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(used));
  }
  EXPECT_TRUE(pending.empty());
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].payload, "first");
  EXPECT_EQ(r.messages[1].payload, std::string(300, 'x'));
  EXPECT_EQ(r.messages[2].payload, std::string(70000, 'y'));
}

TEST(WsFrameParser, AStepStopsOnceItsMessagesReachTheBoundAndTheNextCallGoesOn) {
  // Two 100-byte messages and a ping fed with max_delivered = 50: the first message crosses the
  // bound, so the call returns after it, with the rest left and yielded() set; the next call,
  // given only what was left, delivers the rest.
  const auto first = client_frame(kFinText, std::string(100, 'a'));
  const auto bytes = cat({first, client_frame(kFinBinary, std::string(100, 'b')), client_frame(kPing, "p")});
  Parser p(1 << 20);
  Recorder r;
  const size_t used = p.feed(bytes.data(), bytes.size(), r, 50);
  EXPECT_EQ(used, first.size());
  EXPECT_TRUE(p.yielded());
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].payload, std::string(100, 'a'));
  EXPECT_EQ(p.feed(bytes.data() + used, bytes.size() - used, r, 50), bytes.size() - used - 7);
  EXPECT_TRUE(p.yielded()) << "the ping is left for a third call";
  EXPECT_EQ(p.feed(bytes.data() + bytes.size() - 7, 7, r, 50), 7u);
  EXPECT_FALSE(p.yielded());
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].payload, std::string(100, 'b'));
  EXPECT_EQ(r.pings, std::vector<std::string>{"p"});
}

TEST(WsFrameParser, AStepThatEndsWithItsInputHasNotYielded) {
  // A bound of 0 still delivers one message per call, so a caller always makes progress; a step
  // whose last message reaches the bound with nothing after it has not yielded.
  const auto bytes = cat({client_frame(kFinText, "one"), client_frame(kFinText, "")});
  Parser p(1 << 20);
  Recorder r;
  const size_t used = p.feed(bytes.data(), bytes.size(), r, 3);
  EXPECT_EQ(used, 9u);
  EXPECT_TRUE(p.yielded());
  EXPECT_EQ(p.feed(bytes.data() + used, bytes.size() - used, r, 0), bytes.size() - used);
  EXPECT_FALSE(p.yielded());
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1].payload, "");
  // An incomplete frame left after the bound is not a yield: it needs more input.
  Parser q(1 << 20);
  const auto partial = cat({client_frame(kFinText, "whole"), {kFinText, 0x85, 0x01}});
  EXPECT_EQ(q.feed(partial.data(), partial.size(), r, 1), partial.size() - 3);
  EXPECT_FALSE(q.yielded());
  EXPECT_EQ(r.messages.back().payload, "whole");
}

TEST(WsFrameParser, TruncatedFrameConsumesNothing) {
  const auto f = client_frame(kFinText, "truncated");
  for (size_t cut = 0; cut < f.size(); ++cut) {
    Parser p(1 << 20);
    Recorder r;
    std::vector<uint8_t> part(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(cut));
    EXPECT_EQ(feed(p, part, r), 0u) << "cut at " << cut;
    EXPECT_TRUE(r.messages.empty());
  }
}

// ---- fragmentation ----

TEST(WsFrameParser, ReassemblesFragments) {
  Parser p(1 << 20);
  Recorder r;
  const auto bytes = cat({client_frame(kText, "Hel"), client_frame(kCont, "l"), client_frame(kFinCont, "o")});
  EXPECT_EQ(feed(p, bytes, r), bytes.size());
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].payload, "Hello");
  EXPECT_FALSE(r.messages[0].binary);
}

TEST(WsFrameParser, ControlFramesMayArriveBetweenFragments) {
  Parser p(1 << 20);
  Recorder r;
  const auto bytes = cat({client_frame(kBinary, "ab"), client_frame(kPing, "p"), client_frame(kFinCont, "cd")});
  EXPECT_EQ(feed(p, bytes, r), bytes.size());
  ASSERT_EQ(r.pings.size(), 1u);
  EXPECT_EQ(r.pings[0], "p");
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_TRUE(r.messages[0].binary);
  EXPECT_EQ(r.messages[0].payload, "abcd");
}

TEST(WsFrameParser, RefusesContinuationWithoutAMessage) {
  Parser p(1 << 20);
  Recorder r;
  EXPECT_EQ(feed(p, client_frame(kFinCont, "x"), r), Parser::npos);
  EXPECT_EQ(p.error_code(), kProtocolError);
}

TEST(WsFrameParser, RefusesANewMessageInsideAFragmentedOne) {
  Parser p(1 << 20);
  Recorder r;
  EXPECT_EQ(feed(p, cat({client_frame(kText, "a"), client_frame(kFinText, "b")}), r), Parser::npos);
  EXPECT_EQ(p.error_code(), kProtocolError);
  EXPECT_TRUE(r.messages.empty());
}

TEST(WsFrameParser, EmptyFinalFragmentEndsTheMessage) {
  Parser p(1 << 20);
  Recorder r;
  feed(p, cat({client_frame(kText, "abc"), client_frame(kFinCont, "")}), r);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].payload, "abc");
}

// ---- control frames ----

TEST(WsFrameParser, DeliversPingAndPongPayloads) {
  Parser p(1 << 20);
  Recorder r;
  feed(p, cat({client_frame(kPing, "are you there"), client_frame(kPong, "")}), r);
  ASSERT_EQ(r.pings.size(), 1u);
  EXPECT_EQ(r.pings[0], "are you there");
  ASSERT_EQ(r.pongs.size(), 1u);
  EXPECT_EQ(r.pongs[0], "");
}

TEST(WsFrameParser, AcceptsA125BytePing) {
  Parser p(1 << 20);
  Recorder r;
  EXPECT_NE(feed(p, client_frame(kPing, std::string(125, 'p')), r), Parser::npos);
  ASSERT_EQ(r.pings.size(), 1u);
  EXPECT_EQ(r.pings[0].size(), 125u);
}

TEST(WsFrameParser, RefusesAControlFrameLongerThan125) {
  Parser p(1 << 20);
  Recorder r;
  EXPECT_EQ(feed(p, client_frame(kPing, std::string(126, 'p')), r), Parser::npos);
  EXPECT_EQ(p.error_code(), kProtocolError);
  EXPECT_TRUE(r.pings.empty());
}

TEST(WsFrameParser, RefusesAFragmentedControlFrame) {
  Parser p(1 << 20);
  Recorder r;
  EXPECT_EQ(feed(p, client_frame(0x09 /* ping without FIN */, "x"), r), Parser::npos);
  EXPECT_EQ(p.error_code(), kProtocolError);
}

TEST(WsFrameParser, RefusesUnknownOpcodes) {
  for (uint8_t op : {0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
    Parser p(1 << 20);
    Recorder r;
    EXPECT_EQ(feed(p, client_frame(static_cast<uint8_t>(0x80 | op), "x"), r), Parser::npos) << int(op);
    EXPECT_EQ(p.error_code(), kProtocolError) << int(op);
  }
}

// ---- close frames and codes ----

TEST(WsFrameParser, CloseWithCodeAndReasonStopsTheParser) {
  Parser p(1 << 20);
  Recorder r;
  std::string body{char(0x03), char(0xE9)};  // 1001
  body += "bye";
  const auto bytes = cat({client_frame(kClose, body), client_frame(kFinText, "after close")});
  const size_t used = feed(p, bytes, r);
  EXPECT_EQ(used, client_frame(kClose, body).size());  // nothing after the close frame is read
  ASSERT_EQ(r.closes.size(), 1u);
  EXPECT_EQ(r.closes[0].first, 1001);
  EXPECT_EQ(r.closes[0].second, "bye");
  EXPECT_TRUE(p.closed());
  EXPECT_TRUE(r.messages.empty());
}

TEST(WsFrameParser, EmptyCloseMeansNormal) {
  Parser p(1 << 20);
  Recorder r;
  feed(p, client_frame(kClose, ""), r);
  ASSERT_EQ(r.closes.size(), 1u);
  EXPECT_EQ(r.closes[0].first, kNormal);
}

TEST(WsFrameParser, RefusesACloseWithAOneByteBody) {
  Parser p(1 << 20);
  Recorder r;
  EXPECT_EQ(feed(p, client_frame(kClose, "x"), r), Parser::npos);
  EXPECT_EQ(p.error_code(), kProtocolError);
}

TEST(WsFrameParser, RefusesACloseReasonThatIsNotUtf8) {
  Parser p(1 << 20);
  Recorder r;
  const std::string body{char(0x03), char(0xE8), char(0xC0), char(0xAF)};
  EXPECT_EQ(feed(p, client_frame(kClose, body), r), Parser::npos);
  EXPECT_EQ(p.error_code(), kInvalidPayload);
  EXPECT_TRUE(r.closes.empty());
}

TEST(WsFrameEncoder, CloseFrameCarriesCodeAndTruncatedReason) {
  const std::string f = encode_close(kTooBig, std::string(200, 'r'));
  ASSERT_GE(f.size(), 4u);
  EXPECT_EQ(uint8_t(f[0]), 0x88);
  EXPECT_EQ(uint8_t(f[1]), 125);  // 2 bytes of code + 123 bytes of reason
  EXPECT_EQ((uint8_t(f[2]) << 8) | uint8_t(f[3]), 1009);
  EXPECT_EQ(f.size(), 2u + 125u);
}

TEST(WsFrameEncoder, CloseCodeZeroSendsAnEmptyClose) { EXPECT_EQ(encode_close(0, "ignored"), std::string("\x88\x00", 2)); }

// ---- reserved bits ----

TEST(WsFrameParser, RefusesEachReservedBit) {
  for (uint8_t rsv : {0x40, 0x20, 0x10}) {
    Parser p(1 << 20);
    Recorder r;
    EXPECT_EQ(feed(p, client_frame(static_cast<uint8_t>(kFinText | rsv), "x"), r), Parser::npos) << int(rsv);
    EXPECT_EQ(p.error_code(), kProtocolError);
    EXPECT_TRUE(r.messages.empty());
  }
}

// ---- lengths ----

TEST(WsFrameParser, RefusesNonMinimal16BitLength) {
  Parser p(1 << 20);
  Recorder r;
  EXPECT_EQ(feed(p, client_frame(kFinText, "short", true, 126), r), Parser::npos);
  EXPECT_EQ(p.error_code(), kProtocolError);
}

TEST(WsFrameParser, RefusesNonMinimal64BitLength) {
  Parser p(1 << 20);
  Recorder r;
  EXPECT_EQ(feed(p, client_frame(kFinText, std::string(200, 'a'), true, 127), r), Parser::npos);
  EXPECT_EQ(p.error_code(), kProtocolError);
}

TEST(WsFrameParser, RefusesA64BitLengthWithTheTopBitSet) {
  const std::vector<uint8_t> f{0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
  Parser p(UINT64_MAX);
  Recorder r;
  EXPECT_EQ(feed(p, f, r), Parser::npos);
  EXPECT_EQ(p.error_code(), kProtocolError);
}

TEST(WsFrameParser, HugeDeclaredLengthFailsOnTheHeaderAlone) {
  // 2^40 bytes declared, nothing sent: the limit is checked before any payload is buffered.
  const std::vector<uint8_t> f{0x82, 0xFF, 0, 0, 0x01, 0, 0, 0, 0, 0, 1, 2, 3, 4};
  Parser p(1 << 20);
  Recorder r;
  EXPECT_EQ(feed(p, f, r), Parser::npos);
  EXPECT_EQ(p.error_code(), kTooBig);
}

// ---- size limit ----

TEST(WsFrameParser, MessageAtTheLimitPassesOneMoreByteFails) {
  {
    Parser p(1000);
    Recorder r;
    EXPECT_NE(feed(p, client_frame(kFinBinary, std::string(1000, 'a')), r), Parser::npos);
    EXPECT_EQ(r.messages.size(), 1u);
  }
  {
    Parser p(1000);
    Recorder r;
    EXPECT_EQ(feed(p, client_frame(kFinBinary, std::string(1001, 'a')), r), Parser::npos);
    EXPECT_EQ(p.error_code(), kTooBig);
  }
}

TEST(WsFrameParser, LimitAppliesToTheSumOfFragments) {
  Parser p(1000);
  Recorder r;
  const auto bytes = cat({client_frame(kBinary, std::string(600, 'a')), client_frame(kFinCont, std::string(600, 'b'))});
  EXPECT_EQ(feed(p, bytes, r), Parser::npos);
  EXPECT_EQ(p.error_code(), kTooBig);
  EXPECT_TRUE(r.messages.empty());
}

// ---- UTF-8 ----

TEST(WsFrameParser, TextMustBeUtf8) {
  Parser p(1 << 20);
  Recorder r;
  EXPECT_EQ(feed(p, client_frame(kFinText, "\xff\xfe"), r), Parser::npos);
  EXPECT_EQ(p.error_code(), kInvalidPayload);
  EXPECT_TRUE(r.messages.empty());
}

TEST(WsFrameParser, BinaryNeedNotBeUtf8) {
  Parser p(1 << 20);
  Recorder r;
  EXPECT_NE(feed(p, client_frame(kFinBinary, "\xff\xfe"), r), Parser::npos);
  EXPECT_EQ(r.messages.size(), 1u);
}

TEST(WsFrameParser, CodePointSplitAcrossFragmentsIsValid) {
  // U+20AC EURO SIGN is E2 82 AC; UTF-8 is checked on the whole message, not per fragment.
  Parser p(1 << 20);
  Recorder r;
  const auto bytes = cat({client_frame(kText, "\xE2\x82"), client_frame(kFinCont, "\xAC")});
  EXPECT_EQ(feed(p, bytes, r), bytes.size());
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0].payload, "\xE2\x82\xAC");
}

TEST(WsUtf8, AcceptsValidSequences) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii that is longer than eight bytes"));
  EXPECT_TRUE(valid_utf8("\xC2\x80"));            // U+0080
  EXPECT_TRUE(valid_utf8("\xDF\xBF"));            // U+07FF
  EXPECT_TRUE(valid_utf8("\xE0\xA0\x80"));        // U+0800
  EXPECT_TRUE(valid_utf8("\xED\x9F\xBF"));        // U+D7FF
  EXPECT_TRUE(valid_utf8("\xEE\x80\x80"));        // U+E000
  EXPECT_TRUE(valid_utf8("\xF0\x90\x80\x80"));    // U+10000
  EXPECT_TRUE(valid_utf8("\xF4\x8F\xBF\xBF"));    // U+10FFFF
  EXPECT_TRUE(valid_utf8("abcdefgh\xCE\xBAxyz"));  // multibyte after the ASCII fast path
}

TEST(WsUtf8, RefusesInvalidSequences) {
  EXPECT_FALSE(valid_utf8("\x80"));                 // lone continuation byte
  EXPECT_FALSE(valid_utf8("\xC0\xAF"));             // overlong '/'
  EXPECT_FALSE(valid_utf8("\xE0\x80\xAF"));         // overlong, 3 bytes
  EXPECT_FALSE(valid_utf8("\xF0\x80\x80\xAF"));     // overlong, 4 bytes
  EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));         // U+D800 surrogate
  EXPECT_FALSE(valid_utf8("\xED\xBF\xBF"));         // U+DFFF surrogate
  EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));     // U+110000
  EXPECT_FALSE(valid_utf8("\xF8\x88\x80\x80\x80"));  // 5-byte form
  EXPECT_FALSE(valid_utf8("\xFF"));
  EXPECT_FALSE(valid_utf8("abc\xE2\x82"));           // truncated at the end
  EXPECT_FALSE(valid_utf8("abcdefgh\xC2"));          // truncated after the fast path
  EXPECT_FALSE(valid_utf8("\xC2\x41"));              // continuation byte missing
}

// ---- encoder and handshake helpers ----

TEST(WsFrameEncoder, UsesTheMinimalLengthForm) {
  EXPECT_EQ(header_size(0), 2u);
  EXPECT_EQ(header_size(125), 2u);
  EXPECT_EQ(header_size(126), 4u);
  EXPECT_EQ(header_size(0xFFFF), 4u);
  EXPECT_EQ(header_size(0x10000), 10u);
  for (size_t n : {size_t(0), size_t(125), size_t(126), size_t(0xFFFF), size_t(0x10000)}) {
    const std::string f = encode_frame(Opcode::Binary, std::string(n, 'z'));
    EXPECT_EQ(f.size(), header_size(n) + n);
    EXPECT_EQ(uint8_t(f[0]), 0x82);
    EXPECT_EQ(uint8_t(f[1]) & 0x80, 0);  // server frames are not masked
  }
}

TEST(WsFrameEncoder, AFrameOfTwoPartsEqualsTheFrameOfTheirConcatenation) {
  // An Engine.IO message is framed from its '4' prefix and the Socket.IO packet, copied once.
  for (size_t n : {size_t(0), size_t(124), size_t(125), size_t(0xFFFE), size_t(0xFFFF), size_t(0x10000)}) {
    const std::string tail(n, 'q');
    EXPECT_EQ(encode_frame(Opcode::Text, "4", tail), encode_frame(Opcode::Text, "4" + tail)) << n;
    EXPECT_EQ(encode_frame(Opcode::Text, "", tail, true), encode_frame(Opcode::Text, tail, true)) << n;
  }
  const Frame f = make_frame(Opcode::Text, "4", "2[\"x\"]", false);
  EXPECT_EQ(f->payload(), "42[\"x\"]");
  EXPECT_FALSE(f->compressible());
  EXPECT_TRUE(make_frame(Opcode::Text, "4", "2[]")->compressible());
}

TEST(WsFrameEncoder, ServerFramesRoundTripThroughAMaskingClient) {
  // What we encode, re-masked as a client would send it, parses back to the same payload.
  for (size_t n : {size_t(5), size_t(300), size_t(70000)}) {
    const std::string payload(n, 'q');
    const std::string f = encode_frame(Opcode::Text, payload);
    const size_t h = header_size(n);
    std::vector<uint8_t> masked(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(h));
    masked[1] |= 0x80;
    masked.insert(masked.end(), kMask, kMask + 4);
    for (size_t i = 0; i < n; ++i) masked.push_back(uint8_t(f[h + i]) ^ kMask[i & 3]);
    Parser p(1 << 20);
    Recorder r;
    EXPECT_EQ(feed(p, masked, r), masked.size());
    ASSERT_EQ(r.messages.size(), 1u);
    EXPECT_EQ(r.messages[0].payload, payload);
  }
}

TEST(WsHandshake, AcceptKeyMatchesTheRfcExample) {
  // RFC 6455 1.3.
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsHandshake, RefusesKeysThatAreNotTheBase64Of16Bytes) {
  EXPECT_EQ(accept_key(""), "");
  EXPECT_EQ(accept_key("short"), "");
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ"), "");        // 22 characters, no padding
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZSE="), "");      // 24 characters, 17 bytes
  EXPECT_EQ(accept_key("!!!!!!!!!!!!!!!!!!!!!!=="), "");      // not base64
}
