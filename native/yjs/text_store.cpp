#include "yjs/text_store.h"

#include <stdexcept>

namespace collabio::yjs {

namespace {

constexpr uint64_t kMaxArenaUnits = UINT32_MAX;  // offsets and run ends are 32-bit
constexpr uint64_t kMinCompactionWaste = 64 * 1024;     // units
constexpr uint64_t kMaxRoom = 64 * 1024;                // units reserved behind a moved run, at most

bool isHighSurrogate(char16_t c) { return c >= 0xD800 && c <= 0xDBFF; }

}  // namespace

template <class Unit>
uint32_t TextStore::appendRun(Arena<Unit>& arena, Run run, uint64_t units) {
  if constexpr (std::is_same_v<Unit, char16_t>) {
    if (run.twoByte) return arena.append(wide_, run.offset, units);
  }
  return arena.append(narrow_, run.offset, units);  // one-byte runs only go to the narrow arena
}

template <class Unit>
void TextStore::copyRun(Arena<Unit>& arena, uint64_t to, Run run, uint64_t units) {
  if constexpr (std::is_same_v<Unit, char16_t>) {
    if (run.twoByte) return arena.copyTo(to, wide_, run.offset, units);
  }
  arena.copyTo(to, narrow_, run.offset, units);
}

template <class Unit>
void TextStore::Arena<Unit>::grow(uint64_t extra, bool exact) {
  const uint64_t need = units.size() + extra;
  if (need > kMaxArenaUnits) throw std::length_error("document text exceeds 2^32 units");
  if (need <= units.capacity()) return;
  const uint64_t amortized = std::min<uint64_t>(units.capacity() + units.capacity() / 2, kMaxArenaUnits);
  units.reserve(exact ? need : std::max<uint64_t>({need, amortized, 64}));
}

template <class Unit>
void TextStore::Arena<Unit>::dropRoom(uint64_t end) {
  if (room.empty() || end == units.size()) return;  // nothing can be reserved behind the last run
  auto it = room.find(static_cast<uint32_t>(end));
  if (it == room.end()) return;
  reserved -= it->second;
  garbage += it->second;
  room.erase(it);
}

void TextStore::reserve(uint64_t narrow, uint64_t wide) {
  // Small additions grow the arenas the amortized way in add().
  if (narrow && narrow >= narrow_.units.size() / 2) narrow_.grow(narrow, true);
  if (wide && wide >= wide_.units.size() / 2) wide_.grow(wide, true);
}

bool TextStore::needsTwoBytes(std::u16string_view s) {
  char16_t any = 0;
  for (const char16_t c : s) any |= c;
  return any > 0xFF;
}

TextStore::Run TextStore::add(std::u16string_view s) {
  Run run;
  run.twoByte = needsTwoBytes(s);
  if (run.twoByte) {
    wide_.grow(s.size(), false);
    run.offset = static_cast<uint32_t>(wide_.units.size());
    wide_.units.insert(wide_.units.end(), s.begin(), s.end());
  } else {
    narrow_.grow(s.size(), false);
    run.offset = static_cast<uint32_t>(narrow_.units.size());
    for (const char16_t c : s) narrow_.units.push_back(static_cast<char>(c));  // c < 0x100 (Latin-1)
  }
  return run;
}

void TextStore::release(Run run, uint64_t units) {
  if (run.twoByte) {
    wide_.garbage += units;
    wide_.dropRoom(run.offset + units);
  } else {
    narrow_.garbage += units;
    narrow_.dropRoom(run.offset + units);
  }
}

TextStore::Run TextStore::split(Run run, uint64_t units, uint64_t diff) {
  (void)units;
  const Run right{static_cast<uint32_t>(run.offset + diff), run.twoByte};
  if (run.twoByte && isHighSurrogate(wide_.units[run.offset + diff - 1])) {
    wide_.units[run.offset + diff - 1] = u'\uFFFD';
    wide_.units[right.offset] = u'\uFFFD';
  }
  return right;
}

template <class Unit>
bool TextStore::extendInPlace(Arena<Unit>& arena, Run left, uint64_t leftUnits, Run right, uint64_t rightUnits) {
  const uint64_t end = left.offset + leftUnits;
  if (end == arena.units.size()) {
    appendRun(arena, right, rightUnits);
    release(right, rightUnits);
    return true;
  }
  auto it = arena.room.find(static_cast<uint32_t>(end));
  if (it == arena.room.end() || it->second < rightUnits) return false;
  copyRun(arena, end, right, rightUnits);
  const uint32_t rest = it->second - static_cast<uint32_t>(rightUnits);
  arena.reserved -= rightUnits;
  auto node = arena.room.extract(it);  // reused: no allocation per character
  if (rest) {
    node.key() = static_cast<uint32_t>(end + rightUnits);
    node.mapped() = rest;
    arena.room.insert(std::move(node));
  }
  release(right, rightUnits);
  return true;
}

template <class Unit>
TextStore::Run TextStore::relocate(Arena<Unit>& arena, Run left, uint64_t leftUnits, Run right, uint64_t rightUnits) {
  // Room for as much again (capped): an author typing among others moves its run once per
  // doubling instead of once per character.
  const uint64_t total = leftUnits + rightUnits;
  const uint64_t room = std::min(total, kMaxRoom);
  arena.grow(total + room, false);
  Run joined{0, std::is_same_v<Unit, char16_t>};
  joined.offset = appendRun(arena, left, leftUnits);
  appendRun(arena, right, rightUnits);
  arena.units.resize(arena.units.size() + room);
  arena.reserved += room;
  arena.room.emplace(static_cast<uint32_t>(joined.offset + total), static_cast<uint32_t>(room));
  release(left, leftUnits);
  release(right, rightUnits);
  return joined;
}

TextStore::Run TextStore::join(Run left, uint64_t leftUnits, Run right, uint64_t rightUnits) {
  if (left.twoByte == right.twoByte && left.offset + leftUnits == right.offset) return left;  // adjacent
  if (left.twoByte) {
    if (extendInPlace(wide_, left, leftUnits, right, rightUnits)) return left;
    return relocate(wide_, left, leftUnits, right, rightUnits);
  }
  if (right.twoByte) return relocate(wide_, left, leftUnits, right, rightUnits);  // widens `left`
  if (extendInPlace(narrow_, left, leftUnits, right, rightUnits)) return left;
  return relocate(narrow_, left, leftUnits, right, rightUnits);
}

void TextStore::write(lib0::Encoder& e, Run run, uint64_t units, uint64_t from) const {
  if (run.twoByte) {
    e.writeVarStringUtf16(std::u16string_view(wide_.units.data() + run.offset + from, units - from));
  } else {
    e.writeVarStringLatin1(std::string_view(narrow_.units.data() + run.offset + from, units - from));
  }
}

void TextStore::appendUtf8(std::string& out, Run run, uint64_t from, uint64_t count) const {
  if (run.twoByte) {
    out += lib0::utf16ToUtf8(std::u16string_view(wide_.units.data() + run.offset + from, count));
  } else {
    out += lib0::latin1ToUtf8(std::string_view(narrow_.units.data() + run.offset + from, count));
  }
}

bool TextStore::wantsCompaction() const {
  const uint64_t waste = narrow_.garbage + narrow_.reserved + (wide_.garbage + wide_.reserved) * 2;
  const uint64_t live = narrow_.live() + wide_.live() * 2;
  return waste >= kMinCompactionWaste && waste > live / 2;
}

size_t TextStore::capacityBytes() const {
  constexpr size_t kRoomEntry = 32;  // unordered_map node, approximately
  return narrow_.units.capacity() + wide_.units.capacity() * 2 + (narrow_.room.size() + wide_.room.size()) * kRoomEntry;
}

}  // namespace collabio::yjs
