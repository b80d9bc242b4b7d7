// Encoding a Doc: state vector, state as update (yjs encoding.js writeClientsStructs /
// writeStateAsUpdate / encodeStateAsUpdateV2 with pending structs and deletes, Item.write,
// DeleteSet.js createDeleteSetFromStructStore), and readable content for the JS layer.
#include <algorithm>

#include "yjs/doc_impl.h"

namespace collabio::yjs {

void Doc::Impl::writeItem(lib0::Encoder& e, const Item* item, uint64_t offset) const {
  if (item->gc) {
    e.writeUint8(kRefGC);
    e.writeVarUint(item->length - offset);
    return;
  }
  const bool hasOrigin = offset > 0 || item->hasOrigin;
  const ID origin = offset > 0 ? ID{item->id.client, item->id.clock + offset - 1} : item->origin;
  const bool withParent = !hasOrigin && !item->hasRightOrigin;
  // Item.write sets the parentSub bit whenever there is one; the key goes with the parent info.
  const bool subBit = item->parentSub != nullptr;
  e.writeUint8(static_cast<uint8_t>(item->content.ref | (hasOrigin ? 0x80 : 0) | (item->hasRightOrigin ? 0x40 : 0) |
                                    (subBit ? 0x20 : 0)));
  if (hasOrigin) {
    e.writeVarUint(origin.client);
    e.writeVarUint(origin.clock);
  }
  if (item->hasRightOrigin) {
    e.writeVarUint(item->rightOrigin.client);
    e.writeVarUint(item->rightOrigin.clock);
  }
  if (withParent) {
    if (item->parent->item) {
      e.writeVarUint(0);
      e.writeVarUint(item->parent->item->id.client);
      e.writeVarUint(item->parent->item->id.clock);
    } else {
      e.writeVarUint(1);
      e.writeVarString(*item->parent->rootName);
    }
    if (item->parentSub) e.writeVarString(*item->parentSub);
  }
  item->content.write(e, offset, item->length);
}

DeleteSet Doc::Impl::deleteSetFromStore() const {
  DeleteSet ds;
  for (const auto& [client, structs] : clients) {
    std::vector<DeleteSet::Range>* ranges = nullptr;
    for (size_t i = 0; i < structs.size(); ++i) {
      if (!structs[i]->isDeleted()) continue;
      const uint64_t clock = structs[i]->id.clock;
      uint64_t len = structs[i]->length;
      while (i + 1 < structs.size() && structs[i + 1]->isDeleted()) len += structs[++i]->length;
      if (!ranges) ranges = &ds.clients[client];
      ranges->push_back({clock, len});
    }
  }
  return ds;
}

std::vector<uint8_t> Doc::Impl::encodeStateAsUpdate(const StateVector& sv) const {
  // writeClientsStructs: clients with something new, highest first; the first struct of each is
  // written from the peer's clock.
  std::vector<std::pair<uint64_t, uint64_t>> todo;  // client, from clock
  for (const auto& [client, structs] : clients) {
    auto it = sv.find(client);
    const uint64_t from = it == sv.end() ? 0 : it->second;
    if (!structs.empty() && structs.back()->end() > from) todo.emplace_back(client, from);
  }
  std::sort(todo.begin(), todo.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  lib0::Encoder e;
  e.writeVarUint(todo.size());
  for (const auto& [client, from] : todo) {
    const auto& structs = clients.at(client);
    const size_t start = findIndexSS(structs, from);
    e.writeVarUint(structs.size() - start);
    e.writeVarUint(client);
    e.writeVarUint(from);
    writeItem(e, structs[start], from - structs[start]->id.clock);
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
  for (const auto& [client, structs] : impl_->clients)
    if (!structs.empty()) sv[client] = structs.back()->end();
  return yjs::encodeStateVector(sv);
}

std::vector<uint8_t> Doc::encodeStateAsUpdate(std::span<const uint8_t> stateVector) const {
  return impl_->encodeStateAsUpdate(decodeStateVector(stateVector));
}

// ---- Readable content ----

namespace {

constexpr int kMaxRenderDepth = 64;

void appendUtf16(std::string& out, const std::u16string& s) { out += lib0::utf16ToUtf8(s); }

void renderType(std::string& out, const Type* type, uint8_t typeRef, int depth);

void renderValue(std::string& out, const Item* item, size_t index, int depth) {
  const Content& c = item->content;
  switch (c.ref) {
    case kRefAny: out += lib0::anyToJson({reinterpret_cast<const uint8_t*>(c.data->elems[index].data()), c.data->elems[index].size()}); break;
    case kRefJSON: out += c.data->elems[index] == "undefined" ? "null" : c.data->elems[index]; break;
    case kRefString: {
      std::u16string one(1, c.str[index]);
      lib0::appendJsonString(out, lib0::utf16ToUtf8(one));
      break;
    }
    case kRefEmbed: out += c.data->a; break;
    case kRefBinary: {
      out.push_back('[');
      for (size_t i = 0; i < c.data->a.size(); ++i) {
        if (i) out.push_back(',');
        out += std::to_string(static_cast<uint8_t>(c.data->a[i]));
      }
      out.push_back(']');
      break;
    }
    case kRefType: renderType(out, c.data->type.get(), c.data->typeRef, depth + 1); break;
    case kRefDoc: out += "{\"guid\":"; lib0::appendJsonString(out, c.data->a); out += "}"; break;
    default: out += "null";
  }
}

void renderText(std::string& out, const Type* type) {
  std::string text;
  for (const Item* i = type->start; i; i = i->right)
    if (!i->deleted && i->content.ref == kRefString) appendUtf16(text, i->content.str);
  lib0::appendJsonString(out, text);
}

void renderMap(std::string& out, const Type* type, int depth) {
  std::vector<std::pair<std::string_view, const Item*>> entries;
  for (const auto& [key, item] : type->map.entries())
    if (!item->deleted) entries.emplace_back(*key, item);
  std::sort(entries.begin(), entries.end());
  out.push_back('{');
  bool first = true;
  for (const auto& [key, item] : entries) {
    if (!first) out.push_back(',');
    first = false;
    lib0::appendJsonString(out, key);
    out.push_back(':');
    renderValue(out, item, item->length - 1, depth);
  }
  out.push_back('}');
}

void renderArray(std::string& out, const Type* type, int depth) {
  out.push_back('[');
  bool first = true;
  for (const Item* i = type->start; i; i = i->right) {
    if (i->deleted || !i->content.countable()) continue;
    for (size_t k = 0; k < i->length; ++k) {
      if (!first) out.push_back(',');
      first = false;
      renderValue(out, i, k, depth);
    }
  }
  out.push_back(']');
}

void renderType(std::string& out, const Type* type, uint8_t typeRef, int depth) {
  if (!type || depth > kMaxRenderDepth) {
    out += "null";
    return;
  }
  switch (typeRef) {
    case kTypeMap: renderMap(out, type, depth); break;
    case kTypeText:
    case kTypeXmlText: renderText(out, type); break;
    default: renderArray(out, type, depth); break;
  }
}

}  // namespace

std::string Doc::rootTextToString(std::string_view name) const {
  auto sit = impl_->strings.find(std::string(name));
  if (sit == impl_->strings.end()) return {};
  auto it = impl_->roots.find(&*sit);
  if (it == impl_->roots.end()) return {};
  std::string text;
  for (const Item* i = it->second->start; i; i = i->right)
    if (!i->deleted && i->content.ref == kRefString) appendUtf16(text, i->content.str);
  return text;
}

std::string Doc::rootMapToJson(std::string_view name) const {
  auto sit = impl_->strings.find(std::string(name));
  if (sit == impl_->strings.end()) return "{}";
  auto it = impl_->roots.find(&*sit);
  if (it == impl_->roots.end()) return "{}";
  std::string out;
  renderMap(out, it->second.get(), 0);
  return out;
}

std::string Doc::rootArrayToJson(std::string_view name) const {
  auto sit = impl_->strings.find(std::string(name));
  if (sit == impl_->strings.end()) return "[]";
  auto it = impl_->roots.find(&*sit);
  if (it == impl_->roots.end()) return "[]";
  std::string out;
  renderArray(out, it->second.get(), 0);
  return out;
}

}  // namespace collabio::yjs
