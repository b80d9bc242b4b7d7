#include <gtest/gtest.h>

#include "yjs/lib0.h"

using namespace collabio::yjs;
using lib0::Decoder;
using lib0::Encoder;

TEST(Lib0, VarUintRoundTripsAndMatchesLib0Bytes) {
  for (uint64_t v : std::vector<uint64_t>{0, 1, 127, 128, 300, 16383, 16384, 4294967295u, lib0::kMaxSafeInteger}) {
    Encoder e;
    e.writeVarUint(v);
    Decoder d(e.buffer());
    EXPECT_EQ(d.readVarUint(), v);
    EXPECT_FALSE(d.hasContent());
  }
  Encoder e;
  e.writeVarUint(300);
  EXPECT_EQ(e.buffer(), (std::vector<uint8_t>{0xAC, 0x02}));
}

TEST(Lib0, VarUintRejectsTruncationAndOverflow) {
  const std::vector<uint8_t> truncated{0x80, 0x80};
  Decoder d1(truncated);
  EXPECT_THROW(d1.readVarUint(), DecodeError);
  const std::vector<uint8_t> huge(12, 0xFF);
  Decoder d2(huge);
  EXPECT_THROW(d2.readVarUint(), DecodeError);
  const std::vector<uint8_t> empty;
  Decoder d3(empty);
  EXPECT_THROW(d3.readUint8(), DecodeError);
}

TEST(Lib0, VarIntEncodesSignInFirstByte) {
  for (int64_t v : std::vector<int64_t>{0, 1, -1, 63, -63, 64, -64, 1000000, -2147483648LL}) {
    Encoder e;
    e.writeVarInt(v);
    Decoder d(e.buffer());
    EXPECT_EQ(d.readVarInt(), v);
  }
  Encoder e;
  e.writeVarInt(-1);
  EXPECT_EQ(e.buffer(), (std::vector<uint8_t>{0x41}));
  Encoder z;
  z.writeVarInt(0, true);
  bool negZero = false;
  Decoder dz(z.buffer());
  EXPECT_EQ(dz.readVarInt(&negZero), 0);
  EXPECT_TRUE(negZero);
}

TEST(Lib0, StringsAreStrictUtf8) {
  Encoder e;
  e.writeVarString("héllo 😀");
  Decoder d(e.buffer());
  EXPECT_EQ(d.readVarString(), "héllo 😀");
  const std::vector<uint8_t> overlong{2, 0xC0, 0x80};
  Decoder d2(overlong);
  EXPECT_THROW(d2.readVarString(), DecodeError);
  const std::vector<uint8_t> surrogate{3, 0xED, 0xA0, 0x80};
  Decoder d3(surrogate);
  EXPECT_THROW(d3.readVarString(), DecodeError);
  const std::vector<uint8_t> tooLong{5, 'a'};
  Decoder d4(tooLong);
  EXPECT_THROW(d4.readVarString(), DecodeError);
}

TEST(Lib0, Utf16LengthsAndLoneSurrogatesBecomeReplacementChar) {
  EXPECT_EQ(lib0::utf8ToUtf16("a😀").size(), 3u);
  std::u16string lone = u"x";
  lone.push_back(char16_t(0xD83D));
  EXPECT_EQ(lib0::utf16ToUtf8(lone), "x\xEF\xBF\xBD");
  EXPECT_EQ(lib0::utf8Length(lone), 4u);
}

TEST(Lib0, AnyValidatesDeepNestingWithoutRecursion) {
  std::vector<uint8_t> deep;
  const size_t depth = 200000;
  for (size_t i = 0; i < depth; ++i) {
    deep.push_back(lib0::kAnyArray);
    deep.push_back(1);
  }
  deep.push_back(lib0::kAnyNull);
  // Deeper than Decoder::kMaxAnyDepth: refused (no JS client could decode it), and without
  // recursion (test/native/yjs/any_depth_test.cpp checks the limit itself).
  Decoder d(deep);
  EXPECT_THROW(d.readAnyRaw(), DecodeError);
  deep.pop_back();
  Decoder d2(deep);
  EXPECT_THROW(d2.readAnyRaw(), DecodeError);
}

TEST(Lib0, AnyToJson) {
  Encoder e;
  e.writeUint8(lib0::kAnyObject);
  e.writeVarUint(2);
  e.writeVarString("n");
  e.writeUint8(lib0::kAnyInteger);
  e.writeVarInt(-5);
  e.writeVarString("s");
  e.writeUint8(lib0::kAnyArray);
  e.writeVarUint(2);
  e.writeUint8(lib0::kAnyString);
  e.writeVarString("a\"b");
  e.writeUint8(lib0::kAnyTrue);
  EXPECT_EQ(lib0::anyToJson(e.buffer()), R"({"n":-5,"s":["a\"b",true]})");
  lib0::Encoder f;
  f.writeUint8(lib0::kAnyFloat64);
  f.writeFloat64(0.1);
  EXPECT_EQ(lib0::anyToJson(f.buffer()), "0.1");
  const std::vector<uint8_t> bad{99};
  EXPECT_THROW(lib0::anyToJson(bad), DecodeError);
}

#include "yjs/json.h"

TEST(Json, AcceptsWhatJsonParseAccepts) {
  for (const char* ok : {"1", " -0.5e+3 ", "\"a\\u00e9\\n\"", "null", "true", "[]", "{}", "[1,[2,{\"a\":[]}]]",
                         "{\"a\":1,\"b\":{\"c\":null}}", "\"\\ud800\""}) {
    EXPECT_TRUE(isValidJson(ok)) << ok;
  }
  for (const char* bad : {"", "undefined", "01", "1.", "[1,]", "{\"a\"}", "{a:1}", "'x'", "[", "\"\x01\"", "NaN",
                          "[1] 2", "{\"a\":1,}", "\"\\x\""}) {
    EXPECT_FALSE(isValidJson(bad)) << bad;
  }
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  EXPECT_TRUE(isValidJson(deep));
}
