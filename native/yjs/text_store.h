// The text of a document's string items (ContentString), in two arenas instead of one heap string
// per item: yjs measures strings in UTF-16 code units, so a run whose units are all below 0x100 is
// kept one byte per unit (Latin-1, as V8 keeps such strings) and any other run two bytes per unit.
// Offsets and split points stay a multiplication either way.
//
// An item holds a Run (its offset and width; its length in units is the item's length). Splitting
// a run never copies: the two halves stay where they are. Joining (merging an author's next
// characters into its item) is free when the runs are adjacent, the usual case when one author
// types; it appends in place when the left run ends the arena or has room reserved behind it.
// Otherwise both runs move to the end of the arena, with as much room reserved behind them as
// they hold, so that an author typing while others type too costs amortized O(1) per character.
// Released and moved-away text is garbage until compact() rewrites the arenas, which the owner
// calls when wantsCompaction() says so (garbage and reserved room above half the live text).
//
//   TextStore t;
//   auto r = t.add(u"hello");             // one-byte run
//   auto right = t.split(r, 5, 2);        // r = "he", right = "llo", nothing copied
//   r = t.join(r, 2, right, 3);           // adjacent again: free
//
// Owner: the Doc's strand.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "yjs/lib0.h"

namespace collabio::yjs {

class TextStore {
 public:
  struct Run {
    uint32_t offset = 0;  // in units of the arena
    bool twoByte = false;
  };

  /// Reserves room for `narrow` one-byte and `wide` two-byte units about to be added when that is
  /// large compared to what is held (a document loaded in one update): one exact allocation
  /// instead of repeated growth.
  void reserve(uint64_t narrow, uint64_t wide);
  /// Whether add() would store `s` with two bytes per unit.
  static bool needsTwoBytes(std::u16string_view s);
  /// Stores `s` (not empty). Throws std::length_error past 2^32 units in an arena.
  Run add(std::u16string_view s);
  /// Splits a run of `units` at `diff` (0 < diff < units): `run` keeps the first `diff` units, the
  /// result is the rest. Splitting inside a surrogate pair turns both halves into U+FFFD, as yjs
  /// does (yjs #248).
  Run split(Run run, uint64_t units, uint64_t diff);
  /// `right` appended to `left`; returns the joined run (`left` and `right` are invalid after).
  Run join(Run left, uint64_t leftUnits, Run right, uint64_t rightUnits);
  /// The run is no longer used.
  void release(Run run, uint64_t units);

  char16_t unitAt(Run run, uint64_t i) const {
    return run.twoByte ? wide_.units[run.offset + i]
                       : static_cast<char16_t>(static_cast<uint8_t>(narrow_.units[run.offset + i]));
  }
  /// Writes units [from, units) as a lib0 varString (UTF-8; a lone surrogate becomes U+FFFD).
  void write(lib0::Encoder& e, Run run, uint64_t units, uint64_t from) const;
  /// Appends units [from, from + count) as UTF-8.
  void appendUtf8(std::string& out, Run run, uint64_t from, uint64_t count) const;

  bool wantsCompaction() const;
  /// Rewrites the arenas with only live text (no reserved room). `forEachRun(fn)` must call
  /// fn(Run& run, uint64_t units) once for every live run; fn updates the run in place.
  template <class ForEachRun>
  void compact(ForEachRun&& forEachRun) {
    Arena<char> narrow;
    Arena<char16_t> wide;
    narrow.units.reserve(narrow_.live());
    wide.units.reserve(wide_.live());
    forEachRun([&](Run& run, uint64_t units) {
      if (run.twoByte) run.offset = wide.append(wide_, run.offset, units);
      else run.offset = narrow.append(narrow_, run.offset, units);
    });
    narrow_ = std::move(narrow);
    wide_ = std::move(wide);
  }

  size_t capacityBytes() const;
  uint64_t liveUnits() const { return narrow_.live() + wide_.live(); }
  /// About the UTF-8 size of all live text (exact for ASCII; up to 3 bytes per two-byte unit).
  uint64_t utf8Bound() const { return narrow_.live() + wide_.live() * 3; }

 private:
  template <class Unit>
  struct Arena {
    std::vector<Unit> units;  // std::vector, not std::basic_string: reserve() allocates exactly
    uint64_t garbage = 0;     // units no run uses
    uint64_t reserved = 0;    // units of room reserved behind runs
    std::unordered_map<uint32_t, uint32_t> room;  // end offset of a run -> room reserved behind it

    uint64_t live() const { return units.size() - garbage - reserved; }
    /// Makes room for `extra` more units: exactly, or by half again (amortized appends). Throws
    /// std::length_error when offsets would pass 2^32.
    void grow(uint64_t extra, bool exact);
    /// Appends `n` units of `from` (which may be this arena) starting at `offset`, widened from
    /// Latin-1 if needed; returns where they start.
    template <class Src>
    uint32_t append(const Arena<Src>& from, uint64_t offset, uint64_t n) {
      grow(n, false);  // no reallocation below: `from` stays valid
      const auto at = static_cast<uint32_t>(units.size());
      units.resize(at + n);
      copyTo(at, from, offset, n);
      return at;
    }
    /// Copies `n` units of `from` at `offset` over units [to, to + n) of this arena (room or
    /// fresh space: never overlapping a run).
    template <class Src>
    void copyTo(uint64_t to, const Arena<Src>& from, uint64_t offset, uint64_t n) {
      const Src* src = from.units.data() + offset;
      Unit* dst = units.data() + to;
      if constexpr (std::is_same_v<Src, Unit>) {
        std::copy_n(src, n, dst);
      } else {
        static_assert(std::is_same_v<Src, char> && std::is_same_v<Unit, char16_t>, "only widening");
        for (uint64_t i = 0; i < n; ++i) dst[i] = static_cast<char16_t>(static_cast<uint8_t>(src[i]));
      }
    }
    /// The room behind the run ending at `end` becomes garbage.
    void dropRoom(uint64_t end);
  };
  /// Appends `right` behind `left` in left's arena if it ends the arena or has the room.
  template <class Unit>
  bool extendInPlace(Arena<Unit>& arena, Run left, uint64_t leftUnits, Run right, uint64_t rightUnits);
  template <class Unit>
  Run relocate(Arena<Unit>& arena, Run left, uint64_t leftUnits, Run right, uint64_t rightUnits);
  /// Appends / copies a run into `arena` (a one-byte run is widened for the wide arena).
  template <class Unit>
  uint32_t appendRun(Arena<Unit>& arena, Run run, uint64_t units);
  template <class Unit>
  void copyRun(Arena<Unit>& arena, uint64_t to, Run run, uint64_t units);

  Arena<char> narrow_;      // Latin-1 runs
  Arena<char16_t> wide_;    // UTF-16 runs
};

}  // namespace collabio::yjs
