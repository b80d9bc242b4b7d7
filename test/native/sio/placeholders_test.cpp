// Binary placeholders after reassembly (socket.io-parser reconstructPacket: "illegal attachments").
#include <gtest/gtest.h>

#include "socketio/packet.h"

namespace sio = collabio::socketio;

namespace {
bool check(std::string_view json, uint32_t n) {
  std::string error;
  const bool r = sio::check_placeholders(json, n, error);
  if (!r) {
    EXPECT_FALSE(error.empty());
  }
  return r;
}
}  // namespace

TEST(SocketIoPlaceholders, SpecExamples) {
  EXPECT_TRUE(check(R"(["baz",{"_placeholder":true,"num":0}])", 1));
  EXPECT_TRUE(check(R"([{"_placeholder":true,"num":0}])", 1));
}

TEST(SocketIoPlaceholders, AnyDepthAndOrder) {
  EXPECT_TRUE(check(R"(["ev",{"a":[1,{"b":{"_placeholder":true,"num":1}}]},[{"_placeholder":true,"num":0}]])", 2));
  EXPECT_TRUE(check(R"(["ev",{"num":5,"_placeholder":true,"x":"y","num":0}])", 1));  // last key wins
}

TEST(SocketIoPlaceholders, IndexOutOfRange) {
  std::string error;
  EXPECT_FALSE(sio::check_placeholders(R"(["ev",{"_placeholder":true,"num":1}])", 1, error));
  EXPECT_EQ(error, "illegal attachments");
  EXPECT_FALSE(check(R"(["ev",{"_placeholder":true,"num":-1}])", 1));
  EXPECT_FALSE(check(R"(["ev",{"_placeholder":true,"num":0.5},{"_placeholder":true,"num":0}])", 1));
  EXPECT_FALSE(check(R"(["ev",{"_placeholder":true,"num":"0"}])", 1));
  EXPECT_FALSE(check(R"(["ev",{"_placeholder":true}])", 1));
  EXPECT_FALSE(check(R"(["ev",{"_placeholder":true,"num":null}])", 1));
  EXPECT_FALSE(check(R"(["ev",{"_placeholder":true,"num":99999999999999999999999}])", 1));
  EXPECT_FALSE(check(R"(["ev",{"_placeholder":true,"num":1e300}])", 1));
}

TEST(SocketIoPlaceholders, EveryAttachmentMustBeUsed) {
  std::string error;
  EXPECT_FALSE(sio::check_placeholders(R"(["ev",{"_placeholder":true,"num":0}])", 2, error));
  EXPECT_EQ(error, "unused attachment");
  EXPECT_FALSE(check(R"(["ev"])", 1));
  EXPECT_TRUE(check(R"(["ev",{"_placeholder":true,"num":1},{"_placeholder":true,"num":0}])", 2));
  // The same index twice is allowed (the same buffer appears twice), as long as all are used.
  EXPECT_TRUE(check(R"(["ev",{"_placeholder":true,"num":0},{"_placeholder":true,"num":0}])", 1));
}

TEST(SocketIoPlaceholders, NotPlaceholders) {
  // `_placeholder` must be exactly `true`.
  EXPECT_TRUE(check(R"(["ev",{"_placeholder":1,"num":7},{"_placeholder":"true","num":7},{"_placeholder":false,"num":9}])", 0));
  EXPECT_TRUE(check(R"(["ev",{"_placeholder":true,"_placeholder":false,"num":9}])", 0));
  EXPECT_TRUE(check(R"(["ev",["_placeholder",true,"num",0]])", 0));
  EXPECT_TRUE(check(R"(["ev",{"x":{"_placeholder":[true],"num":3}}])", 0));
}

TEST(SocketIoPlaceholders, LoneSurrogateElsewhereIsFine) {
  EXPECT_TRUE(check(R"(["ev\ud800",{"_placeholder":true,"num":0}])", 1));
  EXPECT_FALSE(check(R"(["ev\ud800",{"_placeholder":true,"num":1}])", 1));
  EXPECT_FALSE(check(R"(["ev\ud800",{"_placeholder":true,"num":0}])", 2));
}

TEST(SocketIoPlaceholders, NestedObjectAsNumValue) {
  EXPECT_FALSE(check(R"(["ev",{"_placeholder":true,"num":{"num":0}}])", 1));
}

TEST(SocketIoPlaceholders, InvalidJsonAndDeepNesting) {
  EXPECT_FALSE(check(R"(["ev",{"_placeholder":true,"num":0})", 1));
  EXPECT_FALSE(check("", 0));
  EXPECT_FALSE(check(std::string(100000, '['), 0));
  std::string deep = "[\"ev\",";
  for (int i = 0; i < 100000; ++i) deep += "{\"a\":";
  deep += "{\"_placeholder\":true,\"num\":0}";
  deep += std::string(100000, '}');
  deep += "]";
  EXPECT_TRUE(check(deep, 1));
}
