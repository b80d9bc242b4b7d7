// The origin check of WebSocket upgrades against the `cors` option (native/core/cors_origin.h).
#include "core/cors_origin.h"

#include <gtest/gtest.h>

using namespace collabio::core;

namespace {

CorsOptions list_of(std::vector<std::string> allowed, std::vector<std::string> patterns = {}) {
  CorsOptions c;
  c.enabled = true;
  c.origin = CorsOptions::Origin::List;
  c.allowed = std::move(allowed);
  c.patterns = std::move(patterns);
  return c;
}

}  // namespace

TEST(UpgradeOrigin, WithoutCorsEveryOriginIsAllowed) {
  CorsOptions off;
  EXPECT_TRUE(upgrade_origin_allowed(off, "https://evil.example", "collab.example"));
  CorsOptions any;
  any.enabled = true;
  EXPECT_TRUE(upgrade_origin_allowed(any, "https://evil.example", "collab.example"));
  any.origin = CorsOptions::Origin::Reflect;
  EXPECT_TRUE(upgrade_origin_allowed(any, "https://evil.example", "collab.example"));
}

TEST(UpgradeOrigin, ListAllowsListedOriginsAndPatternsOnly) {
  const auto c = list_of({"https://app.example"}, {R"(^https://[a-z]+\.trusted\.example$)"});
  EXPECT_TRUE(upgrade_origin_allowed(c, "https://app.example", "collab.example"));
  EXPECT_TRUE(upgrade_origin_allowed(c, "https://docs.trusted.example", "collab.example"));
  EXPECT_FALSE(upgrade_origin_allowed(c, "https://docs.trusted.example.evil", "collab.example"));
  EXPECT_FALSE(upgrade_origin_allowed(c, "https://app.example:8443", "collab.example"));
  EXPECT_FALSE(upgrade_origin_allowed(c, "http://app.example", "collab.example"));
  EXPECT_FALSE(upgrade_origin_allowed(c, "null", "collab.example"));
}

TEST(UpgradeOrigin, FixedOriginAllowsExactlyThatOrigin) {
  CorsOptions c;
  c.enabled = true;
  c.origin = CorsOptions::Origin::Fixed;
  c.fixed = "https://app.example";
  EXPECT_TRUE(upgrade_origin_allowed(c, "https://app.example", "collab.example"));
  EXPECT_FALSE(upgrade_origin_allowed(c, "https://app.example.evil", "collab.example"));
}

TEST(UpgradeOrigin, NoOriginHeaderIsNotABrowserAndIsAllowed) {
  EXPECT_TRUE(upgrade_origin_allowed(list_of({"https://app.example"}), "", "collab.example"));
}

TEST(UpgradeOrigin, SameOriginPagesAreAllowed) {
  const auto c = list_of({"https://app.example"});
  EXPECT_TRUE(upgrade_origin_allowed(c, "https://collab.example", "collab.example"));
  EXPECT_TRUE(upgrade_origin_allowed(c, "http://127.0.0.1:3000", "127.0.0.1:3000"));
  EXPECT_TRUE(upgrade_origin_allowed(c, "https://Collab.Example", "collab.example"));  // host names: any case
  EXPECT_FALSE(upgrade_origin_allowed(c, "http://127.0.0.1:3001", "127.0.0.1:3000"));
  EXPECT_FALSE(upgrade_origin_allowed(c, "https://collab.example", ""));
  EXPECT_FALSE(upgrade_origin_allowed(c, "collab.example", "collab.example"));  // not an origin
}
