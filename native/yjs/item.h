// A struct of the struct store as a Doc holds it (yjs Item.js / GC.js), packed into 64 bytes, and
// the pool items live in. Owned data (text, other content, parents) lives in per-document tables
// of Doc::Impl; an Item only holds small handles into them, so items are trivially copyable.
//
// Owner: the Doc's owner (one strand); nothing here is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "yjs/update.h"

namespace collabio::yjs {

/// One Item or GC struct (GC: ref() == kRefGC, only id and length matter). Items of one parent form
/// a doubly linked list (left/right), as in yjs.
///
/// Layout: ids are (client index, clock), the index pointing into the document's client table
/// (Doc::Impl::clients). Clocks fit in 54 bits (lib0 integers are at most 2^53 - 1, so a clock inside
/// a struct is below 2^54); the top bits of the clock word hold the content ref and flags. `len`
/// holds the length; only GC and Deleted content can be longer than 32 bits (their length comes
/// from the wire), and those have no payload, so `payload` holds the high half of their length.
/// Other content cannot reach 2^32 (its data is held in memory; see Doc::Impl::mergeItems).
struct Item {
  static constexpr uint32_t kNone = UINT32_MAX;

  Item* left = nullptr;
  Item* right = nullptr;
  uint64_t originClock = 0;
  uint64_t rightOriginClock = 0;
  uint32_t client = 0;                  // index in Doc::Impl::clients
  uint32_t originClient = kNone;        // kNone: no origin
  uint32_t rightOriginClient = kNone;   // kNone: no right origin
  uint32_t parent = kNone;              // index in Doc::Impl::parents (type + parentSub); kNone for GC
  uint32_t len = 0;                     // length, low 32 bits
  // String: byte offset of the text in Doc::Impl::text. JSON, Binary, Embed, Format, Type, Any, Doc:
  // index in Doc::Impl::contents. GC, Deleted: high 32 bits of the length.
  uint32_t payload = 0;

  uint64_t clock() const { return bits_ & kClockMask; }
  void setClock(uint64_t clock) {
    if (clock > kClockMask) throw std::length_error("clock out of range");  // unreachable from lib0 input
    bits_ = (bits_ & ~kClockMask) | clock;
  }
  /// Content ref (kRefDeleted .. kRefDoc), or kRefGC for a GC struct.
  uint8_t ref() const { return static_cast<uint8_t>((bits_ >> kRefShift) & 0xF); }
  /// Changes the content kind; call setLength afterwards (where the length lives depends on it).
  void setRef(uint8_t ref) { bits_ = (bits_ & ~(uint64_t{0xF} << kRefShift)) | (uint64_t{ref} << kRefShift); }
  bool gc() const { return ref() == kRefGC; }
  bool deleted() const { return flag(kDeletedBit); }
  void setDeleted(bool v) { setFlag(kDeletedBit, v); }
  /// String content stored with two bytes per UTF-16 unit (otherwise one byte: every unit < 0x100).
  bool twoByte() const { return flag(kTwoByteBit); }
  void setTwoByte(bool v) { setFlag(kTwoByteBit, v); }
  bool isDeleted() const { return gc() || deleted(); }
  bool hasOrigin() const { return originClient != kNone; }
  bool hasRightOrigin() const { return rightOriginClient != kNone; }
  /// Whether the length may exceed 32 bits (GC and Deleted content keep its high half in `payload`).
  bool longLength() const { return ref() <= kRefDeleted; }

  uint64_t length() const { return longLength() ? (uint64_t{payload} << 32) | len : len; }
  /// Callers guarantee length < 2^32 unless longLength() (checked: never truncated silently).
  void setLength(uint64_t n) {
    len = static_cast<uint32_t>(n);
    if (longLength()) payload = static_cast<uint32_t>(n >> 32);
    else if (n >> 32) throw std::length_error("content longer than 2^32");
  }
  uint64_t end() const { return clock() + length(); }
  uint64_t lastClock() const { return end() - 1; }

 private:
  static constexpr uint64_t kClockMask = (uint64_t{1} << 54) - 1;
  static constexpr int kRefShift = 54;      // 4 bits
  static constexpr int kDeletedBit = 58;
  static constexpr int kTwoByteBit = 59;
  bool flag(int bit) const { return (bits_ >> bit) & 1; }
  void setFlag(int bit, bool v) { bits_ = v ? bits_ | (uint64_t{1} << bit) : bits_ & ~(uint64_t{1} << bit); }

  uint64_t bits_ = 0;  // clock | ref << 54 | deleted << 58 | twoByte << 59
};
static_assert(sizeof(Item) == 64, "Item is meant to take one cache line");
static_assert(kRefGC == 0 && kRefDeleted == 1, "Item::longLength relies on the ref order");

/// Stable storage for items: chunks of kChunk items, never moved; released items are reused first
/// (a free list threaded through `right`). Items are not returned to the allocator before the pool
/// is destroyed. Owner: the Doc's strand.
class ItemPool {
 public:
  /// A default Item (a GC struct of length 0 at clock 0 until the caller sets it up).
  Item* alloc() {
    if (free_) {
      Item* item = free_;
      free_ = item->right;
      *item = Item{};
      return item;
    }
    if (used_ == kChunk) {
      chunks_.push_back(std::make_unique<Item[]>(kChunk));
      used_ = 0;
    }
    return &chunks_.back()[used_++];
  }
  /// `item` must not be referenced any more and its payload must have been released.
  void release(Item* item) {
    *item = Item{};
    item->right = free_;
    free_ = item;
  }
  size_t capacityBytes() const { return chunks_.size() * kChunk * sizeof(Item) + chunks_.capacity() * sizeof(void*); }

 private:
  static constexpr size_t kChunk = 256;  // 16 KiB
  std::vector<std::unique_ptr<Item[]>> chunks_;
  size_t used_ = kChunk;
  Item* free_ = nullptr;
};

}  // namespace collabio::yjs
