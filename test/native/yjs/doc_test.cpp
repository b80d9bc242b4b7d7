#include <gtest/gtest.h>

#include "yjs/doc.h"
#include "yjs/sync_protocol.h"
#include "yjs/update.h"

using namespace collabio::yjs;
using Bytes = std::vector<uint8_t>;

namespace {

// Worked bytes (docs: PROTOCOLS.md), client 1, root text "t".
const Bytes kInsertAb{0x01, 0x01, 0x01, 0x00, 0x04, 0x01, 0x01, 0x74, 0x02, 0x61, 0x62, 0x00};
const Bytes kAppendC{0x01, 0x01, 0x01, 0x02, 0x84, 0x01, 0x01, 0x01, 0x63, 0x00};
const Bytes kDeleteFirst{0x00, 0x01, 0x01, 0x01, 0x00, 0x01};

// One client's update inserting `text` into root text `name` at the start.
Bytes insertText(uint64_t client, uint64_t clock, const std::string& text) {
  lib0::Encoder e;
  e.writeVarUint(1);
  e.writeVarUint(1);
  e.writeVarUint(client);
  e.writeVarUint(clock);
  e.writeUint8(kRefString);
  e.writeVarUint(1);
  e.writeVarString("t");
  e.writeVarString(text);
  e.writeVarUint(0);
  return e.take();
}

}  // namespace

TEST(Doc, AppliesWorkedExampleAndEncodesLikeYjs) {
  Doc doc;
  EXPECT_TRUE(doc.applyUpdate(kInsertAb).changed);
  EXPECT_TRUE(doc.applyUpdate(kAppendC).changed);
  EXPECT_EQ(doc.rootTextToString("t"), "abc");
  EXPECT_TRUE(doc.applyUpdate(kDeleteFirst).changed);
  EXPECT_EQ(doc.rootTextToString("t"), "bc");
  EXPECT_EQ(doc.encodeStateVector(), (Bytes{0x01, 0x01, 0x03}));
  // "a" is collected to Deleted(1); "b" and "c" merge into one item with origin 1:0.
  const Bytes expected{0x01, 0x02, 0x01, 0x00, 0x01, 0x01, 0x01, 0x74, 0x01, 0x84, 0x01,
                       0x00, 0x02, 0x62, 0x63, 0x01, 0x01, 0x01, 0x00, 0x01};
  EXPECT_EQ(doc.encodeStateAsUpdate(), expected);
  EXPECT_EQ(doc.structCount(), 2u);
}

TEST(Doc, DuplicateUpdateChangesNothingAndRelaysNothing) {
  Doc doc;
  auto first = doc.applyUpdate(kInsertAb);
  EXPECT_EQ(first.relay, kInsertAb);
  auto again = doc.applyUpdate(kInsertAb);
  EXPECT_FALSE(again.changed);
  EXPECT_TRUE(again.relay.empty());
}

TEST(Doc, KeepsStructsPendingUntilDependenciesArrive) {
  Doc doc;
  auto r = doc.applyUpdate(kAppendC);
  EXPECT_TRUE(r.changed);  // pending grew
  EXPECT_TRUE(doc.hasPending());
  EXPECT_EQ(doc.encodeStateVector(), (Bytes{0x00}));
  EXPECT_EQ(doc.encodeStateAsUpdate(), (Bytes{0x01, 0x01, 0x01, 0x02, 0x84, 0x01, 0x01, 0x01, 0x63, 0x00}));
  EXPECT_FALSE(doc.applyUpdate(kAppendC).changed);  // already pending
  doc.applyUpdate(kInsertAb);
  EXPECT_FALSE(doc.hasPending());
  EXPECT_EQ(doc.rootTextToString("t"), "abc");
}

TEST(Doc, KeepsDeletesPendingUntilTheirStructsArrive) {
  Doc doc;
  EXPECT_TRUE(doc.applyUpdate(kDeleteFirst).changed);
  EXPECT_TRUE(doc.hasPending());
  doc.applyUpdate(kInsertAb);
  EXPECT_FALSE(doc.hasPending());
  EXPECT_EQ(doc.rootTextToString("t"), "b");
}

TEST(Doc, MalformedUpdateThrowsAndLeavesDocumentUnchanged) {
  Doc doc;
  doc.applyUpdate(kInsertAb);
  const Bytes before = doc.encodeStateAsUpdate();
  for (size_t cut = 0; cut < kAppendC.size() - 1; ++cut) {
    Bytes part(kAppendC.begin(), kAppendC.begin() + static_cast<ptrdiff_t>(cut));
    EXPECT_THROW(doc.applyUpdate(part), DecodeError) << cut;
  }
  // An origin pointing at a later clock of the same client cannot be valid.
  const Bytes selfRef{0x01, 0x01, 0x01, 0x02, 0x84, 0x01, 0x05, 0x01, 0x63, 0x00};
  EXPECT_THROW(doc.applyUpdate(selfRef), DecodeError);
  EXPECT_EQ(doc.encodeStateAsUpdate(), before);
  EXPECT_THROW(doc.encodeStateAsUpdate(Bytes{0x05, 0x01}), DecodeError);
}

TEST(Doc, SplitsSurrogatePairsIntoReplacementCharacters) {
  Doc doc;
  doc.applyUpdate(insertText(1, 0, "x😀y"));  // UTF-16 length 4
  // Delete 1:1 only (the high surrogate): the item is split inside the pair.
  lib0::Encoder e;
  e.writeVarUint(0);
  e.writeVarUint(1);
  e.writeVarUint(1);
  e.writeVarUint(1);
  e.writeVarUint(1);
  e.writeVarUint(1);
  doc.applyUpdate(e.buffer());
  EXPECT_EQ(doc.rootTextToString("t"), "x\xEF\xBF\xBDy");
}

TEST(Doc, DeeplyNestedTypesDeleteAndCollectWithoutRecursion) {
  // Array "a" holds an array that holds an array ... depth N, one client.
  const uint64_t depth = 100000;
  lib0::Encoder e;
  e.writeVarUint(1);
  e.writeVarUint(depth);
  e.writeVarUint(7);
  e.writeVarUint(0);
  for (uint64_t i = 0; i < depth; ++i) {
    e.writeUint8(kRefType);
    if (i == 0) {
      e.writeVarUint(1);
      e.writeVarString("a");
    } else {
      e.writeVarUint(0);
      e.writeVarUint(7);
      e.writeVarUint(i - 1);
    }
    e.writeVarUint(kTypeArray);
  }
  e.writeVarUint(0);
  Doc doc;
  doc.applyUpdate(e.buffer());
  EXPECT_EQ(doc.structCount(), depth);
  const Bytes del{0x00, 0x01, 0x07, 0x01, 0x00, 0x01};
  doc.applyUpdate(del);
  // The outer type is Deleted content, everything inside became one GC struct.
  EXPECT_EQ(doc.structCount(), 2u);
  EXPECT_EQ(doc.rootArrayToJson("a"), "[]");
}

TEST(Updates, MergeDiffAndStateVectorFromUpdate) {
  const std::vector<std::span<const uint8_t>> parts{kInsertAb, kAppendC, kDeleteFirst};
  const Bytes merged = mergeUpdates(parts);
  Doc a;
  a.applyUpdate(merged);
  EXPECT_EQ(a.rootTextToString("t"), "bc");
  EXPECT_EQ(encodeStateVectorFromUpdate(merged), (Bytes{0x01, 0x01, 0x03}));
  // A peer that has clock 0..1 of client 1 gets only "c" (and the delete set).
  const Bytes sv{0x01, 0x01, 0x02};
  const Bytes diff = diffUpdate(merged, sv);
  Doc b;
  b.applyUpdate(kInsertAb);
  b.applyUpdate(diff);
  EXPECT_EQ(b.rootTextToString("t"), "bc");
  Doc c;
  c.applyUpdate(kInsertAb);
  c.applyUpdate(a.encodeStateAsUpdate(sv));
  EXPECT_EQ(c.encodeStateAsUpdate(), a.encodeStateAsUpdate());
  // An update after a gap: the state vector stops at the gap.
  EXPECT_EQ(encodeStateVectorFromUpdate(kAppendC), (Bytes{0x00}));
}

TEST(Doc, MapKeepsLastWriterAndDeletesOverwrittenValues) {
  auto set = [](uint64_t client, uint64_t clock, bool withOrigin, ID origin, uint8_t value) {
    lib0::Encoder e;
    e.writeVarUint(1);
    e.writeVarUint(1);
    e.writeVarUint(client);
    e.writeVarUint(clock);
    e.writeUint8(static_cast<uint8_t>(kRefAny | (withOrigin ? 0x80 : 0) | 0x20));
    if (withOrigin) {
      e.writeVarUint(origin.client);
      e.writeVarUint(origin.clock);
    } else {
      e.writeVarUint(1);
      e.writeVarString("m");
      e.writeVarString("k");
    }
    e.writeVarUint(1);
    e.writeUint8(lib0::kAnyInteger);
    e.writeVarInt(value);
    e.writeVarUint(0);
    return e.take();
  };
  Doc doc;
  doc.applyUpdate(set(1, 0, false, {}, 1));
  doc.applyUpdate(set(2, 0, false, {}, 2));  // concurrent: the higher client wins
  EXPECT_EQ(doc.rootMapToJson("m"), R"({"k":2})");
  doc.applyUpdate(set(1, 1, true, {2, 0}, 3));
  EXPECT_EQ(doc.rootMapToJson("m"), R"({"k":3})");
}

TEST(Doc, ConcurrentInsertsConvergeInEitherOrder) {
  const Bytes a = insertText(1, 0, "a");
  const Bytes b = insertText(2, 0, "b");
  Doc first;
  first.applyUpdate(a);
  first.applyUpdate(b);
  Doc second;
  second.applyUpdate(b);
  second.applyUpdate(a);
  // Same origins: the lower client id stays left (Item.integrate).
  EXPECT_EQ(first.rootTextToString("t"), "ab");
  EXPECT_EQ(second.rootTextToString("t"), "ab");
  EXPECT_EQ(first.encodeStateAsUpdate(), second.encodeStateAsUpdate());
}

TEST(Doc, InvalidJsonContentIsRejected) {
  lib0::Encoder e;
  e.writeVarUint(1);
  e.writeVarUint(1);
  e.writeVarUint(1);
  e.writeVarUint(0);
  e.writeUint8(kRefEmbed);
  e.writeVarUint(1);
  e.writeVarString("t");
  e.writeVarString("{not json");
  e.writeVarUint(0);
  Doc doc;
  EXPECT_THROW(doc.applyUpdate(e.buffer()), DecodeError);
  EXPECT_EQ(doc.encodeStateVector(), (Bytes{0x00}));
}

namespace {

// Client `client`'s Deleted content of `len` at `clock` (origin: the previous clock, else root
// text "t"), with the matching delete set, as one update.
Bytes deletedRun(uint64_t client, uint64_t clock, uint64_t len) {
  lib0::Encoder e;
  e.writeVarUint(1);
  e.writeVarUint(1);
  e.writeVarUint(client);
  e.writeVarUint(clock);
  if (clock > 0) {
    e.writeUint8(kRefDeleted | 0x80);
    e.writeVarUint(client);
    e.writeVarUint(clock - 1);
  } else {
    e.writeUint8(kRefDeleted);
    e.writeVarUint(1);
    e.writeVarString("t");
  }
  e.writeVarUint(len);
  e.writeVarUint(1);
  e.writeVarUint(client);
  e.writeVarUint(1);
  e.writeVarUint(clock);
  e.writeVarUint(len);
  return e.take();
}

}  // namespace

TEST(Doc, KeepsDeletedLengthsAndClocksBeyond32Bits) {
  // Items hold 32-bit lengths; Deleted content keeps the high half elsewhere and merges past 2^32.
  const uint64_t big = (uint64_t{1} << 32) - 1;
  Doc doc;
  doc.applyUpdate(deletedRun(9, 0, big));
  doc.applyUpdate(deletedRun(9, big, 10));
  doc.applyUpdate(insertText(9, big + 10, "ok"));  // a clock beyond 2^32
  EXPECT_EQ(doc.rootTextToString("t"), "ok");
  EXPECT_EQ(doc.structCount(), 2u);  // the two Deleted runs merged into one
  EXPECT_EQ(doc.encodeStateVector(), encodeStateVector({{9, big + 12}}));
  const DecodedUpdate u = decodeUpdate(doc.encodeStateAsUpdate());
  ASSERT_EQ(u.clients.size(), 1u);
  ASSERT_EQ(u.clients[0].refs.size(), 2u);
  EXPECT_EQ(u.clients[0].refs[0].kind, kRefDeleted);
  EXPECT_EQ(u.clients[0].refs[0].length, big + 10);
  EXPECT_EQ(u.clients[0].refs[1].id.clock, big + 10);
  ASSERT_EQ(u.ds.size(), 1u);
  EXPECT_EQ(u.ds[0].ranges[0].len, big + 10);
  // Loading that state elsewhere gives the same bytes.
  Doc copy;
  copy.applyUpdate(doc.encodeStateAsUpdate());
  EXPECT_EQ(copy.encodeStateAsUpdate(), doc.encodeStateAsUpdate());
}

TEST(Doc, DeletingMostTextGivesTheMemoryBack) {
  // 300k characters in one item, then all but the first 1000 deleted: the text storage is
  // compacted at the end of the transaction.
  Doc doc;
  doc.applyUpdate(insertText(3, 0, std::string(300000, 'x')));
  const size_t full = doc.memoryUsage();
  lib0::Encoder e;
  e.writeVarUint(0);
  e.writeVarUint(1);
  e.writeVarUint(3);
  e.writeVarUint(1);
  e.writeVarUint(1000);
  e.writeVarUint(299000);
  doc.applyUpdate(e.buffer());
  EXPECT_EQ(doc.rootTextToString("t"), std::string(1000, 'x'));
  EXPECT_LT(doc.memoryUsage(), full - 250000);
  Doc copy;
  copy.applyUpdate(doc.encodeStateAsUpdate());
  EXPECT_EQ(copy.encodeStateAsUpdate(), doc.encodeStateAsUpdate());
}

TEST(Doc, SyncStep2FromALargeStateIsFramedInPlace) {
  // A newcomer's answer: the state is framed in its own buffer (no second megabyte-sized copy),
  // with the same bytes as framing a copy.
  Doc doc;
  doc.applyUpdate(insertText(7, 0, std::string(200000, 'x')));
  Bytes state = doc.encodeStateAsUpdate();
  const Bytes expected = sync::encode_sync_step2(std::span<const uint8_t>(state));
  if (state.capacity() - state.size() < 8) state.reserve(state.size() + 8);
  const uint8_t* buffer = state.data();
  const Bytes framed = sync::encode_sync_step2(std::move(state));
  EXPECT_EQ(framed, expected);
  EXPECT_EQ(framed.data(), buffer);
  // Without room for the header it is copied.
  Bytes tight(kInsertAb);
  tight.shrink_to_fit();
  EXPECT_EQ(sync::encode_sync_step2(std::move(tight)), sync::encode_sync_step2(std::span<const uint8_t>(kInsertAb)));
}
