// Tests of the y-websocket message framing (native/yjs/sync_protocol.h).
// Byte fixtures marked "y-protocols" were produced by the real y-protocols 1.0.7 / yjs / lib0 from
// node_modules with test/native/ysync/make_fixtures.js (run it to regenerate) and pasted here.
#include "yjs/sync_protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace collabio::yjs::sync;
using collabio::yjs::DecodeError;

namespace {

std::vector<uint8_t> hex(std::string_view h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}
std::vector<uint8_t> bytes(std::span<const uint8_t> s) { return {s.begin(), s.end()}; }

// y-protocols fixtures
const auto kStep1Empty = hex("00000100");
const auto kStep1Ab = hex("000003010102");
const auto kStep2Ab = hex("00010c010101000401017402616200");
const auto kUpdateAb = hex("010101000401017402616200");  // Y.encodeStateAsUpdate: "ab" in text t, client 1
const auto kSyncUpdateAb = hex("00020c010101000401017402616200");
const auto kAuthDenied = hex("0200096e6f20616363657373");  // "no access"
const auto kQueryAwareness = hex("03");
const auto kAwarenessFrame = hex("010b010703077b2261223a317d");  // Awareness + varUint8Array(client 7 update)

ProtocolError::Kind error_kind(const std::vector<uint8_t>& frame) {
  try {
    parse_message(frame);
  } catch (const ProtocolError& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no error";
  return ProtocolError::Kind::Malformed;
}

}  // namespace

TEST(SyncProtocolEncode, MatchesYProtocolsBytes) {
  EXPECT_EQ(encode_sync_step1(hex("00")), kStep1Empty);
  EXPECT_EQ(encode_sync_step1(hex("010102")), kStep1Ab);
  EXPECT_EQ(encode_sync_step2(kUpdateAb), kStep2Ab);
  EXPECT_EQ(encode_update(kUpdateAb), kSyncUpdateAb);
  EXPECT_EQ(encode_permission_denied("no access"), kAuthDenied);
  EXPECT_EQ(encode_query_awareness(), kQueryAwareness);
  EXPECT_EQ(encode_awareness(hex("010703077b2261223a317d")), kAwarenessFrame);
}

TEST(SyncProtocolParse, SyncStep1CarriesTheStateVector) {
  ParsedMessage p = parse_message(kStep1Ab);
  const auto& m = std::get<SyncMessage>(p.message);
  EXPECT_EQ(m.type, SyncType::SyncStep1);
  EXPECT_EQ(bytes(m.data), hex("010102"));
  EXPECT_EQ(p.trailing_bytes, 0u);
  EXPECT_FALSE(is_document_write(p.message));
}

TEST(SyncProtocolParse, SyncStep2AndUpdateCarryTheUpdateAndAreWrites) {
  ParsedMessage s2 = parse_message(kStep2Ab);
  EXPECT_EQ(std::get<SyncMessage>(s2.message).type, SyncType::SyncStep2);
  EXPECT_EQ(bytes(std::get<SyncMessage>(s2.message).data), kUpdateAb);
  EXPECT_TRUE(is_document_write(s2.message));
  ParsedMessage up = parse_message(kSyncUpdateAb);
  EXPECT_EQ(std::get<SyncMessage>(up.message).type, SyncType::Update);
  EXPECT_EQ(bytes(std::get<SyncMessage>(up.message).data), kUpdateAb);
  EXPECT_TRUE(is_document_write(up.message));
}

TEST(SyncProtocolParse, AwarenessAuthAndQueryAwareness) {
  ParsedMessage aw = parse_message(kAwarenessFrame);
  EXPECT_EQ(bytes(std::get<AwarenessMessage>(aw.message).update), hex("010703077b2261223a317d"));
  EXPECT_FALSE(is_document_write(aw.message));
  ParsedMessage auth = parse_message(kAuthDenied);
  EXPECT_EQ(std::get<AuthMessage>(auth.message).kind, 0u);
  EXPECT_EQ(std::get<AuthMessage>(auth.message).reason, "no access");
  ParsedMessage q = parse_message(kQueryAwareness);
  EXPECT_TRUE(std::holds_alternative<QueryAwarenessMessage>(q.message));
}

TEST(SyncProtocolParse, UnknownAuthKindHasNoReasonAndTheRestIsTrailing) {
  ParsedMessage p = parse_message(hex("020503616263"));
  EXPECT_EQ(std::get<AuthMessage>(p.message).kind, 5u);
  EXPECT_EQ(std::get<AuthMessage>(p.message).reason, "");
  EXPECT_EQ(p.trailing_bytes, 4u);
}

TEST(SyncProtocolParse, TrailingBytesAfterOneMessageAreReportedNotRefused) {
  // Two messages in one frame: like the 3.x client, only the first one is read.
  std::vector<uint8_t> two = kStep1Empty;
  two.insert(two.end(), kQueryAwareness.begin(), kQueryAwareness.end());
  ParsedMessage p = parse_message(two);
  EXPECT_EQ(std::get<SyncMessage>(p.message).type, SyncType::SyncStep1);
  EXPECT_EQ(p.trailing_bytes, 1u);
}

TEST(SyncProtocolParse, TruncatedFramesAreMalformed) {
  // Every strict prefix of every fixture is malformed, except prefixes that are themselves complete
  // messages (only "03" here, which is the whole query frame).
  for (const auto* f : {&kStep1Ab, &kStep2Ab, &kSyncUpdateAb, &kAuthDenied, &kAwarenessFrame}) {
    for (size_t n = 0; n < f->size(); ++n) {
      std::vector<uint8_t> prefix(f->begin(), f->begin() + n);
      EXPECT_EQ(error_kind(prefix), ProtocolError::Kind::Malformed) << "prefix " << n;
    }
  }
  EXPECT_EQ(error_kind({}), ProtocolError::Kind::Malformed);
  EXPECT_EQ(error_kind(hex("80")), ProtocolError::Kind::Malformed);          // varUint never ends
  EXPECT_EQ(error_kind(hex("0000ff7f")), ProtocolError::Kind::Malformed);    // length past the end
  EXPECT_EQ(error_kind(hex("020002c328")), ProtocolError::Kind::Malformed);  // reason is not UTF-8
}

TEST(SyncProtocolParse, UnknownTypesAreDistinguished) {
  EXPECT_EQ(error_kind(hex("04")), ProtocolError::Kind::UnknownMessageType);
  EXPECT_EQ(error_kind(hex("ff01")), ProtocolError::Kind::UnknownMessageType);  // type 255
  EXPECT_EQ(error_kind(hex("000300")), ProtocolError::Kind::UnknownSyncType);
  // ProtocolError is a DecodeError, so a generic boundary handler catches it too.
  EXPECT_THROW(parse_message(hex("04")), DecodeError);
}

TEST(SyncProtocolParse, ViewsPointIntoTheFrame) {
  ParsedMessage p = parse_message(kSyncUpdateAb);
  const auto& m = std::get<SyncMessage>(p.message);
  EXPECT_EQ(m.data.data(), kSyncUpdateAb.data() + 3);
}

TEST(SyncProtocolEncode, LargePayloadUsesAMultiByteLength) {
  std::vector<uint8_t> big(300, 0xab);
  std::vector<uint8_t> f = encode_update(big);
  ASSERT_EQ(f.size(), 2u + 2u + 300u);
  EXPECT_EQ(f[2], 0xac);  // 300 = 0b10_0101100 -> ac 02
  EXPECT_EQ(f[3], 0x02);
  EXPECT_EQ(bytes(std::get<SyncMessage>(parse_message(f).message).data), big);
}
