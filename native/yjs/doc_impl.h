// Internals of Doc: items, shared types, the struct store and the transaction state
// (yjs Item.js, AbstractType.js, StructStore.js, Transaction.js). Not part of the public API.
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
#include "yjs/update.h"

namespace collabio::yjs {

struct Item;

/// Map entries of a type (AbstractType._map): key -> rightmost item of the key's chain, iterated in
/// insertion order like a JavaScript Map (deleting a type visits its entries in that order).
class KeyMap {
 public:
  using Entry = std::pair<const std::string*, Item*>;
  Item* get(const std::string* key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : entries_[it->second].second;
  }
  void set(const std::string* key, Item* item) {
    auto [it, inserted] = index_.try_emplace(key, entries_.size());
    if (inserted) entries_.emplace_back(key, item);
    else entries_[it->second].second = item;
  }
  const std::vector<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }

 private:
  std::unordered_map<const std::string*, size_t> index_;
  std::vector<Entry> entries_;
};

/// A shared type as far as integration needs it: the item list (`start`), the current entry per
/// map key (`map`, the rightmost item of each key's chain) and the item that holds it.
struct Type {
  Item* start = nullptr;
  KeyMap map;  // key: interned parentSub
  Item* item = nullptr;                                // null for root types
  const std::string* rootName = nullptr;               // root types only
};

/// A struct in the store: an Item, or a GC struct (`gc` true; only id and length matter).
/// Items of one parent form a doubly linked list (left/right), as in yjs.
struct Item {
  ID id;
  uint64_t length = 0;
  ID origin;
  ID rightOrigin;
  Item* left = nullptr;
  Item* right = nullptr;
  Type* parent = nullptr;
  const std::string* parentSub = nullptr;  // interned
  Content content;
  bool gc = false;
  bool hasOrigin = false;
  bool hasRightOrigin = false;
  bool deleted = false;

  ID lastId() const { return {id.client, id.clock + length - 1}; }
  bool isDeleted() const { return gc || deleted; }
  uint64_t end() const { return id.clock + length; }
};

/// Structs with missing dependencies (yjs store.pendingStructs): the struct sequence of yjs's
/// pending update (merged with Y.mergeUpdates semantics, Skips included), kept decoded.
struct PendingStructs {
  std::vector<StructRef> seq;
  std::map<uint64_t, uint64_t> missing;  // client -> lowest clock waited for
  uint64_t coverage() const;
};

/// State of one applyUpdate (yjs Transaction, only what integration and cleanup use).
struct Transaction {
  std::unordered_map<uint64_t, uint64_t> beforeState;  // only clients whose state changed
  DeleteSet ds;                                          // deleted in this transaction
  std::vector<ID> mergeStructs;                          // split-off items to try to merge again
};

struct Doc::Impl {
  // Owner: the Doc's strand.
  std::unordered_map<uint64_t, std::vector<Item*>> clients;  // struct store, sorted by clock
  std::unordered_set<std::string> strings;                     // interned keys and root names
  std::unordered_map<const std::string*, std::unique_ptr<Type>> roots;
  std::deque<Item> pool;       // stable storage for items
  std::vector<Item*> freeList;  // items released by merging
  std::optional<PendingStructs> pending;
  DeleteSet pendingDs;  // ranges per client in the order yjs would hold them (merged only when yjs merges)
  // Scratch sets for Item.integrate's conflict resolution (reused to avoid allocations).
  std::unordered_set<Item*> conflictingItems;
  std::unordered_set<Item*> itemsBeforeOrigin;

  const std::string* intern(std::string_view s) { return &*strings.emplace(s).first; }
  Type* rootType(const std::string& name);
  Item* alloc();
  void release(Item* item);

  uint64_t getState(uint64_t client) const {
    auto it = clients.find(client);
    return it == clients.end() || it->second.empty() ? 0 : it->second.back()->end();
  }
  uint64_t beforeState(const Transaction& t, uint64_t client) const {
    auto it = t.beforeState.find(client);
    return it == t.beforeState.end() ? getState(client) : it->second;
  }
  static size_t findIndexSS(const std::vector<Item*>& structs, uint64_t clock);
  Item* getItem(ID id) { auto& s = clients.at(id.client); return s[findIndexSS(s, id.clock)]; }
  Item* getItemCleanStart(Transaction& t, ID id);
  Item* getItemCleanEnd(Transaction& t, ID id);
  Item* splitItem(Transaction& t, Item* left, uint64_t diff);
  void addStruct(Transaction& t, Item* item);

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
  void readUpdate(Transaction& t, std::map<uint64_t, ClientRefs>& refs, const DeleteSet::Sequence& ds);
  std::optional<PendingStructs> integrateStructs(Transaction& t, std::map<uint64_t, ClientRefs>& refs);
  std::optional<uint64_t> getMissing(Transaction& t, const StructRef& s, Resolved& r);
  void integrate(Transaction& t, StructRef& s, uint64_t offset, Resolved r);
  void deleteItem(Transaction& t, Item* item);
  void gcItem(Item* item, bool parentGCd);
  DeleteSet applyDeleteSet(Transaction& t, const DeleteSet::Sequence& ds);
  void cleanup(Transaction& t);
  size_t tryToMergeWithLefts(std::vector<Item*>& structs, size_t pos);
  static bool mergeItems(Item* left, Item* right);

  // Encoding (doc_encode.cpp).
  void writeItem(lib0::Encoder& e, const Item* item, uint64_t offset) const;
  DeleteSet deleteSetFromStore() const;
  std::vector<uint8_t> encodeStateAsUpdate(const StateVector& sv) const;
};

}  // namespace collabio::yjs
