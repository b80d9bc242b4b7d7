// Awareness states nested deeper than kMaxStateDepth are skipped (every peer re-encodes states
// with a recursive JSON.stringify; one deep state would overflow all their stacks).
#include <gtest/gtest.h>

#include <string>

#include "yjs/awareness.h"

using namespace collabio::yjs::awareness;

TEST(AwarenessDepth, JsonDepthCountsContainersOutsideStrings) {
  EXPECT_EQ(json_depth("1"), 0u);
  EXPECT_EQ(json_depth("{}"), 1u);
  EXPECT_EQ(json_depth(R"([{"a":[]}])"), 3u);
  EXPECT_EQ(json_depth(R"({"s":"[[[[{{{"})"), 1u);
  EXPECT_EQ(json_depth(R"({"s":"\"[[["})"), 1u);
  EXPECT_EQ(json_depth(R"(["\\",[1]])"), 2u);
}

TEST(AwarenessDepth, AStateDeeperThanTheLimitIsSkippedTheRestApplies) {
  Registry r;
  const std::string deep = std::string(kMaxStateDepth + 1, '[') + std::string(kMaxStateDepth + 1, ']');
  const std::string ok = std::string(kMaxStateDepth, '[') + std::string(kMaxStateDepth, ']');
  const std::vector<Entry> entries{{1, 1, deep}, {2, 1, ok}, {3, 1, R"({"user":{"name":"a"}})"}};
  const auto applied = r.apply(7, encode_update(entries), 0);
  EXPECT_EQ(applied.rejected, 1u);
  EXPECT_FALSE(r.state(1).has_value());
  EXPECT_TRUE(r.state(2).has_value());
  EXPECT_TRUE(r.state(3).has_value());
}

TEST(AwarenessDepth, AVeryDeepStateIsRefusedWithoutRecursion) {
  Registry r;
  const size_t n = 100000;
  const std::vector<Entry> entries{{1, 1, std::string(n, '[') + std::string(n, ']')}};
  // Over kMaxStateBytes too; either limit skips it, and nothing recursive runs on it.
  EXPECT_EQ(r.apply(7, encode_update(entries), 0).rejected, 1u);
  EXPECT_EQ(r.size(), 0u);
}
