// Room membership (native/sio/room_registry.h): joins, leaves, disconnects and the recipients of
// a broadcast, across the small (vector) and large (hash set) forms of its sets.
#include "sio/room_registry.h"

#include <algorithm>

#include <gtest/gtest.h>

using namespace collabio::sio;

namespace {

std::vector<uint64_t> recipients(const RoomRegistry& r, const std::vector<std::string>& rooms,
                                 const std::vector<std::string>& except = {}, const std::string& nsp = "/") {
  std::vector<uint64_t> out;
  r.recipients(nsp, rooms, except, out);
  std::sort(out.begin(), out.end());
  return out;
}

using Ids = std::vector<uint64_t>;

}  // namespace

TEST(SmallSet, StaysASetAcrossTheSwitchToAHashSetAndBack) {
  SmallSet<uint64_t, 4> s;
  for (uint64_t i = 0; i < 10; ++i) EXPECT_TRUE(s.insert(i));
  for (uint64_t i = 0; i < 10; ++i) EXPECT_FALSE(s.insert(i));
  EXPECT_EQ(s.size(), 10u);
  for (uint64_t i = 0; i < 10; i += 2) EXPECT_TRUE(s.erase(i));
  EXPECT_FALSE(s.erase(0));
  EXPECT_EQ(s.size(), 5u);
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ(s.contains(i), i % 2 == 1);
  uint64_t sum = 0;
  s.for_each([&](uint64_t v) { sum += v; });
  EXPECT_EQ(sum, 1u + 3 + 5 + 7 + 9);
  for (uint64_t i = 1; i < 10; i += 2) EXPECT_TRUE(s.erase(i));
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(s.insert(42));
  EXPECT_TRUE(s.contains(42));
}

TEST(RoomRegistry, EveryRoomAndTheWholeNamespace) {
  RoomRegistry r;
  for (uint64_t c = 1; c <= 3; ++c) r.add_member("/", c);
  r.join("/", 1, "a");
  r.join("/", 2, "a");
  r.join("/", 2, "b");
  r.join("/", 2, "b");  // twice: still once
  EXPECT_EQ(recipients(r, {}), (Ids{1, 2, 3}));
  EXPECT_EQ(recipients(r, {"a"}), (Ids{1, 2}));
  EXPECT_EQ(recipients(r, {"b"}), (Ids{2}));
  EXPECT_EQ(recipients(r, {"a", "b"}), (Ids{1, 2}));  // each connection once
  EXPECT_EQ(recipients(r, {"none"}), Ids{});
  EXPECT_EQ(recipients(r, {}, {}, "/other"), Ids{});
}

TEST(RoomRegistry, ExceptRemovesTheMembersOfThoseRooms) {
  RoomRegistry r;
  for (uint64_t c = 1; c <= 4; ++c) r.add_member("/", c);
  r.join("/", 1, "a");
  r.join("/", 2, "a");
  r.join("/", 2, "muted");
  r.join("/", 3, "muted");
  EXPECT_EQ(recipients(r, {}, {"muted"}), (Ids{1, 4}));
  EXPECT_EQ(recipients(r, {"a"}, {"muted"}), (Ids{1}));
  EXPECT_EQ(recipients(r, {"a"}, {"nobody"}), (Ids{1, 2}));
}

TEST(RoomRegistry, LeavingTheLastMemberRemovesTheRoom) {
  RoomRegistry r;
  r.add_member("/", 1);
  r.join("/", 1, "a");
  r.leave("/", 1, "a");
  r.leave("/", 1, "a");      // not in it any more
  r.leave("/", 1, "never");  // never was
  EXPECT_EQ(recipients(r, {"a"}), Ids{});
  r.join("/", 1, "a");  // the room comes back
  EXPECT_EQ(recipients(r, {"a"}), (Ids{1}));
}

TEST(RoomRegistry, OnlyNamespaceMembersReceiveRoomBroadcasts) {
  // socket.join() may reach the registry before the CONNECT is accepted (or after a disconnect).
  RoomRegistry r;
  r.join("/", 7, "a");
  EXPECT_EQ(recipients(r, {"a"}), Ids{});
  r.add_member("/", 7);
  EXPECT_EQ(recipients(r, {"a"}), (Ids{7}));
}

TEST(RoomRegistry, RemovingAConnectionLeavesEveryRoomOfEveryNamespace) {
  RoomRegistry r;
  for (uint64_t c = 1; c <= 2; ++c) {
    r.add_member("/", c);
    r.add_member("/admin", c);
    r.join("/", c, "a");
    r.join("/admin", c, "a");
  }
  r.remove_member("/admin", 1);
  EXPECT_EQ(recipients(r, {"a"}, {}, "/admin"), (Ids{2}));
  EXPECT_EQ(recipients(r, {"a"}), (Ids{1, 2}));
  r.remove_connection(2);
  EXPECT_EQ(recipients(r, {"a"}), (Ids{1}));
  EXPECT_EQ(recipients(r, {}, {}, "/admin"), Ids{});
  r.remove_connection(1);
  EXPECT_EQ(recipients(r, {}), Ids{});
}

TEST(RoomRegistry, ManyRoomsPerConnectionAndManyConnectionsPerRoom) {
  // Past the small form on both sides: one connection in 100 rooms, 100 connections in one room.
  RoomRegistry r;
  for (uint64_t c = 1; c <= 100; ++c) {
    r.add_member("/", c);
    r.join("/", c, "big");
  }
  for (int i = 0; i < 100; ++i) r.join("/", 1, "room-" + std::to_string(i));
  EXPECT_EQ(recipients(r, {"big"}).size(), 100u);
  EXPECT_EQ(recipients(r, {"room-99"}), (Ids{1}));
  EXPECT_EQ(recipients(r, {"big"}, {"room-5"}).size(), 99u);
  for (int i = 0; i < 100; i += 2) r.leave("/", 1, "room-" + std::to_string(i));
  EXPECT_EQ(recipients(r, {"room-0"}), Ids{});
  EXPECT_EQ(recipients(r, {"room-1"}), (Ids{1}));
  r.remove_connection(1);
  EXPECT_EQ(recipients(r, {"room-1"}), Ids{});
  EXPECT_EQ(recipients(r, {"big"}).size(), 99u);
}
