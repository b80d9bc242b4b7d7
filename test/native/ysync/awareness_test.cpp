// Tests of the awareness registry (native/yjs/awareness.h).
// The "Reference" scenario replays, step by step, what test/native/ysync/make_fixtures.js fed to a
// real y-protocols 1.0.7 Awareness driven like the reference y-websocket server (utils.js): each
// `_in` is a client update (made by real client Awareness objects where possible), each `_out` the
// update the reference server broadcast (none = nothing). The hex was produced by that script and
// pasted here; rerun it to regenerate.
#include "yjs/awareness.h"

#include <gtest/gtest.h>

#include "yjs/lib0.h"

using namespace collabio::yjs::awareness;
using collabio::yjs::DecodeError;

namespace {

std::vector<uint8_t> hex(std::string_view h) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

std::vector<uint8_t> update(std::vector<Entry> entries) { return encode_update(entries); }
std::vector<uint8_t> one(uint64_t id, uint64_t clock, std::string state) { return update({{id, clock, std::move(state)}}); }

constexpr ConnectionId kConn1 = 1, kConn2 = 2;

}  // namespace

TEST(AwarenessCodec, RoundTripsAndMatchesYProtocolsBytes) {
  // y-protocols: encodeAwarenessUpdate of client 7, clock 3, {"a":1}
  const auto fixture = hex("010703077b2261223a317d");
  std::vector<Entry> e = decode_update(fixture);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].client_id, 7u);
  EXPECT_EQ(e[0].clock, 3u);
  EXPECT_EQ(e[0].state, "{\"a\":1}");
  EXPECT_EQ(encode_update(e), fixture);
}

TEST(AwarenessCodec, MalformedUpdatesThrow) {
  const auto good = hex("010703077b2261223a317d");
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_THROW(decode_update(std::vector<uint8_t>(good.begin(), good.begin() + n)), DecodeError) << n;
  }
  EXPECT_THROW(decode_update(one(1, 1, "{\"a\":")), DecodeError);     // truncated JSON
  EXPECT_THROW(decode_update(one(1, 1, "{a:1}")), DecodeError);       // not JSON
  EXPECT_THROW(decode_update(one(1, 1, "{} {}")), DecodeError);       // two values
  EXPECT_THROW(decode_update(one(1, 1, "[1,]")), DecodeError);        // trailing comma
  EXPECT_THROW(decode_update(one(1, 1, "NaN")), DecodeError);
  EXPECT_THROW(decode_update(one(1, 1, "\"a\tb\"")), DecodeError);    // raw control character
  EXPECT_THROW(decode_update(one(1, 1, "")), DecodeError);
  EXPECT_THROW(decode_update(hex("01010102c328")), DecodeError);      // invalid UTF-8
  EXPECT_THROW(decode_update(hex("ffffffff0f")), DecodeError);        // huge count, no entries
}

TEST(AwarenessCodec, JsonValidation) {
  EXPECT_TRUE(is_valid_json("null"));
  EXPECT_TRUE(is_valid_json(" {\"user\":{\"name\":\"a\",\"color\":\"#30bced\"},\"cursor\":null} "));
  EXPECT_TRUE(is_valid_json("[1,-2.5e3,true,false,\"\\u00e9\\n\"]"));
  EXPECT_TRUE(is_valid_json("0"));
  EXPECT_FALSE(is_valid_json("01"));
  EXPECT_FALSE(is_valid_json("'a'"));
  EXPECT_FALSE(is_valid_json("undefined"));
  // Deep nesting is validated without recursion.
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  EXPECT_TRUE(is_valid_json(deep));
  EXPECT_FALSE(is_valid_json(deep.substr(1)));
  EXPECT_TRUE(is_null_state(" null\n"));
  EXPECT_FALSE(is_null_state("\"null\""));
}

TEST(AwarenessRegistry, ReferenceScenarioMatchesTheReferenceServerByteForByte) {
  Registry r;
  auto step = [&](ConnectionId c, std::string_view in, std::string_view out) {
    Registry::Applied a = r.apply(c, hex(in), 0);
    EXPECT_EQ(a.broadcast, hex(out)) << "input " << in;
    EXPECT_EQ(a.rejected, 0u);
  };
  step(kConn1, "010a010c7b226e616d65223a2261227d", "010a010c7b226e616d65223a2261227d");  // add a (10)
  step(kConn1, "010a010c7b226e616d65223a2261227d", "");                                  // duplicate
  step(kConn1, "010a020c7b226e616d65223a2261227d", "010a020c7b226e616d65223a2261227d");  // renewal echo
  step(kConn2, "011401187b2278223a5b312c325d2c2273223a22c3a920e29883227d",
       "011401187b2278223a5b312c325d2c2273223a22c3a920e29883227d");                     // add b (20)
  step(kConn2, "010a020c7b226e616d65223a2261227d", "");                                  // conn2 echoes a
  step(kConn1, "010a03046e756c6c", "010a03046e756c6c");                                  // a removes itself
  step(kConn1, "010a040d7b226e616d65223a226132227d", "010a040d7b226e616d65223a226132227d");  // a revives
  // 30 added; 10 removed at its own clock; 40 (unknown, clock 0) ignored; 50 unknown: clock kept only
  step(kConn1, "041e05077b226b223a317d0a04046e756c6c2800046e756c6c3202046e756c6c",
       "021e05077b226b223a317d0a04046e756c6c");
  EXPECT_EQ(r.clock(50), 2u);
  EXPECT_FALSE(r.state(50).has_value());
  // conn2 closes: reference removes its ids at the same clock.
  EXPECT_EQ(r.remove_connection(kConn2), hex("011401046e756c6c"));
  EXPECT_EQ(r.encode_all(), hex("011e05077b226b223a317d"));
  EXPECT_EQ(r.size(), 1u);
}

TEST(AwarenessRegistry, AcceptsNewerClockOrEqualClockRemovalOfAKnownState) {
  Registry r;
  // An unknown client counts as clock 0, so its clock-0 state is not newer (y-protocols does the
  // same: `currClock < clock`); y-websocket clients are past clock 0 once the app sets a field.
  EXPECT_TRUE(r.apply(kConn1, one(5, 0, "{}"), 0).broadcast.empty());
  EXPECT_EQ(r.apply(kConn1, one(5, 1, "{}"), 0).added, std::vector<uint64_t>{5});
  EXPECT_TRUE(r.apply(kConn1, one(5, 1, "{\"x\":1}"), 0).broadcast.empty());  // equal clock, not null
  EXPECT_EQ(r.apply(kConn1, one(5, 1, "null"), 0).removed, std::vector<uint64_t>{5});  // equal, null
  EXPECT_TRUE(r.apply(kConn1, one(5, 1, "null"), 0).broadcast.empty());      // already removed
  EXPECT_TRUE(r.apply(kConn1, one(5, 1, "{}"), 0).broadcast.empty());        // no revival at same clock
  EXPECT_EQ(r.apply(kConn1, one(5, 2, "{}"), 0).added, std::vector<uint64_t>{5});
  EXPECT_TRUE(r.apply(kConn1, one(5, 1, "{\"old\":1}"), 0).broadcast.empty());  // older clock
  EXPECT_EQ(r.state(5), "{}");
  EXPECT_EQ(r.apply(kConn1, one(5, 3, "{\"x\":2}"), 0).updated, std::vector<uint64_t>{5});
}

TEST(AwarenessRegistry, StatesAreKeptVerbatim) {
  Registry r;
  const std::string s = "{ \"b\" : 1.50, \"a\":\"\\u00e9\" }";
  EXPECT_EQ(r.apply(kConn1, one(3, 1, s), 0).broadcast, one(3, 1, s));
  EXPECT_EQ(r.state(3), s);
}

TEST(AwarenessRegistry, MalformedUpdateIsRefusedWhole) {
  Registry r;
  auto bad = update({{1, 1, "{}"}, {2, 1, "{oops"}});
  EXPECT_THROW(r.apply(kConn1, bad, 0), DecodeError);
  EXPECT_EQ(r.size(), 0u);
  EXPECT_FALSE(r.clock(1).has_value());
}

TEST(AwarenessRegistry, TracksClientsPerConnectionAndRemovesThemOnClose) {
  Registry r;
  r.apply(kConn1, update({{1, 1, "{}"}, {2, 1, "{}"}}), 0);
  r.apply(kConn2, one(3, 1, "{}"), 0);
  EXPECT_EQ(r.clients_of(kConn1), (std::vector<uint64_t>{1, 2}));
  // conn2 updating a client of conn1 does not take it over.
  r.apply(kConn2, one(1, 2, "{\"by\":2}"), 0);
  EXPECT_EQ(r.clients_of(kConn2), std::vector<uint64_t>{3});
  // Closing conn1 marks 1 and 2 null at their current clocks (reference behaviour).
  EXPECT_EQ(r.remove_connection(kConn1), update({{1, 2, "null"}, {2, 1, "null"}}));
  EXPECT_EQ(r.size(), 1u);
  EXPECT_TRUE(r.remove_connection(kConn1).empty());  // idempotent
  EXPECT_TRUE(r.remove_connection(99).empty());      // unknown connection
  // A removed client that comes back on another connection belongs to it (and is cleaned up with it).
  EXPECT_EQ(r.apply(kConn2, one(1, 3, "{}"), 0).added, std::vector<uint64_t>{1});
  EXPECT_EQ(r.clients_of(kConn2), (std::vector<uint64_t>{3, 1}));
  EXPECT_EQ(r.remove_connection(kConn2), update({{3, 1, "null"}, {1, 3, "null"}}));
  EXPECT_EQ(r.size(), 0u);
  EXPECT_TRUE(r.encode_all().empty());
}

TEST(AwarenessRegistry, ClientRemovingItselfIsNoLongerOwned) {
  Registry r;
  r.apply(kConn1, one(1, 1, "{}"), 0);
  r.apply(kConn1, one(1, 2, "null"), 0);
  EXPECT_TRUE(r.clients_of(kConn1).empty());
  EXPECT_TRUE(r.remove_connection(kConn1).empty());
}

TEST(AwarenessRegistry, IncrementModeRemovesWithClockPlusOne) {
  Registry r(RemovalClock::Increment);
  r.apply(kConn1, one(1, 4, "{}"), 0);
  EXPECT_EQ(r.remove_connection(kConn1), one(1, 5, "null"));
  EXPECT_EQ(r.clock(1), 5u);
  EXPECT_TRUE(r.apply(kConn2, one(1, 5, "{}"), 0).broadcast.empty());  // same clock cannot revive
  EXPECT_FALSE(r.apply(kConn2, one(1, 6, "{}"), 0).broadcast.empty());
}

TEST(AwarenessRegistry, LimitsSkipEntriesAndCountThem) {
  Registry r;
  std::vector<Entry> many;
  for (uint64_t i = 0; i < kMaxClientsPerConnection + 3; ++i) many.push_back({i + 1, 1, "{}"});
  Registry::Applied a = r.apply(kConn1, update(many), 0);
  EXPECT_EQ(a.added.size(), kMaxClientsPerConnection);
  EXPECT_EQ(a.rejected, 3u);
  EXPECT_EQ(r.clients_of(kConn1).size(), kMaxClientsPerConnection);
  // Updating already-owned ids still works at the limit.
  EXPECT_EQ(r.apply(kConn1, one(1, 2, "{}"), 0).updated.size(), 1u);

  std::string big = "\"" + std::string(kMaxStateBytes, 'x') + "\"";
  Registry::Applied b = r.apply(kConn2, update({{1000, 1, big}, {1001, 1, "{}"}}), 0);
  EXPECT_EQ(b.rejected, 1u);
  EXPECT_EQ(b.added, std::vector<uint64_t>{1001});
  EXPECT_FALSE(r.state(1000).has_value());
}

TEST(AwarenessRegistry, ExpireRemovesStatesNotRenewedFor30Seconds) {
  Registry r;
  r.apply(kConn1, one(1, 1, "{}"), 1000);
  r.apply(kConn2, one(2, 1, "{}"), 20000);
  EXPECT_TRUE(r.expire(30999).empty());
  EXPECT_EQ(r.expire(31000), one(1, 1, "null"));  // same clock, as the reference server's check
  EXPECT_TRUE(r.clients_of(kConn1).empty());
  r.apply(kConn2, one(2, 2, "{}"), 45000);  // renewal keeps 2 alive
  EXPECT_TRUE(r.expire(60000).empty());
  EXPECT_EQ(r.size(), 1u);
  // The expired client's next renewal (clock + 1) brings it back.
  EXPECT_EQ(r.apply(kConn1, one(1, 2, "{}"), 61000).added, std::vector<uint64_t>{1});
}

TEST(AwarenessRegistry, EncodeAllListsNonNullStatesForANewcomer) {
  Registry r;
  EXPECT_TRUE(r.encode_all().empty());
  r.apply(kConn1, update({{9, 1, "{\"n\":9}"}, {4, 2, "{\"n\":4}"}, {6, 1, "null"}}), 0);
  EXPECT_EQ(r.encode_all(), update({{4, 2, "{\"n\":4}"}, {9, 1, "{\"n\":9}"}}));
}

TEST(AwarenessRegistry, RemembersOnlyABoundedNumberOfRemovedClients) {
  Registry r;
  // One connection adds and removes many distinct clients; the registry forgets the oldest clocks.
  for (uint64_t i = 1; i <= kMaxRememberedRemoved + 100; ++i) {
    r.apply(kConn1, one(i, 1, "{}"), 0);
    r.apply(kConn1, one(i, 2, "null"), 0);
  }
  EXPECT_FALSE(r.clock(1).has_value());                          // forgotten
  EXPECT_EQ(r.clock(kMaxRememberedRemoved + 100), 2u);           // recent, remembered
  EXPECT_EQ(r.size(), 0u);
}

TEST(AwarenessRegistry, RemovalRecordOfARevivedClientDoesNotForgetIt) {
  Registry r;
  r.apply(kConn1, one(1, 1, "{}"), 0);
  r.apply(kConn1, one(1, 2, "null"), 0);  // removal record (1, 2)
  r.apply(kConn1, one(1, 3, "{}"), 0);    // revived
  for (uint64_t i = 2; i <= kMaxRememberedRemoved + 10; ++i) r.apply(kConn2, one(i, 1, "null"), 0);
  EXPECT_EQ(r.state(1), "{}");
  EXPECT_EQ(r.remove_connection(kConn1), one(1, 3, "null"));
}
