// Internals of Doc: shared types, the struct store, the tables that hold item payloads and the
// transaction state (yjs AbstractType.js, StructStore.js, Transaction.js; items: item.h). Not part
// of the public API.
//
// Owner: the Doc's owner (one strand); nothing here is thread-safe.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "yjs/doc.h"
#include "yjs/item.h"
#include "yjs/text_store.h"
#include "yjs/update.h"

namespace collabio::yjs {

/// Map entries of a type (AbstractType._map): key -> rightmost item of the key's chain, iterated in
/// insertion order like a JavaScript Map (deleting a type visits its entries in that order). Each
/// key also has the parent slot its items share (Doc::Impl::parents), assigned on first use.
class KeyMap {
 public:
  using Entry = std::pair<const std::string*, Item*>;
  Item* get(const std::string* key) const {
    auto it = index_.find(key);
    return it == index_.end() || it->second.entry == kNoEntry ? nullptr : entries_[it->second.entry].second;
  }
  void set(const std::string* key, Item* item) {
    Index& ix = index_[key];
    if (ix.entry == kNoEntry) {
      ix.entry = static_cast<uint32_t>(entries_.size());
      entries_.emplace_back(key, item);
    } else {
      entries_[ix.entry].second = item;
    }
  }
  /// The parent slot of items under `key` (Item::kNone until assigned). Does not add an entry.
  uint32_t& slot(const std::string* key) { return index_[key].slot; }
  template <class F>
  void forEachSlot(F&& f) const {
    for (const auto& [key, ix] : index_)
      if (ix.slot != Item::kNone) f(ix.slot);
  }
  const std::vector<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }

 private:
  static constexpr uint32_t kNoEntry = UINT32_MAX;
  struct Index {
    uint32_t entry = kNoEntry;  // position in entries_
    uint32_t slot = Item::kNone;
  };
  std::unordered_map<const std::string*, Index> index_;  // key: interned parentSub
  std::vector<Entry> entries_;
};

/// A shared type as far as integration needs it: the item list (`start`), the current entry per
/// map key (`map`, the rightmost item of each key's chain) and the item that holds it.
struct Type {
  Item* start = nullptr;
  KeyMap map;
  Item* item = nullptr;                   // null for root types
  const std::string* rootName = nullptr;  // root types only
  uint32_t slot = Item::kNone;            // parent slot of the list items, assigned on first use
};

/// What Item::parent points to: the parent type and the map key (null for list items). Items of
/// one list, or of one map key, share a slot.
struct ParentSlot {
  Type* type = nullptr;
  const std::string* sub = nullptr;  // interned parentSub
};

/// One client's structs, sorted by clock without gaps (yjs StructStore.clients.get(client)).
struct ClientStructs {
  uint64_t client = 0;
  std::vector<Item*> structs;
  uint64_t state() const { return structs.empty() ? 0 : structs.back()->end(); }
};

/// Structs with missing dependencies (yjs store.pendingStructs): the struct sequence of yjs's
/// pending update (merged with Y.mergeUpdates semantics, Skips included), kept decoded.
struct PendingStructs {
  std::vector<StructRef> seq;
  std::map<uint64_t, uint64_t> missing;  // client -> lowest clock waited for
  uint64_t coverage() const;
};

/// State of one applyUpdate (yjs Transaction, only what integration and cleanup use). Clients
/// are indices into Doc::Impl::clients except in the delete set.
struct Transaction {
  std::unordered_map<uint32_t, uint64_t> beforeState;       // only clients whose state changed
  DeleteSet ds;                                            // deleted in this transaction
  std::vector<std::pair<uint32_t, uint64_t>> mergeStructs;  // split-off items to try to merge again
};

struct Doc::Impl {
  // Owner: the Doc's strand.
  // Struct store: Item::client indexes `clients` (a deque: references stay valid as clients are added).
  std::deque<ClientStructs> clients;
  std::unordered_map<uint64_t, uint32_t> clientIndex;  // client id -> index in `clients`
  ItemPool items;
  // Item payloads: text of string items, other content (JSON .. Doc) by slot, parents by slot.
  TextStore text;
  std::vector<std::unique_ptr<ContentData>> contents;
  std::vector<uint32_t> freeContents;
  std::vector<ParentSlot> parents;
  std::vector<uint32_t> freeParents;
  std::unordered_set<std::string> strings;  // interned keys and root names
  std::unordered_map<const std::string*, std::unique_ptr<Type>> roots;
  std::optional<PendingStructs> pending;
  DeleteSet pendingDs;  // ranges per client in the order yjs would hold them (merged only when yjs merges)
  // Scratch sets for Item.integrate's conflict resolution (reused to avoid allocations).
  std::unordered_set<Item*> conflictingItems;
  std::unordered_set<Item*> itemsBeforeOrigin;

  const std::string* intern(std::string_view s) { return &*strings.emplace(s).first; }
  Type* rootType(const std::string& name);

  // ---- Clients and the struct store ----
  /// Index of `client`, added if new.
  uint32_t clientSlot(uint64_t client);
  const ClientStructs* findClient(uint64_t client) const {
    auto it = clientIndex.find(client);
    return it == clientIndex.end() ? nullptr : &clients[it->second];
  }
  uint64_t clientId(uint32_t index) const { return clients[index].client; }
  ID idOf(const Item* item) const { return {clientId(item->client), item->clock()}; }
  uint64_t getState(uint64_t client) const {
    const ClientStructs* c = findClient(client);
    return c ? c->state() : 0;
  }
  uint64_t beforeState(const Transaction& t, uint32_t client) const {
    auto it = t.beforeState.find(client);
    return it == t.beforeState.end() ? clients[client].state() : it->second;
  }
  static size_t findIndexSS(const std::vector<Item*>& structs, uint64_t clock);
  Item* getItem(uint32_t client, uint64_t clock) {
    auto& s = clients[client].structs;
    return s[findIndexSS(s, clock)];
  }
  Item* getItemCleanStart(Transaction& t, uint32_t client, uint64_t clock);
  Item* getItemCleanEnd(Transaction& t, uint32_t client, uint64_t clock);
  Item* splitItem(Transaction& t, Item* left, uint64_t diff);
  void addStruct(Transaction& t, Item* item);

  // ---- Item payloads ----
  TextStore::Run run(const Item* item) const { return {item->payload, item->twoByte()}; }
  void setRun(Item* item, TextStore::Run r) {
    item->payload = r.offset;
    item->setTwoByte(r.twoByte);
  }
  ContentData& data(const Item* item) const { return *contents[item->payload]; }
  /// The integrated type held by a Type item (null for other structs).
  Type* typeOf(const Item* item) const {
    return item->ref() == kRefType ? data(item).type.get() : nullptr;
  }
  uint32_t addContent(std::unique_ptr<ContentData> content);
  /// Moves decoded content (of `length`) into `item`.
  void setContent(Item* item, Content&& content, uint64_t length);
  /// Replaces the content by ContentDeleted (Item.gc with parentGCd false), freeing its payload.
  void makeDeleted(Item* item);
  /// Turns the item into a GC struct of the same id and length, freeing its payload.
  void makeGC(Item* item);
  void releasePayload(Item* item);
  Type* parentType(const Item* item) const {
    return item->parent == Item::kNone ? nullptr : parents[item->parent].type;
  }
  const std::string* parentSub(const Item* item) const {
    return item->parent == Item::kNone ? nullptr : parents[item->parent].sub;
  }
  /// The slot of (type, sub), assigned on first use.
  uint32_t parentSlot(Type* type, const std::string* sub);
  /// Frees the slots of a type that is being destroyed.
  void releaseSlots(const Type& type);
  void compactText();

  // Integration (yjs encoding.js integrateStructs, Item.getMissing / integrate / delete / gc).
  struct Resolved {
    Item* left = nullptr;
    Item* right = nullptr;
    Type* parent = nullptr;
    const std::string* parentSub = nullptr;
  };
  struct ClientRefs {
    std::vector<StructRef> refs;
    size_t i = 0;
    bool removed = false;
  };
  /// Doc::applyUpdate without the relay copy: whether the document changed.
  bool applyUpdate(std::span<const uint8_t> update);
  void readUpdate(Transaction& t, std::map<uint64_t, ClientRefs>& refs, const DeleteSet::Sequence& ds);
  std::optional<PendingStructs> integrateStructs(Transaction& t, std::map<uint64_t, ClientRefs>& refs);
  std::optional<uint64_t> getMissing(Transaction& t, const StructRef& s, Resolved& r);
  void integrate(Transaction& t, StructRef& s, uint64_t offset, Resolved r);
  void deleteItem(Transaction& t, Item* item);
  void gcItem(Item* item, bool parentGCd);
  DeleteSet applyDeleteSet(Transaction& t, const DeleteSet::Sequence& ds);
  void cleanup(Transaction& t);
  size_t tryToMergeWithLefts(std::vector<Item*>& structs, size_t pos);
  bool mergeItems(Item* left, Item* right);

  // Encoding (doc_encode.cpp).
  void writeItem(lib0::Encoder& e, const Item* item, uint64_t offset) const;
  DeleteSet deleteSetFromStore() const;
  std::vector<uint8_t> encodeStateAsUpdate(const StateVector& sv) const;
  /// Bytes to reserve for writing the structs of `todo` (client, from clock); 0 when small.
  size_t estimateSize(const std::vector<std::pair<const ClientStructs*, uint64_t>>& todo) const;
  size_t memoryUsage() const;
  // Readable content (doc_encode.cpp).
  void appendText(std::string& out, const Type* type) const;
  void renderValue(std::string& out, const Item* item, size_t index, int depth) const;
  void renderType(std::string& out, const Type* type, uint8_t typeRef, int depth) const;
  void renderMap(std::string& out, const Type* type, int depth) const;
  void renderArray(std::string& out, const Type* type, int depth) const;
  const Type* findRoot(std::string_view name) const;
};

}  // namespace collabio::yjs
