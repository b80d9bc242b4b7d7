// The struct store of a Doc and what its items own (yjs StructStore.js, Item.js splitItem /
// mergeWith, ContentX.splice / mergeWith): the client table, clock lookup, splitting and merging
// items, and the per-document tables that hold item payloads (text, other content, parents).
// Every payload has exactly one owner item; whoever drops an item's content releases its payload.
#include <algorithm>

#include "yjs/doc_impl.h"

namespace collabio::yjs {

// ContentData owns the integrated Type, which is complete only here.
ContentData::ContentData() = default;
ContentData::~ContentData() = default;

uint32_t Doc::Impl::clientSlot(uint64_t client) {
  auto it = clientIndex.find(client);
  if (it != clientIndex.end()) return it->second;
  if (clients.size() >= Item::kNone) throw std::length_error("too many clients");
  const auto index = static_cast<uint32_t>(clients.size());
  clients.push_back({client, {}});
  clientIndex.emplace(client, index);
  return index;
}

size_t Doc::Impl::findIndexSS(const std::vector<Item*>& structs, uint64_t clock) {
  // Callers check the state first: `clock` lies inside the store. Like yjs, the first probe is
  // interpolated (clocks grow with the index), and the last struct, where an author's next
  // edit usually points, is tried before anything else.
  size_t left = 0;
  size_t right = structs.size() - 1;
  const Item* last = structs[right];
  if (last->clock() <= clock) return right;
  const double guess = static_cast<double>(clock) / static_cast<double>(last->end()) * static_cast<double>(right);
  size_t mid = std::min(static_cast<size_t>(guess), right);
  while (left <= right) {
    const Item* s = structs[mid];
    if (s->clock() <= clock) {
      if (clock < s->end()) return mid;
      left = mid + 1;
    } else {
      right = mid - 1;
    }
    mid = (left + right) / 2;
  }
  return structs.size() - 1;  // unreachable when the precondition holds
}

Item* Doc::Impl::splitItem(Transaction& t, Item* left, uint64_t diff) {
  const uint64_t length = left->length();
  Item* right = items.alloc();
  right->setRef(left->ref());
  right->client = left->client;
  right->setClock(left->clock() + diff);
  right->left = left;
  right->originClient = left->client;
  right->originClock = left->clock() + diff - 1;
  right->right = left->right;
  right->rightOriginClient = left->rightOriginClient;
  right->rightOriginClock = left->rightOriginClock;
  right->parent = left->parent;
  right->setDeleted(left->deleted());
  // ContentX.splice. Deleted content is only a length; other kinds have length 1.
  switch (left->ref()) {
    case kRefString: setRun(right, text.split(run(left), length, diff)); break;
    case kRefJSON:
    case kRefAny: right->payload = addContent(data(left).splitElems(diff)); break;
    default: break;
  }
  right->setLength(length - diff);
  left->setLength(diff);
  left->right = right;
  if (right->right) right->right->left = right;
  t.mergeStructs.emplace_back(right->client, right->clock());
  if (const std::string* sub = parentSub(right); sub && !right->right) parentType(right)->map.set(sub, right);
  return right;
}

Item* Doc::Impl::getItemCleanStart(Transaction& t, uint32_t client, uint64_t clock) {
  auto& structs = clients[client].structs;
  const size_t index = findIndexSS(structs, clock);
  Item* s = structs[index];
  if (s->clock() < clock && !s->gc()) {
    Item* right = splitItem(t, s, clock - s->clock());
    structs.insert(structs.begin() + static_cast<ptrdiff_t>(index) + 1, right);
    return right;
  }
  return s;
}

Item* Doc::Impl::getItemCleanEnd(Transaction& t, uint32_t client, uint64_t clock) {
  auto& structs = clients[client].structs;
  const size_t index = findIndexSS(structs, clock);
  Item* s = structs[index];
  if (clock != s->lastClock() && !s->gc()) {
    Item* right = splitItem(t, s, clock - s->clock() + 1);
    structs.insert(structs.begin() + static_cast<ptrdiff_t>(index) + 1, right);
  }
  return s;
}

void Doc::Impl::addStruct(Transaction& t, Item* item) {
  ClientStructs& c = clients[item->client];
  t.beforeState.try_emplace(item->client, c.state());
  c.structs.push_back(item);
}

bool Doc::Impl::mergeItems(Item* left, Item* right) {
  if (left->gc()) {
    left->setLength(left->length() + right->length());
    return true;
  }
  if (!(right->originClient == left->client && right->originClock == left->lastClock() && left->right == right &&
        left->rightOriginClient == right->rightOriginClient &&
        (!left->hasRightOrigin() || left->rightOriginClock == right->rightOriginClock) &&
        left->client == right->client && left->end() == right->clock() && left->deleted() == right->deleted() &&
        left->ref() == right->ref()))
    return false;
  // ContentX.mergeWith (String, Deleted, JSON, Any). Content other than Deleted stays below 2^32
  // units (Item::len): such a merge is refused, which no yjs document can reach (JavaScript
  // strings and arrays are shorter).
  const uint64_t length = left->length() + right->length();
  switch (left->ref()) {
    case kRefDeleted: break;
    case kRefString:
      if (length > UINT32_MAX) return false;
      setRun(left, text.join(run(left), left->length(), run(right), right->length()));
      break;
    case kRefJSON:
    case kRefAny:
      if (length > UINT32_MAX) return false;
      data(left).appendElems(data(right));
      releasePayload(right);
      break;
    default: return false;
  }
  left->right = right->right;
  if (left->right) left->right->left = left;
  left->setLength(length);
  return true;
}

size_t Doc::Impl::tryToMergeWithLefts(std::vector<Item*>& structs, size_t pos) {
  size_t i = pos;
  while (i > 0) {
    Item* right = structs[i];
    Item* left = structs[i - 1];
    if (left->isDeleted() != right->isDeleted() || left->gc() != right->gc() || !mergeItems(left, right)) break;
    if (const std::string* sub = right->gc() ? nullptr : parentSub(right)) {
      Type* parent = parentType(right);
      if (parent->map.get(sub) == right) parent->map.set(sub, left);
    }
    --i;
  }
  const size_t merged = pos - i;
  if (merged) {
    // The merged-away items' payloads now belong to their left neighbours.
    const auto first = structs.begin() + static_cast<ptrdiff_t>(pos + 1 - merged);
    for (auto it = first; it != first + static_cast<ptrdiff_t>(merged); ++it) items.release(*it);
    structs.erase(first, first + static_cast<ptrdiff_t>(merged));
  }
  return merged;
}

// ---- Payloads ----

uint32_t Doc::Impl::addContent(std::unique_ptr<ContentData> content) {
  if (!freeContents.empty()) {
    const uint32_t slot = freeContents.back();
    freeContents.pop_back();
    contents[slot] = std::move(content);
    return slot;
  }
  if (contents.size() >= UINT32_MAX) throw std::length_error("too many content objects");
  contents.push_back(std::move(content));
  return static_cast<uint32_t>(contents.size() - 1);
}

void Doc::Impl::setContent(Item* item, Content&& content, uint64_t length) {
  item->setRef(content.ref);
  switch (content.ref) {
    case kRefDeleted: break;
    case kRefString: setRun(item, text.add(content.str)); break;
    default: item->payload = addContent(std::move(content.data)); break;
  }
  item->setLength(length);
}

void Doc::Impl::releasePayload(Item* item) {
  switch (item->ref()) {
    case kRefGC:
    case kRefDeleted: break;
    case kRefString: text.release(run(item), item->length()); break;
    default: {
      auto& content = contents[item->payload];
      if (content->type) releaseSlots(*content->type);
      content.reset();
      freeContents.push_back(item->payload);
      break;
    }
  }
}

void Doc::Impl::makeDeleted(Item* item) {
  const uint64_t length = item->length();
  releasePayload(item);
  item->setRef(kRefDeleted);
  item->setTwoByte(false);
  item->setLength(length);
}

void Doc::Impl::makeGC(Item* item) {
  const uint32_t client = item->client;
  const uint64_t clock = item->clock();
  const uint64_t length = item->length();
  releasePayload(item);
  *item = Item{};  // ref kRefGC
  item->client = client;
  item->setClock(clock);
  item->setLength(length);
}

uint32_t Doc::Impl::parentSlot(Type* type, const std::string* sub) {
  uint32_t& slot = sub ? type->map.slot(sub) : type->slot;
  if (slot != Item::kNone) return slot;
  if (!freeParents.empty()) {
    slot = freeParents.back();
    freeParents.pop_back();
    parents[slot] = {type, sub};
  } else {
    if (parents.size() >= Item::kNone) throw std::length_error("too many parents");
    slot = static_cast<uint32_t>(parents.size());
    parents.push_back({type, sub});
  }
  return slot;
}

void Doc::Impl::releaseSlots(const Type& type) {
  if (type.slot != Item::kNone) freeParents.push_back(type.slot);
  type.map.forEachSlot([&](uint32_t slot) { freeParents.push_back(slot); });
}

void Doc::Impl::compactText() {
  // Client by client in clock order: an author's consecutive items end up adjacent, so merging
  // them later is free.
  text.compact([&](auto&& move) {
    for (ClientStructs& c : clients) {
      for (Item* item : c.structs) {
        if (item->ref() != kRefString) continue;
        TextStore::Run r = run(item);
        move(r, item->length());
        setRun(item, r);
      }
    }
  });
}

size_t Doc::Impl::memoryUsage() const {
  size_t n = sizeof(Impl) + items.capacityBytes() + text.capacityBytes();
  n += contents.capacity() * sizeof(contents[0]) + freeContents.capacity() * sizeof(uint32_t);
  n += parents.capacity() * sizeof(ParentSlot) + freeParents.capacity() * sizeof(uint32_t);
  for (const auto& c : contents) {
    if (!c) continue;
    n += c->heapBytes();
    if (c->type) n += sizeof(Type) + c->type->map.size() * 64;
  }
  for (const ClientStructs& c : clients) n += sizeof(ClientStructs) + c.structs.capacity() * sizeof(Item*) + 32;
  for (const auto& s : strings) n += 48 + s.capacity();
  n += roots.size() * (sizeof(Type) + 32);
  if (pending) {
    n += pending->seq.capacity() * sizeof(StructRef);
    for (const StructRef& s : pending->seq) n += s.content.heapBytes();
  }
  return n;
}

}  // namespace collabio::yjs
