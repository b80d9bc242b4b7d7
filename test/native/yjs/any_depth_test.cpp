// lib0 `any` values nested deeper than Decoder::kMaxAnyDepth are refused, so that an update no JS
// client can decode (lib0's readAny recurses; ~5000 levels overflow Node's stack) never enters a
// document. Found by test/js/hardening-docs.test.js.
#include <gtest/gtest.h>

#include <vector>

#include "yjs/doc.h"
#include "yjs/lib0.h"

using namespace collabio::yjs;

namespace {

// An array nested `depth` levels around null: 117 1 ... 117 1 126.
std::vector<uint8_t> nested_any(size_t depth) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < depth; ++i) {
    out.push_back(117);
    out.push_back(1);
  }
  out.push_back(126);
  return out;
}

// An update from client 99 setting root map "m" key "k" to that value (ContentAny, one item).
std::vector<uint8_t> map_set_update(size_t depth) {
  std::vector<uint8_t> u{1, 1, 99, 0, 0x28, 1, 1, 'm', 1, 'k', 1};
  const auto v = nested_any(depth);
  u.insert(u.end(), v.begin(), v.end());
  u.push_back(0);  // empty delete set
  return u;
}

}  // namespace

TEST(AnyDepth, AtTheLimitDecodesOneMoreIsRefused) {
  {
    const auto v = nested_any(lib0::Decoder::kMaxAnyDepth);
    lib0::Decoder d(v);
    EXPECT_EQ(d.readAnyRaw().size(), v.size());
  }
  {
    const auto v = nested_any(lib0::Decoder::kMaxAnyDepth + 1);
    lib0::Decoder d(v);
    EXPECT_THROW(d.readAnyRaw(), DecodeError);
  }
}

TEST(AnyDepth, AnUpdateWithADeepValueLeavesTheDocumentUntouched) {
  Doc doc;
  doc.applyUpdate(map_set_update(10));
  const auto before = doc.encodeStateAsUpdate();
  EXPECT_THROW(doc.applyUpdate(map_set_update(20000)), DecodeError);
  EXPECT_EQ(doc.encodeStateAsUpdate(), before);
}
