// Redis URLs as node-redis accepts them, and the masked form for logs.
#include <gtest/gtest.h>

#include "redis/url.h"

namespace redis = collabio::redis;

namespace {
redis::Endpoint parse_ok(std::string_view url) {
  redis::Endpoint ep;
  std::string error;
  EXPECT_TRUE(redis::parse_url(url, ep, error)) << url << ": " << error;
  return ep;
}
std::string parse_error(std::string_view url) {
  redis::Endpoint ep;
  std::string error;
  EXPECT_FALSE(redis::parse_url(url, ep, error)) << url;
  return error;
}
}  // namespace

TEST(RedisUrl, HostAloneTakesDefaults) {
  const auto ep = parse_ok("redis://127.0.0.1");
  EXPECT_FALSE(ep.tls);
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 6379);
  EXPECT_EQ(ep.db, 0u);
  EXPECT_TRUE(ep.username.empty());
  EXPECT_TRUE(ep.password.empty());
  EXPECT_EQ(ep.display(), "redis://127.0.0.1:6379/0");
}

TEST(RedisUrl, CredentialsPortAndDatabase) {
  const auto ep = parse_ok("redis://app:s3cret@cache.internal:6380/2");
  EXPECT_EQ(ep.username, "app");
  EXPECT_EQ(ep.password, "s3cret");
  EXPECT_EQ(ep.host, "cache.internal");
  EXPECT_EQ(ep.port, 6380);
  EXPECT_EQ(ep.db, 2u);
  EXPECT_EQ(ep.display(), "redis://app:***@cache.internal:6380/2");
}

TEST(RedisUrl, PasswordWithoutUserAndPercentEscapes) {
  const auto ep = parse_ok("redis://:p%40ss%2Fw0rd@h/");
  EXPECT_EQ(ep.username, "");
  EXPECT_EQ(ep.password, "p@ss/w0rd");
  EXPECT_EQ(ep.db, 0u);
  EXPECT_EQ(ep.display(), "redis://:***@h:6379/0");
  EXPECT_EQ(parse_ok("redis://u:a@b@h").password, "a@b");  // the last '@' ends the credentials
}

TEST(RedisUrl, UserWithoutPassword) {
  const auto ep = parse_ok("redis://reader@h:7000");
  EXPECT_EQ(ep.username, "reader");
  EXPECT_TRUE(ep.password.empty());
  EXPECT_EQ(ep.display(), "redis://reader@h:7000/0");
}

TEST(RedisUrl, TlsAndIpv6) {
  const auto ep = parse_ok("rediss://u:pw@[::1]:6390/3");
  EXPECT_TRUE(ep.tls);
  EXPECT_EQ(ep.host, "::1");
  EXPECT_EQ(ep.port, 6390);
  EXPECT_EQ(ep.db, 3u);
  EXPECT_EQ(ep.display(), "rediss://u:***@[::1]:6390/3");
  EXPECT_EQ(parse_ok("rediss://[::1]").port, 6379);
}

TEST(RedisUrl, RejectsMalformedUrlsWithoutQuotingThem) {
  for (const char* url : {"http://h", "redis://", "redis://:pw@", "redis://h:0", "redis://h:65536", "redis://h:x",
                          "redis://h:", "redis://h/db", "redis://h/-1", "redis://h/99999999999", "redis://h?db=1",
                          "redis://h#x", "redis://[::1", "redis://[::1]x", "redis://u:%zz@h", "redis://u:%4@h"}) {
    const std::string error = parse_error(url);
    EXPECT_FALSE(error.empty()) << url;
    EXPECT_EQ(error.find("pw"), std::string::npos) << error;
    EXPECT_EQ(error.rfind("redis URL: ", 0), 0u) << error;
  }
}
