#include "yjs/update.h"

#include <algorithm>

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
    case kRefAny: {
      right.data = std::make_unique<ContentData>();
      auto& elems = data->elems;
      right.data->elems.assign(std::make_move_iterator(elems.begin() + static_cast<ptrdiff_t>(offset)),
                               std::make_move_iterator(elems.end()));
      elems.resize(offset);
      break;
    }
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
    case kRefAny: {
      auto& dst = data->elems;
      auto& src = right.data->elems;
      dst.insert(dst.end(), std::make_move_iterator(src.begin()), std::make_move_iterator(src.end()));
      return true;
    }
    default: return false;
  }
}

void Content::write(lib0::Encoder& e, uint64_t offset, uint64_t length) const {
  switch (ref) {
    case kRefDeleted: e.writeVarUint(length - offset); break;
    case kRefJSON:
      e.writeVarUint(data->elems.size() - offset);
      for (size_t i = offset; i < data->elems.size(); ++i) e.writeVarString(data->elems[i]);
      break;
    case kRefBinary: e.writeVarUint8Array(asBytes(data->a)); break;
    case kRefString: e.writeVarStringUtf16(std::u16string_view(str).substr(offset)); break;
    case kRefEmbed: e.writeVarString(data->a); break;
    case kRefFormat:
      e.writeVarString(data->a);
      e.writeVarString(data->b);
      break;
    case kRefType:
      e.writeVarUint(data->typeRef);
      if (data->typeRef == kTypeXmlElement || data->typeRef == kTypeXmlHook) e.writeVarString(data->a);
      break;
    case kRefAny:
      e.writeVarUint(data->elems.size() - offset);
      for (size_t i = offset; i < data->elems.size(); ++i) e.writeBytes(data->elems[i]);
      break;
    case kRefDoc:
      e.writeVarString(data->a);
      e.writeBytes(data->b);
      break;
    default: break;
  }
}

size_t Content::heapBytes() const {
  size_t n = str.capacity() > 7 ? str.capacity() * 2 + 2 : 0;
  if (data) {
    n += sizeof(ContentData) + data->a.capacity() + data->b.capacity();
    n += data->elems.capacity() * sizeof(std::string);
    for (const auto& s : data->elems) n += s.capacity() > 15 ? s.capacity() + 1 : 0;
  }
  return n;
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
        if (ref == kRefJSON) out.data->elems.emplace_back(d.readVarStringView());
        else out.data->elems.push_back(toString(d.readAnyRaw()));
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
      return 1;
    case kRefFormat:
      out.data = std::make_unique<ContentData>();
      out.data->a = std::string(d.readVarStringView());
      out.data->b = std::string(d.readVarStringView());
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
  e.writeUint8(static_cast<uint8_t>(kind | (writeOrigin ? 0x80 : 0) | (hasRightOrigin ? 0x40 : 0) |
                                    (withParent && hasParentSub ? 0x20 : 0)));
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
  uint64_t n = 0;
  for (const auto& [client, dels] : clients)
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

DeleteSet DeleteSet::read(lib0::Decoder& d) {
  DeleteSet ds;
  const uint64_t numClients = d.readVarUint();
  if (numClients > d.remaining()) fail("delete set: client count exceeds input");
  for (uint64_t i = 0; i < numClients; ++i) {
    const uint64_t client = d.readVarUint();
    const uint64_t n = d.readVarUint();
    if (n > d.remaining()) fail("delete set: range count exceeds input");
    std::vector<Range>* dels = nullptr;
    for (uint64_t k = 0; k < n; ++k) {
      const uint64_t clock = d.readVarUint();
      const uint64_t len = d.readVarUint();
      if (clock + len > lib0::kMaxSafeInteger) fail("delete set: clock out of range");
      if (len == 0) continue;
      if (!dels) dels = &ds.clients[client];
      dels->push_back({clock, len});
    }
  }
  return ds;
}

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
      // Skip structs only mark gaps; the gap stays visible as a clock jump between refs.
      if (s.isItem() && s.length == 0) fail("update: zero-length item");
      if (s.length > 0 && s.kind != kRefSkip) refs.push_back(std::move(s));
    }
    // A repeated client section replaces the earlier one (readClientsStructRefs uses Map.set).
    auto it = std::find_if(out.clients.begin(), out.clients.end(), [&](const auto& c) { return c.client == client; });
    if (it != out.clients.end()) it->refs = std::move(refs);
    else out.clients.push_back({client, std::move(refs)});
  }
  out.ds = DeleteSet::read(d);
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

void writeStructLists(lib0::Encoder& e, const std::map<uint64_t, std::vector<StructRef>>& lists,
                      const StateVector& sv) {
  struct Plan {
    uint64_t client;
    size_t first;
    uint64_t start;
    uint64_t count;
  };
  std::vector<Plan> plans;
  for (auto it = lists.rbegin(); it != lists.rend(); ++it) {
    const auto& refs = it->second;
    auto svIt = sv.find(it->first);
    const uint64_t from = svIt == sv.end() ? 0 : svIt->second;
    size_t first = 0;
    while (first < refs.size() && refs[first].end() <= from) ++first;
    if (first == refs.size()) continue;
    uint64_t count = 0;
    uint64_t end = std::max(from, refs[first].id.clock);
    for (size_t i = first; i < refs.size(); ++i) {
      if (refs[i].id.clock > end) ++count;  // a Skip fills the gap
      ++count;
      end = refs[i].end();
    }
    plans.push_back({it->first, first, std::max(from, refs[first].id.clock), count});
  }
  e.writeVarUint(plans.size());
  for (const auto& p : plans) {
    const auto& refs = lists.at(p.client);
    e.writeVarUint(p.count);
    e.writeVarUint(p.client);
    e.writeVarUint(p.start);
    uint64_t end = p.start;
    for (size_t i = p.first; i < refs.size(); ++i) {
      const StructRef& s = refs[i];
      if (s.id.clock > end) {
        e.writeUint8(kRefSkip);
        e.writeVarUint(s.id.clock - end);
      }
      s.write(e, i == p.first ? p.start - s.id.clock : 0);
      end = s.end();
    }
  }
}

std::vector<StructRef> mergeStructLists(std::vector<StructRef> a, std::vector<StructRef> b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  std::vector<StructRef> out;
  out.reserve(a.size() + b.size());
  size_t i = 0, j = 0;
  uint64_t end = 0;
  bool any = false;
  while (i < a.size() || j < b.size()) {
    StructRef* s;
    if (j >= b.size() || (i < a.size() && a[i].id.clock <= b[j].id.clock)) s = &a[i++];
    else s = &b[j++];
    if (any && s->end() <= end) continue;
    if (any && s->id.clock < end) {
      out.push_back(s->slice(end - s->id.clock));
    } else {
      out.push_back(std::move(*s));
    }
    end = out.back().end();
    any = true;
  }
  return out;
}

}  // namespace collabio::yjs
