// Integration of updates into the struct store, following yjs 13.6 exactly where it decides the
// result: encoding.js readUpdateV2 / integrateStructs (order of integration, pending structs),
// Item.js getMissing / integrate (conflict resolution) / delete / gc, DeleteSet.js
// readAndApplyDeleteSet, Transaction.js cleanupTransactions (tryGcDeleteSet, tryMergeDeleteSet,
// merging of structs). Recursion over nested types uses explicit stacks (untrusted depth).
#include <algorithm>

#include "yjs/doc_impl.h"

namespace collabio::yjs {

uint64_t PendingStructs::coverage() const {
  uint64_t n = 0;
  for (const auto& s : seq)
    if (s.kind != kRefSkip) n += s.length;
  return n;
}

Type* Doc::Impl::rootType(const std::string& name) {
  const std::string* key = intern(name);
  auto& slot = roots[key];
  if (!slot) {
    slot = std::make_unique<Type>();
    slot->rootName = key;
  }
  return slot.get();
}

std::optional<uint64_t> Doc::Impl::getMissing(Transaction& t, const StructRef& s, Resolved& r) {
  if (!s.isItem()) return std::nullopt;
  if (s.hasOrigin && s.origin.client != s.id.client && s.origin.clock >= getState(s.origin.client))
    return s.origin.client;
  if (s.hasRightOrigin && s.rightOrigin.client != s.id.client && s.rightOrigin.clock >= getState(s.rightOrigin.client))
    return s.rightOrigin.client;
  if (s.parentKind == StructRef::kIdParent && s.parentId.client != s.id.client &&
      s.parentId.clock >= getState(s.parentId.client))
    return s.parentId.client;
  // All dependencies are present (so are their clients): find the neighbours, splitting items as
  // yjs does.
  r = Resolved{};
  if (s.hasOrigin) r.left = getItemCleanEnd(t, clientIndex.at(s.origin.client), s.origin.clock);
  if (s.hasRightOrigin) r.right = getItemCleanStart(t, clientIndex.at(s.rightOrigin.client), s.rightOrigin.clock);
  if ((r.left && r.left->gc()) || (r.right && r.right->gc())) {
    r.parent = nullptr;  // the parent was garbage collected: this becomes a GC struct
  } else if (s.parentKind == StructRef::kNoParent) {
    if (r.left) {
      r.parent = parentType(r.left);
      r.parentSub = parentSub(r.left);
    } else if (r.right) {
      r.parent = parentType(r.right);
      r.parentSub = parentSub(r.right);
    }
  } else {
    if (s.parentKind == StructRef::kIdParent) {
      // A parent that is not (or no longer) a type makes this item garbage, as in yjs.
      r.parent = typeOf(getItem(clientIndex.at(s.parentId.client), s.parentId.clock));
    } else {
      r.parent = rootType(s.parentName);
    }
    if (s.hasParentSub) r.parentSub = intern(s.parentSub);
  }
  return std::nullopt;
}

void Doc::Impl::integrate(Transaction& t, StructRef& s, uint64_t offset, Resolved r) {
  ID id = s.id;
  uint64_t length = s.length;
  uint32_t originClient = Item::kNone;
  uint64_t originClock = 0;
  if (offset > 0) {
    id.clock += offset;
    length -= offset;
    if (s.isItem()) {
      originClient = clientIndex.at(id.client);  // the struct continues a known one
      r.left = getItemCleanEnd(t, originClient, id.clock - 1);
      originClock = r.left->lastClock();
      // yjs would fail on a collected left neighbour; its parent is gone, so collect this too.
      if (r.left->gc()) {
        r.parent = nullptr;
      } else {
        s.content = s.content.splice(offset, s.length);
        // The rest of a known item continues its list. (Only a forged update could name another
        // parent here; keeping lists and parents consistent keeps every child reachable for GC.)
        if (r.parent) {
          r.parent = parentType(r.left);
          r.parentSub = parentSub(r.left);
        }
      }
    }
  } else if (s.hasOrigin) {
    originClient = clientIndex.at(s.origin.client);
    originClock = s.origin.clock;
  }
  Item* item = items.alloc();
  item->client = clientSlot(id.client);
  item->setClock(id.clock);
  if (!s.isItem() || !r.parent) {
    item->setLength(length);  // a GC struct
    addStruct(t, item);
    return;
  }
  item->originClient = originClient;
  item->originClock = originClock;
  if (s.hasRightOrigin) {
    item->rightOriginClient = clientIndex.at(s.rightOrigin.client);
    item->rightOriginClock = s.rightOrigin.clock;
  }
  item->parent = parentSlot(r.parent, r.parentSub);
  setContent(item, std::move(s.content), length);
  Type* parent = r.parent;
  const std::string* sub = r.parentSub;
  Item* left = r.left;
  Item* right = r.right;
  if ((!left && (!right || right->left != nullptr)) || (left && left->right != right)) {
    // Conflict resolution (Item.integrate): find the position among concurrent insertions.
    Item* o;
    if (left) {
      o = left->right;
    } else if (sub) {
      o = parent->map.get(sub);
      while (o && o->left) o = o->left;
    } else {
      o = parent->start;
    }
    conflictingItems.clear();
    itemsBeforeOrigin.clear();
    const uint64_t itemClient = clientId(item->client);
    while (o && o != right) {
      itemsBeforeOrigin.insert(o);
      conflictingItems.insert(o);
      if (o->originClient == item->originClient && (!item->hasOrigin() || o->originClock == item->originClock)) {
        if (clientId(o->client) < itemClient) {
          left = o;
          conflictingItems.clear();
        } else if (o->rightOriginClient == item->rightOriginClient &&
                   (!item->hasRightOrigin() || o->rightOriginClock == item->rightOriginClock)) {
          break;
        }
      } else if (o->hasOrigin() && itemsBeforeOrigin.count(getItem(o->originClient, o->originClock))) {
        if (!conflictingItems.count(getItem(o->originClient, o->originClock))) {
          left = o;
          conflictingItems.clear();
        }
      } else {
        break;
      }
      o = o->right;
    }
  }
  item->left = left;
  if (left) {
    item->right = left->right;
    left->right = item;
  } else {
    Item* rr;
    if (sub) {
      rr = parent->map.get(sub);
      while (rr && rr->left) rr = rr->left;
    } else {
      rr = parent->start;
      parent->start = item;
    }
    item->right = rr;
  }
  if (item->right) {
    item->right->left = item;
  } else if (sub) {
    parent->map.set(sub, item);
    if (item->left) deleteItem(t, item->left);  // the previous value of this key
  }
  addStruct(t, item);
  // ContentX.integrate
  if (item->ref() == kRefType) {
    auto type = std::make_unique<Type>();
    type->item = item;
    data(item).type = std::move(type);
  } else if (item->ref() == kRefDeleted) {
    t.ds.add(clientId(item->client), item->clock(), item->length());
    item->setDeleted(true);
  }
  if ((parent->item && parent->item->deleted()) || (sub && item->right)) deleteItem(t, item);
}

void Doc::Impl::deleteItem(Transaction& t, Item* first) {
  // Item.delete + ContentType.delete, in yjs's recursion order (children in list order, then map
  // entries in insertion order) with an explicit stack: nesting depth is untrusted.
  struct Frame {
    Type* type;
    Item* next;        // next child in the list
    size_t mapIndex;   // next map entry once the list is done
  };
  std::vector<Frame> stack;
  auto deleteOne = [&](Item* item) {
    item->setDeleted(true);
    t.ds.add(clientId(item->client), item->clock(), item->length());
    if (Type* type = typeOf(item)) stack.push_back({type, type->start, 0});
  };
  if (first->deleted() || first->gc()) return;
  deleteOne(first);
  while (!stack.empty()) {
    Frame& f = stack.back();
    Item* child;
    if (f.next) {
      child = f.next;
      f.next = child->right;
    } else if (f.mapIndex < f.type->map.size()) {
      child = f.type->map.entries()[f.mapIndex++].second;
    } else {
      stack.pop_back();
      continue;
    }
    if (child->gc()) continue;
    if (!child->deleted()) deleteOne(child);  // may push a frame; `f` is not used after this
    else if (child->clock() < beforeState(t, child->client)) t.mergeStructs.emplace_back(child->client, child->clock());
  }
}

void Doc::Impl::gcItem(Item* first, bool firstParentGCd) {
  std::vector<std::pair<Item*, bool>> stack{{first, firstParentGCd}};
  while (!stack.empty()) {
    auto [item, parentGCd] = stack.back();
    stack.pop_back();
    if (item->gc()) continue;
    // ContentType.gc: the children are collected entirely (they become GC structs).
    if (Type* type = typeOf(item)) {
      for (Item* c = type->start; c; c = c->right) stack.push_back({c, true});
      for (const auto& [key, c] : type->map.entries())
        for (Item* m = c; m; m = m->left) stack.push_back({m, true});
    }
    if (parentGCd) makeGC(item);
    else makeDeleted(item);  // ContentDeleted(length)
  }
}

DeleteSet Doc::Impl::applyDeleteSet(Transaction& t, const DeleteSet::Sequence& ds) {
  DeleteSet unapplied;
  for (const auto& [client, ranges] : ds) {
    const uint64_t state = getState(client);
    for (const auto& range : ranges) {
      const uint64_t clock = range.clock;
      const uint64_t clockEnd = clock + range.len;
      if (clock >= state) {
        unapplied.add(client, clock, range.len);
        continue;
      }
      if (state < clockEnd) unapplied.add(client, state, clockEnd - state);
      auto& structs = clients[clientIndex.at(client)].structs;
      size_t index = findIndexSS(structs, clock);
      Item* s = structs[index];
      if (!s->isDeleted() && s->clock() < clock) {
        structs.insert(structs.begin() + static_cast<ptrdiff_t>(index) + 1, splitItem(t, s, clock - s->clock()));
        ++index;
      }
      while (index < structs.size()) {
        s = structs[index++];
        if (s->clock() >= clockEnd) break;
        if (!s->isDeleted()) {
          if (clockEnd < s->end())
            structs.insert(structs.begin() + static_cast<ptrdiff_t>(index), splitItem(t, s, clockEnd - s->clock()));
          deleteItem(t, s);
        }
      }
    }
  }
  return unapplied;
}

std::optional<PendingStructs> Doc::Impl::integrateStructs(Transaction& t, std::map<uint64_t, ClientRefs>& clientRefs) {
  std::vector<uint64_t> ids;  // ascending; the highest client is integrated first
  for (auto& [client, refs] : clientRefs) ids.push_back(client);
  auto nextTarget = [&]() -> ClientRefs* {
    while (!ids.empty()) {
      ClientRefs& r = clientRefs.at(ids.back());
      if (r.i < r.refs.size()) return &r;
      ids.pop_back();
    }
    return nullptr;
  };
  ClientRefs* cur = nextTarget();
  if (!cur) return std::nullopt;
  PendingStructs rest;
  std::map<uint64_t, std::vector<StructRef>> restClients;
  auto updateMissing = [&](uint64_t client, uint64_t clock) {
    auto [it, inserted] = rest.missing.try_emplace(client, clock);
    if (!inserted && it->second > clock) it->second = clock;
  };
  std::vector<StructRef*> stack;
  std::vector<ClientRefs*> toClear;
  auto addStackToRest = [&]() {
    for (StructRef* s : stack) {
      const uint64_t client = s->id.client;
      auto it = clientRefs.find(client);
      if (it != clientRefs.end() && !it->second.removed) {
        ClientRefs& r = it->second;
        if (r.i > 0) --r.i;  // the struct on the stack could not be applied
        restClients[client].assign(r.refs.begin() + static_cast<ptrdiff_t>(r.i), r.refs.end());
        r.removed = true;
        r.i = r.refs.size();  // nothing more to read from this client
        toClear.push_back(&r);
      } else {
        restClients[client] = {*s};
      }
      ids.erase(std::remove(ids.begin(), ids.end(), client), ids.end());
    }
    stack.clear();
  };
  StructRef* head = &cur->refs[cur->i++];
  while (true) {
    if (head->kind != kRefSkip) {
      const uint64_t localClock = getState(head->id.client);
      if (localClock < head->id.clock) {
        // A struct of the same client is missing.
        stack.push_back(head);
        updateMissing(head->id.client, head->id.clock - 1);
        addStackToRest();
      } else {
        Resolved r;
        const auto missing = getMissing(t, *head, r);
        if (missing) {
          stack.push_back(head);
          auto it = clientRefs.find(*missing);
          ClientRefs* m = it == clientRefs.end() || it->second.removed ? nullptr : &it->second;
          if (!m || m->i >= m->refs.size()) {
            // Depends on an update that has not arrived.
            updateMissing(*missing, getState(*missing));
            addStackToRest();
          } else {
            head = &m->refs[m->i++];
            continue;
          }
        } else {
          const uint64_t offset = localClock - head->id.clock;
          if (offset == 0 || offset < head->length) integrate(t, *head, offset, r);
        }
      }
    }
    if (!stack.empty()) {
      head = stack.back();
      stack.pop_back();
    } else if (cur && cur->i < cur->refs.size()) {
      head = &cur->refs[cur->i++];
    } else {
      cur = nextTarget();
      if (!cur) break;
      head = &cur->refs[cur->i++];
    }
  }
  for (ClientRefs* r : toClear) r->refs.clear();
  if (restClients.empty()) return std::nullopt;
  // writeClientsStructs order: highest client first.
  for (auto it = restClients.rbegin(); it != restClients.rend(); ++it)
    for (auto& s : it->second) rest.seq.push_back(std::move(s));
  return rest;
}

void Doc::Impl::readUpdate(Transaction& t, std::map<uint64_t, ClientRefs>& refs, const DeleteSet::Sequence& ds) {
  auto rest = integrateStructs(t, refs);
  bool retry = false;
  if (pending) {
    for (const auto& [client, clock] : pending->missing) {
      if (clock < getState(client)) {
        retry = true;
        break;
      }
    }
    if (rest) {
      for (const auto& [client, clock] : rest->missing) {
        auto [it, inserted] = pending->missing.try_emplace(client, clock);
        if (!inserted && it->second > clock) it->second = clock;
      }
      pending->seq = mergeStructSequences({std::move(pending->seq), std::move(rest->seq)});
    }
  } else {
    pending = std::move(rest);
  }
  // yjs keeps the unapplied deletes as an update; it merges (sorts) them only when both the new
  // and the old pending deletes left something.
  DeleteSet dsRest = applyDeleteSet(t, ds);
  if (!pendingDs.empty()) {
    const DeleteSet::Sequence old = pendingDs.toSequence();
    pendingDs = DeleteSet{};
    DeleteSet dsRest2 = applyDeleteSet(t, old);
    if (!dsRest.empty() && !dsRest2.empty()) dsRest.merge(dsRest2);
    else if (dsRest.empty()) dsRest = std::move(dsRest2);
  }
  pendingDs = std::move(dsRest);
  if (retry) {
    PendingStructs p = std::move(*pending);
    pending.reset();
    // Re-read like readClientsStructRefs: one section per client run; a later run of the same
    // client replaces the earlier one (Map.set).
    std::map<uint64_t, ClientRefs> again;
    for (size_t i = 0; i < p.seq.size();) {
      const uint64_t client = p.seq[i].id.client;
      auto& refs = again[client].refs;
      refs.clear();
      for (; i < p.seq.size() && p.seq[i].id.client == client; ++i) refs.push_back(std::move(p.seq[i]));
    }
    readUpdate(t, again, DeleteSet::Sequence{});
  }
}

void Doc::Impl::cleanup(Transaction& t) {
  t.ds.sortAndMerge();
  // tryGcDeleteSet (gc: true, no gcFilter)
  for (const auto& [client, ranges] : t.ds.clients) {
    auto& structs = clients[clientIndex.at(client)].structs;
    for (size_t di = ranges.size(); di-- > 0;) {
      const auto& r = ranges[di];
      const uint64_t end = r.clock + r.len;
      for (size_t si = findIndexSS(structs, r.clock); si < structs.size() && structs[si]->clock() < end; ++si) {
        Item* s = structs[si];
        if (!s->gc() && s->deleted()) gcItem(s, false);
      }
    }
  }
  // tryMergeDeleteSet
  for (const auto& [client, ranges] : t.ds.clients) {
    auto& structs = clients[clientIndex.at(client)].structs;
    for (size_t di = ranges.size(); di-- > 0;) {
      const auto& r = ranges[di];
      size_t si = std::min(structs.size() - 1, 1 + findIndexSS(structs, r.clock + r.len - 1));
      while (si > 0 && structs[si]->clock() >= r.clock) {
        const size_t merged = tryToMergeWithLefts(structs, si);
        if (si < 1 + merged) break;
        si -= 1 + merged;
      }
    }
  }
  // Merge the structs added by this transaction.
  for (const auto& [client, before] : t.beforeState) {
    auto& structs = clients[client].structs;
    if (structs.back()->end() == before) continue;
    const size_t firstChangePos = std::max<size_t>(before == 0 ? 0 : findIndexSS(structs, before), 1);
    for (size_t i = structs.size() - 1; i >= firstChangePos;) {
      const size_t merged = tryToMergeWithLefts(structs, i);
      if (i < firstChangePos + 1 + merged) break;
      i -= 1 + merged;
    }
  }
  // Merge split-off items back where possible.
  for (size_t k = t.mergeStructs.size(); k-- > 0;) {
    const auto [client, clock] = t.mergeStructs[k];
    auto& structs = clients[client].structs;
    const size_t pos = findIndexSS(structs, clock);
    if (pos + 1 < structs.size() && tryToMergeWithLefts(structs, pos + 1) > 1) continue;
    if (pos > 0) tryToMergeWithLefts(structs, pos);
  }
  if (text.wantsCompaction()) compactText();
}

Doc::Doc() : impl_(std::make_unique<Impl>()) {}
Doc::~Doc() = default;
Doc::Doc(Doc&&) noexcept = default;
Doc& Doc::operator=(Doc&&) noexcept = default;

bool Doc::Impl::applyUpdate(std::span<const uint8_t> update) {
  DecodedUpdate u = decodeUpdate(update);  // throws before anything changes
  // Content kept in an item is below 2^32 units (Item::len); yjs cannot produce more. Text about
  // to be stored is reserved at once when it is large (a document loaded in one update).
  uint64_t narrow = 0;
  uint64_t wide = 0;
  for (const auto& c : u.clients) {
    for (const StructRef& s : c.refs) {
      if (!s.isItem() || s.kind == kRefDeleted) continue;
      if (s.length > UINT32_MAX) throw DecodeError("content longer than 2^32");
      if (s.kind == kRefString) (TextStore::needsTwoBytes(s.content.str) ? wide : narrow) += s.length;
    }
  }
  text.reserve(narrow, wide);
  const uint64_t pendingBefore = pending ? pending->coverage() : 0;
  const uint64_t pendingDsBefore = pendingDs.coverage();
  Transaction t;
  std::map<uint64_t, ClientRefs> refs;
  for (auto& c : u.clients) refs[c.client].refs = std::move(c.refs);
  readUpdate(t, refs, u.ds);
  const bool structsAdded = !t.beforeState.empty();
  const bool deleted = !t.ds.empty();
  cleanup(t);
  return structsAdded || deleted || (pending ? pending->coverage() : 0) != pendingBefore ||
         pendingDs.coverage() != pendingDsBefore;
}

Doc::ApplyResult Doc::applyUpdate(std::span<const uint8_t> update) {
  ApplyResult result;
  result.changed = impl_->applyUpdate(update);  // the decoded update is freed on return
  if (result.changed) result.relay.assign(update.begin(), update.end());
  return result;
}

bool Doc::hasPending() const { return impl_->pending.has_value() || !impl_->pendingDs.empty(); }

size_t Doc::structCount() const {
  size_t n = 0;
  for (const ClientStructs& c : impl_->clients) n += c.structs.size();
  return n;
}

size_t Doc::memoryUsage() const { return impl_->memoryUsage(); }

}  // namespace collabio::yjs
