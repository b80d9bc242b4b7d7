// RESP2 replies through hiredis's reader, fed in pieces as a socket delivers them.
#include <gtest/gtest.h>

#include "redis/resp.h"

namespace redis = collabio::redis;
using Type = redis::Reply::Type;

namespace {
std::vector<redis::Reply> read_all(std::string_view bytes, size_t chunk) {
  redis::RespReader reader;
  std::vector<redis::Reply> out;
  for (size_t i = 0; i < bytes.size(); i += chunk) {
    EXPECT_TRUE(reader.feed(bytes.substr(i, chunk)));
    redis::Reply r;
    for (;;) {
      const auto s = reader.next(r);
      EXPECT_NE(s, redis::RespReader::Status::ProtocolError) << reader.error();
      if (s != redis::RespReader::Status::Reply) break;
      out.push_back(std::move(r));
    }
  }
  return out;
}
}  // namespace

TEST(RespReader, EveryReplyTypeAtAnyChunking) {
  const std::string bytes =
      "+OK\r\n-WRONGPASS invalid username-password pair\r\n:-42\r\n$5\r\nhe\r\no\r\n$-1\r\n*-1\r\n"
      "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n*2\r\n:1\r\n$0\r\n\r\n*0\r\n";
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{7}, bytes.size()}) {
    const auto replies = read_all(bytes, chunk);
    ASSERT_EQ(replies.size(), 8u) << chunk;
    EXPECT_EQ(replies[0].type, Type::Status);
    EXPECT_EQ(replies[0].str, "OK");
    EXPECT_TRUE(replies[1].is_error());
    EXPECT_EQ(replies[1].str, "WRONGPASS invalid username-password pair");
    EXPECT_EQ(replies[2].type, Type::Integer);
    EXPECT_EQ(replies[2].integer, -42);
    EXPECT_EQ(replies[3].type, Type::String);
    EXPECT_EQ(replies[3].str, std::string("he\r\no"));
    EXPECT_EQ(replies[4].type, Type::Nil);
    EXPECT_EQ(replies[5].type, Type::Nil);
    ASSERT_EQ(replies[6].type, Type::Array);
    ASSERT_EQ(replies[6].elements.size(), 3u);
    EXPECT_EQ(replies[6].elements[0].str, "message");
    ASSERT_EQ(replies[6].elements[2].elements.size(), 2u);
    EXPECT_EQ(replies[6].elements[2].elements[0].integer, 1);
    EXPECT_EQ(replies[6].elements[2].elements[1].str, "");
    EXPECT_EQ(replies[7].type, Type::Array);
    EXPECT_TRUE(replies[7].elements.empty());
  }
}

TEST(RespReader, BinaryBulkStrings) {
  std::string payload("\x00\x01\xff\r\n", 5);
  std::string bytes = "$5\r\n" + payload + "\r\n";
  const auto replies = read_all(bytes, 3);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].str, payload);
}

TEST(RespReader, ProtocolErrorsAreReported) {
  for (const char* bad : {"!oops\r\n", "*99999999999\r\n", "*-5\r\n", "*20000000\r\n", "*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"}) {
    redis::RespReader reader;
    bool failed = !reader.feed(bad);
    redis::Reply r;
    if (!failed) failed = reader.next(r) == redis::RespReader::Status::ProtocolError;
    EXPECT_TRUE(failed) << bad;
    EXPECT_FALSE(reader.error().empty()) << bad;
  }
}

TEST(RespEncode, CommandsAreArraysOfBulkStrings) {
  std::string out;
  redis::encode_command({"SET", "k", "v"}, out);
  EXPECT_EQ(out, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
  out.clear();
  redis::encode_command(std::vector<std::string>{"PUBLISH", "c", std::string("\x00\r\n", 3)}, out);
  EXPECT_EQ(out, std::string("*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$3\r\n\x00\r\n\r\n", 33));
}
