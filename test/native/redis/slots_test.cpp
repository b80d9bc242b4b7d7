// Redis Cluster's key space (redis/slots.h): the CRC16 and hash-tag rules with the cluster spec's
// own examples, every slot reachable by a tag, and the CLUSTER SLOTS / MOVED / ASK parsers on
// the shapes Redis 7 sends and on shapes it never sends.
#include <gtest/gtest.h>

#include <set>

#include "redis/slots.h"

namespace redis = collabio::redis;
using redis::Reply;

namespace {

Reply str(std::string s) {
  Reply r;
  r.type = Reply::Type::String;
  r.str = std::move(s);
  return r;
}
Reply num(int64_t n) {
  Reply r;
  r.type = Reply::Type::Integer;
  r.integer = n;
  return r;
}
Reply arr(std::vector<Reply> e) {
  Reply r;
  r.type = Reply::Type::Array;
  r.elements = std::move(e);
  return r;
}

}  // namespace

TEST(Slots, Crc16IsXmodemAsTheSpecSays) {
  EXPECT_EQ(redis::crc16("123456789"), 0x31C3);  // the spec's check value
  EXPECT_EQ(redis::crc16(""), 0);
}

TEST(Slots, KeySlotMatchesRedis) {
  // Values from `redis-cli CLUSTER KEYSLOT` on redis-server 7.0.
  EXPECT_EQ(redis::key_slot("foo"), 12182);
  EXPECT_EQ(redis::key_slot("a"), 15495);
  EXPECT_EQ(redis::key_slot("{a}:s"), 15495);
}

TEST(Slots, HashTagRulesOfTheSpec) {
  // Only the part between the first `{` and the first `}` after it is hashed.
  EXPECT_EQ(redis::key_slot("{user1000}.following"), redis::key_slot("{user1000}.followers"));
  EXPECT_EQ(redis::key_slot("{user1000}.following"), redis::key_slot("user1000"));
  EXPECT_EQ(redis::key_slot("foo{bar}{zap}"), redis::key_slot("bar"));
  EXPECT_EQ(redis::key_slot("foo{{bar}}zap"), redis::key_slot("{bar"));
  // An empty tag, or no `}`, hashes the whole key.
  EXPECT_EQ(redis::key_slot("foo{}{bar}"), redis::crc16("foo{}{bar}") % 16384);
  EXPECT_EQ(redis::key_slot("foo{bar"), redis::crc16("foo{bar") % 16384);
  // A document's keys share its slot.
  EXPECT_EQ(redis::key_slot("collabio:{doc/1}:updates"), redis::key_slot("collabio:{doc/1}:snapshot"));
}

TEST(Slots, CommandSlotFindsTheKeyOfEachCommandWeSend) {
  const auto slot = redis::key_slot("d");
  EXPECT_EQ(redis::command_slot({"XADD", "p:{d}:updates", "*", "u", "x"}), slot);
  EXPECT_EQ(redis::command_slot({"SET", "p:{d}:lease", "n", "NX", "PX", "10"}), slot);
  EXPECT_EQ(redis::command_slot({"EVAL", "return 1", "2", "p:{d}:snapshot", "p:{d}:updates"}), slot);
  EXPECT_EQ(redis::command_slot({"XREAD", "COUNT", "10", "BLOCK", "0", "STREAMS", "p:{d}:updates", "0-0"}), slot);
  EXPECT_EQ(redis::command_slot({"xread", "streams", "p:{d}:updates", "0-0"}), slot);
  EXPECT_EQ(redis::command_slot({"PUBLISH", "chan", "msg"}), std::nullopt);
  EXPECT_EQ(redis::command_slot({"PING"}), std::nullopt);
  EXPECT_EQ(redis::command_slot({"EVAL", "return 1", "0"}), std::nullopt);
  EXPECT_EQ(redis::command_slot({"EVAL", "return 1", "x", "k"}), std::nullopt);
  EXPECT_EQ(redis::command_slot({"XREAD", "BLOCK", "0"}), std::nullopt);
}

TEST(Slots, EverySlotHasATag) {
  std::set<std::string> tags;
  for (uint32_t s = 0; s < redis::kSlotCount; s += 97) {
    const std::string tag = redis::hash_tag_for_slot(static_cast<uint16_t>(s));
    EXPECT_EQ(redis::key_slot("collabio:wake:n:{" + tag + "}"), s);
    tags.insert(tag);
  }
  EXPECT_EQ(redis::key_slot("{" + redis::hash_tag_for_slot(16383) + "}"), 16383);
}

TEST(Slots, ParsesClusterSlotsOfRedis7) {
  // [first, last, [ip, port, id, {metadata}], replica...]
  Reply reply = arr({
      arr({num(0), num(5460), arr({str("127.0.0.1"), num(7000), str("id1"), arr({})}),
           arr({str("127.0.0.1"), num(7003), str("id4"), arr({})})}),
      arr({num(5461), num(16383), arr({str(""), num(7001), str("id2")})}),
  });
  std::vector<redis::SlotRange> out;
  ASSERT_TRUE(redis::parse_cluster_slots(reply, out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].first, 0);
  EXPECT_EQ(out[0].last, 5460);
  EXPECT_EQ(out[0].host, "127.0.0.1");
  EXPECT_EQ(out[0].port, 7000);
  EXPECT_EQ(out[1].host, "");  // "the node that answered"
  EXPECT_EQ(out[1].port, 7001);
}

TEST(Slots, RefusesClusterSlotsShapesRedisNeverSends) {
  std::vector<redis::SlotRange> out;
  EXPECT_FALSE(redis::parse_cluster_slots(str("ERR This instance has cluster support disabled"), out));
  EXPECT_FALSE(redis::parse_cluster_slots(arr({arr({num(0), num(16384), arr({str("h"), num(1)})})}), out));
  EXPECT_FALSE(redis::parse_cluster_slots(arr({arr({num(10), num(5), arr({str("h"), num(1)})})}), out));
  EXPECT_FALSE(redis::parse_cluster_slots(arr({arr({num(0), num(5), arr({str("h"), num(0)})})}), out));
  EXPECT_FALSE(redis::parse_cluster_slots(arr({arr({num(0), num(5), arr({str("h"), num(70000)})})}), out));
  EXPECT_FALSE(redis::parse_cluster_slots(arr({arr({num(-1), num(5), arr({str("h"), num(1)})})}), out));
  EXPECT_FALSE(redis::parse_cluster_slots(arr({arr({num(0), num(5)})}), out));
  EXPECT_FALSE(redis::parse_cluster_slots(arr({arr({num(0), num(5), str("h")})}), out));
}

TEST(Slots, ParsesRedirections) {
  auto moved = redis::parse_redirect("MOVED 3999 127.0.0.1:6381");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->kind, redis::Redirect::Kind::Moved);
  EXPECT_EQ(moved->slot, 3999);
  EXPECT_EQ(moved->host, "127.0.0.1");
  EXPECT_EQ(moved->port, 6381);
  auto ask = redis::parse_redirect("ASK 15495 ::1:7001");
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->kind, redis::Redirect::Kind::Ask);
  EXPECT_EQ(ask->host, "::1");
  EXPECT_EQ(ask->port, 7001);
  auto unknown_host = redis::parse_redirect("MOVED 1 :7002");
  ASSERT_TRUE(unknown_host);
  EXPECT_EQ(unknown_host->host, "");
  EXPECT_FALSE(redis::parse_redirect("ERR unknown command"));
  EXPECT_FALSE(redis::parse_redirect("TRYAGAIN Multiple keys request during rehashing of slot"));
  EXPECT_FALSE(redis::parse_redirect("MOVED 16384 h:1"));
  EXPECT_FALSE(redis::parse_redirect("MOVED 1 h:0"));
  EXPECT_FALSE(redis::parse_redirect("MOVED 1 h"));
  EXPECT_FALSE(redis::parse_redirect("MOVED x h:1"));
  EXPECT_FALSE(redis::parse_redirect("ASK 1"));
}
