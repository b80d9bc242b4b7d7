#include "yjs/update.h"

#include "yjs/json.h"

#include <algorithm>
#include <optional>

namespace collabio::yjs {

namespace {

[[noreturn]] void fail(const char* what) { throw DecodeError(what); }

bool isTruthyAny(std::span<const uint8_t> raw) {
  lib0::Decoder d(raw);
  switch (d.readUint8()) {
    case lib0::kAnyUndefined:
    case lib0::kAnyNull:
    case lib0::kAnyFalse: return false;
    case lib0::kAnyInteger: return d.readVarInt() != 0;
    case lib0::kAnyFloat32: {
      const float f = d.readFloat32();
      return f == f && f != 0;
    }
    case lib0::kAnyFloat64: {
      const double f = d.readFloat64();
      return f == f && f != 0;
    }
    case lib0::kAnyBigInt: return d.readBigInt64() != 0;
    case lib0::kAnyString: return !d.readVarStringView().empty();
    default: return true;
  }
}

// ContentDoc re-encodes its options from the Doc it created (ContentDoc.js): only `gc: false`,
// `autoLoad: true` and a non-null `meta` survive, in that order.
std::string normalizeDocOpts(std::span<const uint8_t> raw) {
  std::span<const uint8_t> gc, autoLoad, meta;
  lib0::Decoder d(raw);
  if (d.readUint8() == lib0::kAnyObject) {
    const uint64_t n = d.readVarUint();
    for (uint64_t i = 0; i < n; ++i) {
      const std::string_view key = d.readVarStringView();
      auto value = d.readAnyRaw();
      if (key == "gc") gc = value;
      else if (key == "autoLoad") autoLoad = value;
      else if (key == "meta") meta = value;
    }
  }
  const bool writeGc = !gc.empty() && gc[0] != lib0::kAnyUndefined && !isTruthyAny(gc);
  const bool writeAutoLoad = !autoLoad.empty() && isTruthyAny(autoLoad);
  const bool writeMeta = !meta.empty() && meta[0] != lib0::kAnyUndefined && meta[0] != lib0::kAnyNull;
  lib0::Encoder e;
  e.writeUint8(lib0::kAnyObject);
  e.writeVarUint(uint64_t{writeGc} + writeAutoLoad + writeMeta);
  if (writeGc) {
    e.writeVarString("gc");
    e.writeUint8(lib0::kAnyFalse);
  }
  if (writeAutoLoad) {
    e.writeVarString("autoLoad");
    e.writeUint8(lib0::kAnyTrue);
  }
  if (writeMeta) {
    e.writeVarString("meta");
    e.writeBytes(meta);
  }
  const auto& b = e.buffer();
  return std::string(b.begin(), b.end());
}

std::string toString(std::span<const uint8_t> bytes) { return std::string(bytes.begin(), bytes.end()); }

std::span<const uint8_t> asBytes(const std::string& s) {
  // Viewing string storage as bytes; the string outlives the span.
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

Content::Content(const Content& o) : ref(o.ref), str(o.str) {
  if (o.data) {
    data = std::make_unique<ContentData>();
    data->elems = o.data->elems;
    data->a = o.data->a;
    data->b = o.data->b;
    data->typeRef = o.data->typeRef;
  }
}

Content& Content::operator=(const Content& o) {
  if (this != &o) {
    Content tmp(o);
    *this = std::move(tmp);
  }
  return *this;
}

Content Content::splice(uint64_t offset, uint64_t length) {
  Content right;
  right.ref = ref;
  switch (ref) {
    case kRefString: {
      right.str = str.substr(offset);
      str.resize(offset);
      const char16_t last = str.back();
      if (last >= 0xD800 && last <= 0xDBFF) {
        str.back() = u'\uFFFD';
        right.str[0] = u'\uFFFD';
      }
      break;
    }
    case kRefJSON:
    case kRefAny: right.data = data->splitElems(offset); break;
    default:  // Deleted: the length lives on the struct. Other kinds have length 1.
      (void)length;
      break;
  }
  return right;
}

bool Content::mergeWith(Content& right) {
  if (ref != right.ref) return false;
  switch (ref) {
    case kRefString: str += right.str; return true;
    case kRefDeleted: return true;
    case kRefJSON:
    case kRefAny: data->appendElems(*right.data); return true;
    default: return false;
  }
}

void Content::write(lib0::Encoder& e, uint64_t offset, uint64_t length) const {
  switch (ref) {
    case kRefDeleted: e.writeVarUint(length - offset); break;
    case kRefString: e.writeVarStringUtf16(std::u16string_view(str).substr(offset)); break;
    default: data->write(e, ref, offset); break;
  }
}

std::unique_ptr<ContentData> ContentData::splitElems(uint64_t offset) {
  auto right = std::make_unique<ContentData>();
  right->elems.assign(std::make_move_iterator(elems.begin() + static_cast<ptrdiff_t>(offset)),
                      std::make_move_iterator(elems.end()));
  elems.resize(offset);
  return right;
}

void ContentData::appendElems(ContentData& right) {
  elems.insert(elems.end(), std::make_move_iterator(right.elems.begin()), std::make_move_iterator(right.elems.end()));
}

size_t ContentData::heapBytes() const {
  auto heap = [](const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; };  // beyond SSO
  size_t n = sizeof(ContentData) + heap(a) + heap(b);
  n += elems.capacity() * sizeof(std::string);
  for (const auto& s : elems) n += heap(s);
  return n;
}

void ContentData::write(lib0::Encoder& e, uint8_t ref, uint64_t offset) const {
  switch (ref) {
    case kRefJSON:
      e.writeVarUint(elems.size() - offset);
      for (size_t i = offset; i < elems.size(); ++i) e.writeVarString(elems[i]);
      break;
    case kRefBinary: e.writeVarUint8Array(asBytes(a)); break;
    case kRefEmbed: e.writeVarString(a); break;
    case kRefFormat:
      e.writeVarString(a);
      e.writeVarString(b);
      break;
    case kRefType:
      e.writeVarUint(typeRef);
      if (typeRef == kTypeXmlElement || typeRef == kTypeXmlHook) e.writeVarString(a);
      break;
    case kRefAny:
      e.writeVarUint(elems.size() - offset);
      for (size_t i = offset; i < elems.size(); ++i) e.writeBytes(elems[i]);
      break;
    case kRefDoc:
      e.writeVarString(a);
      e.writeBytes(b);
      break;
    default: break;
  }
}

size_t Content::heapBytes() const {
  return (str.capacity() > 7 ? str.capacity() * 2 + 2 : 0) + (data ? data->heapBytes() : 0);
}

uint64_t readContent(lib0::Decoder& d, uint8_t ref, Content& out) {
  out.ref = ref;
  switch (ref) {
    case kRefDeleted: {
      const uint64_t len = d.readVarUint();
      if (len == 0) fail("zero-length deleted content");
      return len;
    }
    case kRefJSON:
    case kRefAny: {
      const uint64_t n = d.readVarUint();
      if (n == 0) fail("empty content");
      if (n > d.remaining()) fail("content length exceeds input");
      out.data = std::make_unique<ContentData>();
      out.data->elems.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        if (ref == kRefJSON) {
          const std::string_view text = d.readVarStringView();
          if (text != "undefined" && !isValidJson(text)) fail("invalid JSON content");
          out.data->elems.emplace_back(text);
        } else {
          out.data->elems.push_back(toString(d.readAnyRaw()));
        }
      }
      return n;
    }
    case kRefBinary:
      out.data = std::make_unique<ContentData>();
      out.data->a = toString(d.readVarUint8Array());
      return 1;
    case kRefString:
      out.str = d.readVarStringUtf16();
      if (out.str.empty()) fail("empty string content");
      return out.str.size();
    case kRefEmbed:
      out.data = std::make_unique<ContentData>();
      out.data->a = std::string(d.readVarStringView());
      if (!isValidJson(out.data->a)) fail("invalid JSON embed");
      return 1;
    case kRefFormat:
      out.data = std::make_unique<ContentData>();
      out.data->a = std::string(d.readVarStringView());
      out.data->b = std::string(d.readVarStringView());
      if (!isValidJson(out.data->b)) fail("invalid JSON format value");
      return 1;
    case kRefType: {
      const uint64_t typeRef = d.readVarUint();
      if (typeRef > kTypeXmlText) fail("unknown type ref");
      out.data = std::make_unique<ContentData>();
      out.data->typeRef = static_cast<uint8_t>(typeRef);
      if (typeRef == kTypeXmlElement || typeRef == kTypeXmlHook) out.data->a = std::string(d.readVarStringView());
      return 1;
    }
    case kRefDoc:
      out.data = std::make_unique<ContentData>();
      out.data->a = std::string(d.readVarStringView());
      out.data->b = normalizeDocOpts(d.readAnyRaw());
      return 1;
    default: fail("unknown content ref");
  }
}

void StructRef::write(lib0::Encoder& e, uint64_t offset) const {
  if (kind == kRefGC || kind == kRefSkip) {
    e.writeUint8(kind);
    e.writeVarUint(length - offset);
    return;
  }
  const bool writeOrigin = offset > 0 || hasOrigin;
  const ID o = offset > 0 ? ID{id.client, id.clock + offset - 1} : origin;
  const bool withParent = !writeOrigin && !hasRightOrigin;
  // Item.write sets the parentSub bit whenever there is one; the key itself is only written with
  // the parent info. (Structs read from updates only have a parentSub when they have no origin.)
  e.writeUint8(static_cast<uint8_t>(kind | (writeOrigin ? 0x80 : 0) | (hasRightOrigin ? 0x40 : 0) |
                                    (hasParentSub ? 0x20 : 0)));
  if (writeOrigin) {
    e.writeVarUint(o.client);
    e.writeVarUint(o.clock);
  }
  if (hasRightOrigin) {
    e.writeVarUint(rightOrigin.client);
    e.writeVarUint(rightOrigin.clock);
  }
  if (withParent) {
    if (parentKind == kRootParent) {
      e.writeVarUint(1);
      e.writeVarString(parentName);
    } else {
      e.writeVarUint(0);
      e.writeVarUint(parentId.client);
      e.writeVarUint(parentId.clock);
    }
    if (hasParentSub) e.writeVarString(parentSub);
  }
  content.write(e, offset, length);
}

StructRef StructRef::slice(uint64_t diff) const {
  StructRef r;
  r.kind = kind;
  r.id = {id.client, id.clock + diff};
  r.length = length - diff;
  if (!isItem()) return r;
  r.hasOrigin = true;
  r.origin = {id.client, id.clock + diff - 1};
  r.hasRightOrigin = hasRightOrigin;
  r.rightOrigin = rightOrigin;
  r.parentKind = parentKind;
  r.parentName = parentName;
  r.parentId = parentId;
  r.hasParentSub = hasParentSub;
  r.parentSub = parentSub;
  Content left = content;
  r.content = left.splice(diff, length);
  return r;
}

void DeleteSet::sortAndMerge() {
  for (auto& [client, dels] : clients) {
    std::sort(dels.begin(), dels.end(), [](const Range& a, const Range& b) { return a.clock < b.clock; });
    size_t j = 1;
    for (size_t i = 1; i < dels.size(); ++i) {
      Range& left = dels[j - 1];
      const Range& right = dels[i];
      if (left.clock + left.len >= right.clock) {
        left.len = std::max(left.len, right.clock + right.len - left.clock);
      } else {
        dels[j++] = right;
      }
    }
    if (!dels.empty()) dels.resize(j);
  }
}

void DeleteSet::merge(const DeleteSet& other) {
  for (const auto& [client, dels] : other.clients) {
    auto& dst = clients[client];
    dst.insert(dst.end(), dels.begin(), dels.end());
  }
  sortAndMerge();
}

uint64_t DeleteSet::coverage() const {
  DeleteSet merged = *this;
  merged.sortAndMerge();
  uint64_t n = 0;
  for (const auto& [client, dels] : merged.clients)
    for (const auto& r : dels) n += r.len;
  return n;
}

bool DeleteSet::contains(ID id) const {
  auto it = clients.find(id.client);
  if (it == clients.end()) return false;
  for (const auto& r : it->second)
    if (id.clock >= r.clock && id.clock < r.clock + r.len) return true;
  return false;
}

void DeleteSet::write(lib0::Encoder& e) const {
  e.writeVarUint(clients.size());
  for (auto it = clients.rbegin(); it != clients.rend(); ++it) {
    e.writeVarUint(it->first);
    e.writeVarUint(it->second.size());
    for (const auto& r : it->second) {
      e.writeVarUint(r.clock);
      e.writeVarUint(r.len);
    }
  }
}

DeleteSet::Sequence DeleteSet::readSequence(lib0::Decoder& d) {
  Sequence seq;
  const uint64_t numClients = d.readVarUint();
  if (numClients > d.remaining()) fail("delete set: client count exceeds input");
  for (uint64_t i = 0; i < numClients; ++i) {
    Entry entry{d.readVarUint(), {}};
    const uint64_t n = d.readVarUint();
    if (n > d.remaining()) fail("delete set: range count exceeds input");
    for (uint64_t k = 0; k < n; ++k) {
      const uint64_t clock = d.readVarUint();
      const uint64_t len = d.readVarUint();
      if (clock + len > lib0::kMaxSafeInteger) fail("delete set: clock out of range");
      if (len > 0) entry.ranges.push_back({clock, len});
    }
    if (!entry.ranges.empty()) seq.push_back(std::move(entry));
  }
  return seq;
}

DeleteSet DeleteSet::fromSequence(const Sequence& seq) {
  DeleteSet ds;
  for (const auto& entry : seq) {
    auto& dst = ds.clients[entry.client];
    dst.insert(dst.end(), entry.ranges.begin(), entry.ranges.end());
  }
  return ds;
}

DeleteSet::Sequence DeleteSet::toSequence() const {
  Sequence seq;
  for (auto it = clients.rbegin(); it != clients.rend(); ++it) seq.push_back({it->first, it->second});
  return seq;
}

DeleteSet DeleteSet::read(lib0::Decoder& d) { return fromSequence(readSequence(d)); }

DecodedUpdate decodeUpdate(std::span<const uint8_t> update) {
  lib0::Decoder d(update);
  DecodedUpdate out;
  const uint64_t numClients = d.readVarUint();
  if (numClients > d.remaining()) fail("update: client count exceeds input");
  for (uint64_t ci = 0; ci < numClients; ++ci) {
    const uint64_t numStructs = d.readVarUint();
    if (numStructs > d.remaining()) fail("update: struct count exceeds input");
    const uint64_t client = d.readVarUint();
    uint64_t clock = d.readVarUint();
    std::vector<StructRef> refs;
    refs.reserve(numStructs);
    for (uint64_t si = 0; si < numStructs; ++si) {
      const uint8_t info = d.readUint8();
      const uint8_t ref = info & 0x1F;
      StructRef s;
      s.id = {client, clock};
      if (ref == kRefGC || ref == kRefSkip) {
        s.kind = ref;
        s.length = d.readVarUint();
      } else {
        s.kind = ref;
        if (info & 0x80) {
          s.hasOrigin = true;
          s.origin.client = d.readVarUint();
          s.origin.clock = d.readVarUint();
          if (s.origin.client == client && s.origin.clock >= clock) fail("update: origin after struct");
        }
        if (info & 0x40) {
          s.hasRightOrigin = true;
          s.rightOrigin.client = d.readVarUint();
          s.rightOrigin.clock = d.readVarUint();
          if (s.rightOrigin.client == client && s.rightOrigin.clock >= clock) fail("update: right origin after struct");
        }
        if ((info & 0xC0) == 0) {
          if (d.readVarUint() == 1) {
            s.parentKind = StructRef::kRootParent;
            s.parentName = std::string(d.readVarStringView());
          } else {
            s.parentKind = StructRef::kIdParent;
            s.parentId.client = d.readVarUint();
            s.parentId.clock = d.readVarUint();
            if (s.parentId.client == client && s.parentId.clock >= clock) fail("update: parent after struct");
          }
          if (info & 0x20) {
            s.hasParentSub = true;
            s.parentSub = std::string(d.readVarStringView());
          }
        }
        s.length = readContent(d, ref, s.content);
      }
      clock += s.length;
      if (clock > lib0::kMaxSafeInteger) fail("update: clock out of range");
      if (s.isItem() && s.length == 0) fail("update: zero-length item");
      if (s.length > 0) refs.push_back(std::move(s));
    }
    out.clients.push_back({client, std::move(refs)});
  }
  out.ds = DeleteSet::readSequence(d);
  return out;
}

StateVector decodeStateVector(std::span<const uint8_t> sv) {
  StateVector out;
  if (sv.empty()) return out;
  lib0::Decoder d(sv);
  const uint64_t n = d.readVarUint();
  if (n > d.remaining()) fail("state vector: count exceeds input");
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t client = d.readVarUint();
    out[client] = d.readVarUint();
  }
  return out;
}

std::vector<uint8_t> encodeStateVector(const StateVector& sv) {
  lib0::Encoder e;
  e.writeVarUint(sv.size());
  for (auto it = sv.rbegin(); it != sv.rend(); ++it) {
    e.writeVarUint(it->first);
    e.writeVarUint(it->second);
  }
  return e.take();
}

std::vector<StructRef> flatten(DecodedUpdate&& update) {
  std::vector<StructRef> seq;
  for (auto& c : update.clients)
    for (auto& s : c.refs) seq.push_back(std::move(s));
  return seq;
}

namespace {

// GC.mergeWith / Skip.mergeWith; items read from updates never merge (their `right` is unset).
bool mergeLazy(StructRef& left, const StructRef& right) {
  if (left.kind != right.kind || left.isItem()) return false;
  left.length += right.length;
  return true;
}

// LazyStructReader with filterSkips.
struct LazyReader {
  const std::vector<StructRef>* seq;
  size_t i = 0;
  const StructRef* curr() const { return i < seq->size() ? &(*seq)[i] : nullptr; }
  void skipSkips() {
    while (i < seq->size() && (*seq)[i].kind == kRefSkip) ++i;
  }
  const StructRef* next() {
    ++i;
    skipSkips();
    return curr();
  }
};

// The comparator of mergeUpdatesV2. It is not consistent for a GC and an Item at the same id
// (both orders compare as "less"), so which one wins depends on the sort algorithm.
int compareReaders(const LazyReader& a, const LazyReader& b) {
  const StructRef& x = *a.curr();
  const StructRef& y = *b.curr();
  if (x.id.client == y.id.client) {
    if (x.id.clock != y.id.clock) return x.id.clock < y.id.clock ? -1 : 1;
    auto cls = [](const StructRef& s) { return s.isItem() ? 2 : s.kind == kRefSkip ? 1 : 0; };
    if (cls(x) == cls(y)) return 0;
    return x.kind == kRefSkip ? 1 : -1;
  }
  return y.id.client < x.id.client ? -1 : 1;
}

// Array.prototype.sort as V8 runs it for fewer than 64 elements (array-sort.tq: one run from
// CountAndMakeRun, extended by BinaryInsertionSort), so that even the comparator's inconsistent
// ties resolve as in yjs. Longer arrays use a stable sort (ties then keep their order).
void sortReaders(std::vector<LazyReader>& v) {
  const size_t n = v.size();
  if (n < 2) return;
  if (n >= 64) {
    std::stable_sort(v.begin(), v.end(), [](const LazyReader& a, const LazyReader& b) { return compareReaders(a, b) < 0; });
    return;
  }
  size_t run = 2;
  const bool descending = compareReaders(v[1], v[0]) < 0;
  for (size_t i = 2; i < n; ++i) {
    const int order = compareReaders(v[i], v[i - 1]);
    if (descending ? order >= 0 : order < 0) break;
    ++run;
  }
  if (descending) std::reverse(v.begin(), v.begin() + static_cast<ptrdiff_t>(run));
  for (size_t start = run; start < n; ++start) {
    size_t left = 0, right = start;
    LazyReader pivot = v[start];
    while (left < right) {
      const size_t mid = left + ((right - left) >> 1);
      if (compareReaders(pivot, v[mid]) < 0) right = mid;
      else left = mid + 1;
    }
    for (size_t p = start; p > left; --p) v[p] = v[p - 1];
    v[left] = pivot;
  }
}

}  // namespace

std::vector<StructRef> mergeStructSequences(const std::vector<std::vector<StructRef>>& sources) {
  std::vector<LazyReader> readers;
  for (const auto& s : sources) {
    readers.push_back({&s, 0});
    readers.back().skipSkips();
  }
  std::vector<StructRef> out;
  std::optional<StructRef> currWrite;
  while (true) {
    std::erase_if(readers, [](const LazyReader& r) { return r.curr() == nullptr; });
    sortReaders(readers);
    if (readers.empty()) break;
    LazyReader& cur = readers[0];
    const uint64_t firstClient = cur.curr()->id.client;
    if (currWrite) {
      const StructRef* curr = cur.curr();
      bool iterated = false;
      // Skip what was already written (higher clients are written first).
      while (curr && curr->end() <= currWrite->end() && curr->id.client >= currWrite->id.client) {
        curr = cur.next();
        iterated = true;
      }
      if (!curr || curr->id.client != firstClient || (iterated && curr->id.clock > currWrite->end())) continue;
      if (firstClient != currWrite->id.client) {
        out.push_back(std::move(*currWrite));
        currWrite = *curr;
        cur.next();
      } else if (currWrite->end() < curr->id.clock) {
        if (currWrite->kind == kRefSkip) {
          currWrite->length = curr->end() - currWrite->id.clock;  // extend the skip
        } else {
          const uint64_t gapStart = currWrite->end();
          out.push_back(std::move(*currWrite));
          StructRef skip;
          skip.kind = kRefSkip;
          skip.id = {firstClient, gapStart};
          skip.length = curr->id.clock - gapStart;
          currWrite = std::move(skip);
        }
      } else {
        const uint64_t diff = currWrite->end() - curr->id.clock;
        std::optional<StructRef> sliced;
        if (diff > 0) {
          if (currWrite->kind == kRefSkip) currWrite->length -= diff;  // prefer slicing the Skip
          else sliced = curr->slice(diff);
        }
        const StructRef& c = sliced ? *sliced : *curr;
        if (!mergeLazy(*currWrite, c)) {
          out.push_back(std::move(*currWrite));
          currWrite = sliced ? std::move(*sliced) : *curr;
          cur.next();
        }
      }
    } else {
      currWrite = *cur.curr();
      cur.next();
    }
    for (const StructRef* next = cur.curr();
         next && next->id.client == firstClient && next->id.clock == currWrite->end() && next->kind != kRefSkip;
         next = cur.next()) {
      out.push_back(std::move(*currWrite));
      currWrite = *next;
    }
  }
  if (currWrite) out.push_back(std::move(*currWrite));
  return out;
}

void writeStructSequence(lib0::Encoder& e, const std::vector<StructRef>& seq) {
  size_t sections = 0;
  for (size_t i = 0; i < seq.size(); ++i)
    if (i == 0 || seq[i].id.client != seq[i - 1].id.client) ++sections;
  e.writeVarUint(sections);
  for (size_t i = 0; i < seq.size();) {
    size_t j = i;
    while (j < seq.size() && seq[j].id.client == seq[i].id.client) ++j;
    e.writeVarUint(j - i);
    e.writeVarUint(seq[i].id.client);
    e.writeVarUint(seq[i].id.clock);
    for (; i < j; ++i) seq[i].write(e, 0);
  }
}

std::vector<StructRef> diffStructSequence(const std::vector<StructRef>& seq, const StateVector& sv) {
  std::vector<StructRef> out;
  size_t i = 0;
  while (i < seq.size()) {
    const StructRef& curr = seq[i];
    const uint64_t client = curr.id.client;
    auto it = sv.find(client);
    const uint64_t svClock = it == sv.end() ? 0 : it->second;
    if (curr.kind == kRefSkip) {  // the first written struct must not be a Skip
      ++i;
      continue;
    }
    if (curr.end() > svClock) {
      out.push_back(svClock > curr.id.clock ? curr.slice(svClock - curr.id.clock) : curr);
      ++i;
      while (i < seq.size() && seq[i].id.client == client) out.push_back(seq[i++]);
    } else {
      while (i < seq.size() && seq[i].id.client == client && seq[i].end() <= svClock) ++i;
    }
  }
  return out;
}

}  // namespace collabio::yjs
