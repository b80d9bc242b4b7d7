// Awareness messages between nodes (yjs/awareness_wire.h): the documented bytes, round trips, and
// refusals of hostile input.
#include <gtest/gtest.h>

#include "yjs/awareness_wire.h"

using namespace collabio::yjs;

namespace {
std::vector<uint8_t> B(std::initializer_list<int> v) { return std::vector<uint8_t>(v.begin(), v.end()); }
}  // namespace

TEST(AwarenessWire, UpdateEncodesAsDocumented) {
  awareness_wire::Message m;
  m.kind = awareness_wire::Kind::Update;
  m.node = "n1";
  m.peer = 5;
  m.update = B({0x01, 0x07, 0x03, 0x02, '{', '}'});
  const auto bytes = awareness_wire::encode(m);
  EXPECT_EQ(bytes, B({0x01, 0x00, 0x02, 'n', '1', 0x05, 0x06, 0x01, 0x07, 0x03, 0x02, '{', '}'}));
  awareness_wire::Message out;
  std::string error;
  ASSERT_TRUE(awareness_wire::decode(bytes, out, error)) << error;
  EXPECT_EQ(out.kind, awareness_wire::Kind::Update);
  EXPECT_EQ(out.node, "n1");
  EXPECT_EQ(out.peer, 5u);
  EXPECT_EQ(out.update, m.update);
}

TEST(AwarenessWire, QueryHasNoBody) {
  awareness_wire::Message m;
  m.kind = awareness_wire::Kind::Query;
  m.node = "abc";
  const auto bytes = awareness_wire::encode(m);
  EXPECT_EQ(bytes, B({0x01, 0x01, 0x03, 'a', 'b', 'c'}));
  awareness_wire::Message out;
  std::string error;
  ASSERT_TRUE(awareness_wire::decode(bytes, out, error)) << error;
  EXPECT_EQ(out.kind, awareness_wire::Kind::Query);
  EXPECT_EQ(out.node, "abc");
}

TEST(AwarenessWire, HostileMessagesAreRefusedWithAReason) {
  const std::vector<std::vector<uint8_t>> bad = {
      {},                                                            // empty
      B({0x02, 0x01, 0x01, 'n'}),                                    // unknown version
      B({0x01, 0x02, 0x01, 'n'}),                                    // unknown kind
      B({0x01, 0x01, 0x00}),                                         // empty node id
      B({0x01, 0x01, 0x05, 'n'}),                                    // truncated node id
      B({0x01, 0x01, 0x01, 'n', 0x00}),                              // trailing byte
      B({0x01, 0x00, 0x01, 'n', 0x05, 0x03, 0x01, 0x07}),            // truncated update
      B({0x01, 0x00, 0x01, 'n', 0x05, 0x05, 0x01, 0x07, 0x03, 0x01, '{'}),  // state not JSON
  };
  for (const auto& b : bad) {
    awareness_wire::Message out;
    out.node = "untouched";
    std::string error;
    EXPECT_FALSE(awareness_wire::decode(b, out, error));
    EXPECT_FALSE(error.empty());
    EXPECT_EQ(out.node, "untouched");  // nothing half-decoded
  }
  std::vector<uint8_t> long_id = {0x01, 0x01, static_cast<uint8_t>(awareness_wire::kMaxNodeIdBytes + 1)};
  long_id.resize(long_id.size() + awareness_wire::kMaxNodeIdBytes + 1, 'x');
  awareness_wire::Message out;
  std::string error;
  EXPECT_FALSE(awareness_wire::decode(long_id, out, error));
}
