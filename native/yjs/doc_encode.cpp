// Encoding a Doc: state vector, state as update (yjs encoding.js writeClientsStructs /
// writeStateAsUpdate / encodeStateAsUpdateV2 with pending structs and deletes, Item.write,
// DeleteSet.js createDeleteSetFromStructStore), and readable content for the JS layer.
#include <algorithm>

#include "yjs/doc_impl.h"

namespace collabio::yjs {

void Doc::Impl::writeItem(lib0::Encoder& e, const Item* item, uint64_t offset) const {
  if (item->gc()) {
    e.writeUint8(kRefGC);
    e.writeVarUint(item->length() - offset);
    return;
  }
  const bool hasOrigin = offset > 0 || item->hasOrigin();
  const bool withParent = !hasOrigin && !item->hasRightOrigin();
  const std::string* sub = parentSub(item);
  // Item.write sets the parentSub bit whenever there is one; the key goes with the parent info.
  e.writeUint8(static_cast<uint8_t>(item->ref() | (hasOrigin ? 0x80 : 0) | (item->hasRightOrigin() ? 0x40 : 0) |
                                    (sub ? 0x20 : 0)));
  if (offset > 0) {
    e.writeVarUint(clientId(item->client));
    e.writeVarUint(item->clock() + offset - 1);
  } else if (hasOrigin) {
    e.writeVarUint(clientId(item->originClient));
    e.writeVarUint(item->originClock);
  }
  if (item->hasRightOrigin()) {
    e.writeVarUint(clientId(item->rightOriginClient));
    e.writeVarUint(item->rightOriginClock);
  }
  if (withParent) {
    const Type* parent = parentType(item);
    if (parent->item) {
      e.writeVarUint(0);
      e.writeVarUint(clientId(parent->item->client));
      e.writeVarUint(parent->item->clock());
    } else {
      e.writeVarUint(1);
      e.writeVarString(*parent->rootName);
    }
    if (sub) e.writeVarString(*sub);
  }
  switch (item->ref()) {
    case kRefDeleted: e.writeVarUint(item->length() - offset); break;
    case kRefString: text.write(e, run(item), item->length(), offset); break;
    default: data(item).write(e, item->ref(), offset); break;
  }
}

DeleteSet Doc::Impl::deleteSetFromStore() const {
  DeleteSet ds;
  for (const ClientStructs& c : clients) {
    const auto& structs = c.structs;
    std::vector<DeleteSet::Range>* ranges = nullptr;
    for (size_t i = 0; i < structs.size(); ++i) {
      if (!structs[i]->isDeleted()) continue;
      const uint64_t clock = structs[i]->clock();
      uint64_t len = structs[i]->length();
      while (i + 1 < structs.size() && structs[i + 1]->isDeleted()) len += structs[++i]->length();
      if (!ranges) ranges = &ds.clients[c.client];
      ranges->push_back({clock, len});
    }
  }
  return ds;
}

size_t Doc::Impl::estimateSize(const std::vector<std::pair<const ClientStructs*, uint64_t>>& todo) const {
  // Item headers and ids take ~10 bytes in documents written by yjs; text its UTF-8 size, taken in
  // proportion to the structs written. Small outputs are left to grow on their own.
  constexpr size_t kPerStruct = 16;
  size_t structs = 0;
  for (const auto& [c, from] : todo) structs += c->structs.size() - findIndexSS(c->structs, from);
  if (structs < 1024) return 0;
  size_t all = 0;
  for (const ClientStructs& c : clients) all += c.structs.size();
  const double share = static_cast<double>(structs) / static_cast<double>(all);
  return structs * kPerStruct + static_cast<size_t>(static_cast<double>(text.utf8Bound()) * share);
}

std::vector<uint8_t> Doc::Impl::encodeStateAsUpdate(const StateVector& sv) const {
  // writeClientsStructs: clients with something new, highest first; the first struct of each is
  // written from the peer's clock.
  std::vector<std::pair<const ClientStructs*, uint64_t>> todo;  // client, from clock
  for (const ClientStructs& c : clients) {
    auto it = sv.find(c.client);
    const uint64_t from = it == sv.end() ? 0 : it->second;
    if (c.state() > from) todo.emplace_back(&c, from);
  }
  std::sort(todo.begin(), todo.end(), [](const auto& a, const auto& b) { return a.first->client > b.first->client; });
  lib0::Encoder e;
  e.reserve(estimateSize(todo));
  e.writeVarUint(todo.size());
  for (const auto& [c, from] : todo) {
    const auto& structs = c->structs;
    const size_t start = findIndexSS(structs, from);
    e.writeVarUint(structs.size() - start);
    e.writeVarUint(c->client);
    e.writeVarUint(from);
    writeItem(e, structs[start], from - structs[start]->clock());
    for (size_t i = start + 1; i < structs.size(); ++i) writeItem(e, structs[i], 0);
  }
  deleteSetFromStore().write(e);
  if (!pending && pendingDs.empty()) return e.take();

  // encodeStateAsUpdateV2: merge in the pending deletes and what the peer lacks of the pending
  // structs, with Y.mergeUpdates.
  std::vector<std::vector<uint8_t>> parts;
  parts.push_back(e.take());
  if (!pendingDs.empty()) {
    lib0::Encoder d;
    d.writeVarUint(0);
    pendingDs.write(d);
    parts.push_back(d.take());
  }
  if (pending) {
    lib0::Encoder p;
    writeStructSequence(p, diffStructSequence(pending->seq, sv));
    p.writeVarUint(0);
    parts.push_back(p.take());
  }
  std::vector<std::span<const uint8_t>> views(parts.begin(), parts.end());
  return mergeUpdates(views);
}

std::vector<uint8_t> Doc::encodeStateVector() const {
  StateVector sv;
  for (const ClientStructs& c : impl_->clients)
    if (!c.structs.empty()) sv[c.client] = c.state();
  return yjs::encodeStateVector(sv);
}

std::vector<uint8_t> Doc::encodeStateAsUpdate(std::span<const uint8_t> stateVector) const {
  return impl_->encodeStateAsUpdate(decodeStateVector(stateVector));
}

// ---- Readable content ----

namespace {
constexpr int kMaxRenderDepth = 64;
}  // namespace

void Doc::Impl::appendText(std::string& out, const Type* type) const {
  for (const Item* i = type->start; i; i = i->right)
    if (!i->deleted() && i->ref() == kRefString) text.appendUtf8(out, run(i), 0, i->length());
}

void Doc::Impl::renderValue(std::string& out, const Item* item, size_t index, int depth) const {
  switch (item->ref()) {
    case kRefAny: {
      const std::string& raw = data(item).elems[index];
      out += lib0::anyToJson({reinterpret_cast<const uint8_t*>(raw.data()), raw.size()});
      break;
    }
    case kRefJSON: out += data(item).elems[index] == "undefined" ? "null" : data(item).elems[index]; break;
    case kRefString: {
      std::string one;
      text.appendUtf8(one, run(item), index, 1);
      lib0::appendJsonString(out, one);
      break;
    }
    case kRefEmbed: out += data(item).a; break;
    case kRefBinary: {
      const std::string& bytes = data(item).a;
      out.push_back('[');
      for (size_t i = 0; i < bytes.size(); ++i) {
        if (i) out.push_back(',');
        out += std::to_string(static_cast<uint8_t>(bytes[i]));
      }
      out.push_back(']');
      break;
    }
    case kRefType: renderType(out, data(item).type.get(), data(item).typeRef, depth + 1); break;
    case kRefDoc:
      out += "{\"guid\":";
      lib0::appendJsonString(out, data(item).a);
      out += "}";
      break;
    default: out += "null";
  }
}

void Doc::Impl::renderMap(std::string& out, const Type* type, int depth) const {
  std::vector<std::pair<std::string_view, const Item*>> entries;
  for (const auto& [key, item] : type->map.entries())
    if (!item->deleted()) entries.emplace_back(*key, item);
  std::sort(entries.begin(), entries.end());
  out.push_back('{');
  bool first = true;
  for (const auto& [key, item] : entries) {
    if (!first) out.push_back(',');
    first = false;
    lib0::appendJsonString(out, key);
    out.push_back(':');
    renderValue(out, item, item->length() - 1, depth);
  }
  out.push_back('}');
}

void Doc::Impl::renderArray(std::string& out, const Type* type, int depth) const {
  out.push_back('[');
  bool first = true;
  for (const Item* i = type->start; i; i = i->right) {
    if (i->deleted() || i->ref() == kRefDeleted || i->ref() == kRefFormat) continue;
    for (size_t k = 0; k < i->length(); ++k) {
      if (!first) out.push_back(',');
      first = false;
      renderValue(out, i, k, depth);
    }
  }
  out.push_back(']');
}

void Doc::Impl::renderType(std::string& out, const Type* type, uint8_t typeRef, int depth) const {
  if (!type || depth > kMaxRenderDepth) {
    out += "null";
    return;
  }
  switch (typeRef) {
    case kTypeMap: renderMap(out, type, depth); break;
    case kTypeText:
    case kTypeXmlText: {
      std::string s;
      appendText(s, type);
      lib0::appendJsonString(out, s);
      break;
    }
    default: renderArray(out, type, depth); break;
  }
}

const Type* Doc::Impl::findRoot(std::string_view name) const {
  auto sit = strings.find(std::string(name));
  if (sit == strings.end()) return nullptr;
  auto it = roots.find(&*sit);
  return it == roots.end() ? nullptr : it->second.get();
}

std::string Doc::rootTextToString(std::string_view name) const {
  std::string text;
  if (const Type* type = impl_->findRoot(name)) impl_->appendText(text, type);
  return text;
}

std::string Doc::rootMapToJson(std::string_view name) const {
  const Type* type = impl_->findRoot(name);
  if (!type) return "{}";
  std::string out;
  impl_->renderMap(out, type, 0);
  return out;
}

std::string Doc::rootArrayToJson(std::string_view name) const {
  const Type* type = impl_->findRoot(name);
  if (!type) return "[]";
  std::string out;
  impl_->renderArray(out, type, 0);
  return out;
}

}  // namespace collabio::yjs
