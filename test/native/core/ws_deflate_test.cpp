// permessage-deflate (RFC 7692, native/core/ws_deflate.h): the negotiation answers the offers
// browsers and ws send, declines malformed ones, and compressed messages survive a round trip
// through zlib in both directions, with inflation bounded by the message limit.
#include "core/ws_deflate.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/ws_frame.h"

using namespace collabio::core::ws;

namespace {

DeflateOptions on() {
  DeflateOptions o;
  o.enabled = true;
  return o;
}

// A long text that compresses well but not trivially (chat-like JSON).
std::string chat_payload(size_t n) {
  std::string s = "42[\"chat\",[";
  for (size_t i = 0; s.size() < n; ++i)
    s += "{\"user\":\"user" + std::to_string(i % 17) + "\",\"text\":\"message number " + std::to_string(i) + "\"},";
  s += "{}]]";
  return s;
}

// Inflates with zlib directly (raw, window `bits`), appending the RFC 7692 tail: the reference
// the codec's output must satisfy.
std::string zlib_inflate(std::string_view data, int bits = 15) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, -bits), Z_OK);
  std::string in(data);
  in.append("\x00\x00\xff\xff", 4);
  std::string out(in.size() * 64 + 1024, '\0');
  z.next_in = reinterpret_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  const int r = inflate(&z, Z_SYNC_FLUSH);
  EXPECT_TRUE(r == Z_OK || r == Z_STREAM_END) << r;
  out.resize(out.size() - z.avail_out);
  inflateEnd(&z);
  return out;
}

// Deflates with zlib directly, sync flush, tail removed: what a client sends.
std::string zlib_deflate(std::string_view data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 16, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_SYNC_FLUSH), Z_OK);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  EXPECT_GE(out.size(), 4u);
  out.resize(out.size() - 4);
  return out;
}

constexpr uint8_t kMask[4] = {0x37, 0xfa, 0x21, 0x3d};

std::vector<uint8_t> client_frame(uint8_t first, std::string_view payload) {
  std::vector<uint8_t> out{first};
  const uint64_t n = payload.size();
  if (n > 0xFFFF) {
    out.push_back(0x80 | 127);
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<uint8_t>(n >> (8 * i)));
  } else if (n >= 126) {
    out.push_back(0x80 | 126);
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(n));
  } else {
    out.push_back(0x80 | static_cast<uint8_t>(n));
  }
  out.insert(out.end(), kMask, kMask + 4);
  for (size_t i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(payload[i]) ^ kMask[i & 3]);
  return out;
}

struct Recorder : Parser::Handler {
  std::vector<std::string> messages;
  void on_message(bool, std::string&& payload) override { messages.push_back(std::move(payload)); }
  void on_ping(std::string_view) override {}
  void on_pong(std::string_view) override {}
  void on_close(uint16_t, std::string_view) override {}
};

// ---- negotiation ----

TEST(WsDeflateNegotiation, AcceptsTheBrowserOfferWithoutContextTakeover) {
  std::string response;
  const auto d = negotiate_deflate("permessage-deflate; client_max_window_bits", on(), response);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->enabled);
  EXPECT_EQ(d->window_bits, 15);
  EXPECT_EQ(response, "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
}

TEST(WsDeflateNegotiation, IsOffWhenTheServerDisablesIt) {
  std::string response = "stale";
  EXPECT_FALSE(negotiate_deflate("permessage-deflate", DeflateOptions{}, response));
  EXPECT_TRUE(response.empty());
}

TEST(WsDeflateNegotiation, HonoursTheClientsServerWindowLimit) {
  std::string response;
  const auto d = negotiate_deflate("permessage-deflate; server_max_window_bits=10", on(), response);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->window_bits, 10);
  EXPECT_EQ(response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10");
  // Quoted values are valid too (RFC 7692 section 7.1: token or quoted-string).
  EXPECT_TRUE(negotiate_deflate("permessage-deflate; server_max_window_bits=\"12\"", on(), response));
  EXPECT_NE(response.find("server_max_window_bits=12"), std::string::npos);
}

TEST(WsDeflateNegotiation, AppliesTheServersOwnWindowLimit) {
  auto o = on();
  o.max_window_bits = 11;
  std::string response;
  auto d = negotiate_deflate("permessage-deflate", o, response);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->window_bits, 11);
  EXPECT_NE(response.find("server_max_window_bits=11"), std::string::npos);
  d = negotiate_deflate("permessage-deflate; server_max_window_bits=13", o, response);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->window_bits, 11);  // the smaller of both
}

TEST(WsDeflateNegotiation, DeclinesMalformedOffersAndTakesTheNextOne) {
  std::string response;
  for (const char* bad : {"permessage-deflate; server_max_window_bits=8", "permessage-deflate; server_max_window_bits",
                          "permessage-deflate; server_max_window_bits=16", "permessage-deflate; server_max_window_bits=09",
                          "permessage-deflate; client_max_window_bits=7", "permessage-deflate; x_unknown",
                          "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                          "permessage-deflate; client_no_context_takeover=1", "x-webkit-deflate-frame", ""}) {
    EXPECT_FALSE(negotiate_deflate(bad, on(), response)) << bad;
    EXPECT_TRUE(response.empty()) << bad;
    const std::string list = std::string(bad) + ", permessage-deflate; client_max_window_bits=12";
    const auto d = negotiate_deflate(list, on(), response);
    ASSERT_TRUE(d) << list;
    EXPECT_EQ(d->window_bits, 15);
  }
}

TEST(WsDeflateNegotiation, AcceptsWhitespaceAndEveryKnownParameter) {
  std::string response;
  EXPECT_TRUE(negotiate_deflate(
      "permessage-deflate ;client_no_context_takeover ; server_no_context_takeover;client_max_window_bits=9 ", on(),
      response));
}

TEST(WsDeflateNegotiation, ServerContextTakeoverIsOptInAndYieldsToTheClient) {
  auto o = on();
  o.server_context_takeover = true;
  std::string response;
  auto d = negotiate_deflate("permessage-deflate; client_max_window_bits", o, response);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->context_takeover);
  EXPECT_EQ(response, "permessage-deflate; client_no_context_takeover");
  d = negotiate_deflate("permessage-deflate; server_no_context_takeover", o, response);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->context_takeover);
  EXPECT_FALSE(negotiate_deflate("permessage-deflate", on(), response)->context_takeover);
}

// ---- messages ----

TEST(WsDeflateMessage, CompressedOutputInflatesWithZlib) {
  const std::string msg = chat_payload(20000);
  const std::string z = deflate_message(msg, 15, -1);
  EXPECT_LT(z.size(), msg.size() / 4);
  EXPECT_EQ(zlib_inflate(z), msg);
  // A smaller window is one a client with that window can read back.
  const std::string z9 = deflate_message(msg, 9, 1);
  EXPECT_EQ(zlib_inflate(z9, 9), msg);
  EXPECT_EQ(zlib_inflate(deflate_message("", 15, -1)), "");
}

TEST(WsDeflateMessage, InflatesWhatZlibDeflated) {
  const std::string msg = chat_payload(50000);
  std::string out;
  ASSERT_EQ(inflate_message(zlib_deflate(msg), 1 << 20, out), InflateResult::Ok);
  EXPECT_EQ(out, msg);
  // Each message on its own: the stream is reset in between.
  ASSERT_EQ(inflate_message(zlib_deflate("second"), 1 << 20, out), InflateResult::Ok);
  EXPECT_EQ(out, "second");
}

TEST(WsDeflateMessage, StopsAtTheLimit) {
  // 10 MB of zeros deflate to about 10 KB: a bomb for a 1 MB limit.
  const std::string zeros(10u << 20, '\0');
  const std::string bomb = zlib_deflate(zeros);
  EXPECT_LT(bomb.size(), 20000u);
  std::string out;
  EXPECT_EQ(inflate_message(bomb, 1000000, out), InflateResult::TooBig);
  EXPECT_LE(out.capacity(), 2000000u);  // never grew much past the limit
  // Exactly at the limit is fine; one byte more is not.
  const std::string exact(1000, 'a');
  EXPECT_EQ(inflate_message(zlib_deflate(exact), 1000, out), InflateResult::Ok);
  EXPECT_EQ(out, exact);
  EXPECT_EQ(inflate_message(zlib_deflate(exact + "b"), 1000, out), InflateResult::TooBig);
}

TEST(WsDeflateMessage, RejectsCorruptData) {
  std::string out;
  EXPECT_EQ(inflate_message("\xff\xff\xff\xff garbage", 1 << 20, out), InflateResult::Invalid);
  // A back-reference before the start: context takeover the client was told not to use.
  std::string msg = zlib_deflate(chat_payload(2000));
  EXPECT_EQ(inflate_message(std::string("\x02") + "garbage", 1 << 20, out), InflateResult::Invalid);
  // The same stream still works afterwards.
  EXPECT_EQ(inflate_message(msg, 1 << 20, out), InflateResult::Ok);
}

TEST(WsDeflateMessage, AContextDeflaterCompressesAgainstEarlierMessages) {
  // The client keeps one inflate stream for the connection (context takeover on the server side).
  z_stream z{};
  ASSERT_EQ(inflateInit2(&z, -15), Z_OK);
  ContextDeflater deflater(15, -1);
  const std::string first = chat_payload(3000);
  size_t first_size = 0, second_size = 0;
  for (int i = 0; i < 3; ++i) {
    const std::string msg = i == 2 ? std::string("short and new") : first;
    std::string in = deflater.compress(msg);
    ASSERT_FALSE(in.empty());
    if (i == 0) first_size = in.size();
    if (i == 1) second_size = in.size();
    in.append("\x00\x00\xff\xff", 4);
    std::string out(msg.size() + 64, '\0');
    z.next_in = reinterpret_cast<Bytef*>(in.data());
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    ASSERT_EQ(inflate(&z, Z_SYNC_FLUSH), Z_OK);
    out.resize(out.size() - z.avail_out);
    EXPECT_EQ(out, msg) << i;
  }
  inflateEnd(&z);
  // The same message again is a back-reference to the previous one: a few bytes.
  EXPECT_LT(second_size, first_size / 4);
}

// ---- frames ----

TEST(WsDeflateFrame, ABroadcastIsDeflatedOnceAndShared) {
  const Frame f = make_frame(Opcode::Text, chat_payload(5000));
  const auto a = f->deflated(15, -1);
  const auto b = f->deflated(15, -1);
  ASSERT_TRUE(a);
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(static_cast<uint8_t>(a->data()[0]), 0x80 | 0x40 | 1);  // FIN, RSV1, text
  EXPECT_FALSE(a->compressible());
  EXPECT_EQ(zlib_inflate(a->payload()), f->payload());
  // Another window is computed for the caller (and not cached in place of the first).
  const auto c = f->deflated(10, -1);
  ASSERT_TRUE(c);
  EXPECT_NE(c.get(), a.get());
  EXPECT_EQ(zlib_inflate(c->payload(), 10), f->payload());
  EXPECT_EQ(f->deflated(15, -1).get(), a.get());
}

TEST(WsDeflateFrame, NotCompressedWhenItWouldNotShrink) {
  EXPECT_FALSE(make_frame(Opcode::Text, "2")->deflated(15, -1));
  EXPECT_FALSE(make_frame(Opcode::Text, "42[\"x\"]", false)->compressible());
  EXPECT_FALSE(make_frame(Opcode::Ping, "")->compressible());
  EXPECT_FALSE(raw_bytes("HTTP/1.1 101 Switching Protocols\r\n\r\n")->compressible());
}

TEST(WsDeflateParser, InflatesCompressedMessagesWhenNegotiated) {
  const std::string msg = chat_payload(3000);
  const std::string z = zlib_deflate(msg);
  Parser p(1 << 20, true);
  Recorder r;
  // One frame, then the same message in three fragments (RSV1 on the first only).
  auto bytes = client_frame(0x80 | 0x40 | 1, z);
  const auto f1 = client_frame(0x40 | 1, z.substr(0, 10));
  const auto f2 = client_frame(0x00, z.substr(10, 20));
  const auto f3 = client_frame(0x80, z.substr(30));
  for (const auto* f : {&f1, &f2, &f3}) bytes.insert(bytes.end(), f->begin(), f->end());
  // An uncompressed message in between is delivered as is.
  const auto plain = client_frame(0x81, "plain");
  bytes.insert(bytes.end(), plain.begin(), plain.end());
  ASSERT_EQ(p.feed(bytes.data(), bytes.size(), r), bytes.size()) << p.error();
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0], msg);
  EXPECT_EQ(r.messages[1], msg);
  EXPECT_EQ(r.messages[2], "plain");
}

TEST(WsDeflateParser, ABoundedStepHandsOnAboutTheBoundOfInflatedBytesWhateverTheRatio) {
  // 200 messages of 100 kB of one repeated byte: ~100 bytes each on the wire, all 200 in one 64 KiB
  // read. A step bounded at 64 KiB hands on one message (its 100 kB cross the bound) instead of
  // 20 MB, and the steps together give exactly what one unbounded call gives.
  std::vector<uint8_t> bytes;
  std::vector<std::string> sent;
  for (int i = 0; i < 200; ++i) {
    sent.push_back("42[\"n\"," + std::to_string(i) + ",\"" + std::string(100000, 'x') + "\"]");
    const auto f = client_frame(0x80 | 0x40 | 1, zlib_deflate(sent.back()));
    bytes.insert(bytes.end(), f.begin(), f.end());
  }
  ASSERT_LT(bytes.size(), 64u * 1024) << "one read chunk";
  Parser p(1 << 20, true);
  Recorder r;
  size_t pos = 0;
  int steps = 0;
  do {
    const size_t before = r.messages.size();
    const size_t used = p.feed(bytes.data() + pos, bytes.size() - pos, r, 64 * 1024);
    ASSERT_NE(used, Parser::npos) << p.error();
    pos += used;
    ++steps;
    ASSERT_EQ(r.messages.size(), before + 1) << "each step hands on one 100 kB message";
  } while (p.yielded());
  EXPECT_EQ(pos, bytes.size());
  EXPECT_EQ(steps, 200);
  EXPECT_EQ(r.messages, sent);
}

TEST(WsDeflateParser, RefusesRsv1WhereItMayNotBe) {
  const std::string z = zlib_deflate("hello");
  {
    Parser p(1 << 20, false);  // not negotiated
    Recorder r;
    const auto f = client_frame(0x80 | 0x40 | 1, z);
    EXPECT_EQ(p.feed(f.data(), f.size(), r), Parser::npos);
    EXPECT_EQ(p.error_code(), kProtocolError);
  }
  {
    Parser p(1 << 20, true);  // on a continuation frame
    Recorder r;
    auto f = client_frame(0x01, "a");
    const auto c = client_frame(0x80 | 0x40, "b");
    f.insert(f.end(), c.begin(), c.end());
    EXPECT_EQ(p.feed(f.data(), f.size(), r), Parser::npos);
    EXPECT_EQ(p.error_code(), kProtocolError);
  }
  {
    Parser p(1 << 20, true);  // on a control frame
    Recorder r;
    const auto f = client_frame(0x80 | 0x40 | 9, "");
    EXPECT_EQ(p.feed(f.data(), f.size(), r), Parser::npos);
    EXPECT_EQ(p.error_code(), kProtocolError);
  }
}

TEST(WsDeflateParser, ABombClosesWith1009AndCorruptDataWith1007) {
  {
    Parser p(100000, true);
    Recorder r;
    const auto f = client_frame(0x80 | 0x40 | 2, zlib_deflate(std::string(1u << 20, '\0')));
    EXPECT_EQ(p.feed(f.data(), f.size(), r), Parser::npos);
    EXPECT_EQ(p.error_code(), kTooBig);
    EXPECT_TRUE(r.messages.empty());
  }
  {
    Parser p(100000, true);
    Recorder r;
    const auto f = client_frame(0x80 | 0x40 | 1, "\xff\xfe garbage");
    EXPECT_EQ(p.feed(f.data(), f.size(), r), Parser::npos);
    EXPECT_EQ(p.error_code(), kInvalidPayload);
  }
  {
    // Inflated text must still be UTF-8.
    Parser p(100000, true);
    Recorder r;
    const auto f = client_frame(0x80 | 0x40 | 1, zlib_deflate("\xc3\x28 not utf-8"));
    EXPECT_EQ(p.feed(f.data(), f.size(), r), Parser::npos);
    EXPECT_EQ(p.error_code(), kInvalidPayload);
  }
}

}  // namespace
