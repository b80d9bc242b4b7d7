// A Yjs document held as yjs 13.6 holds it (gc: true): a struct store per client, items
// integrated with Item.integrate's conflict resolution, delete sets, pending structs/deletes, and
// the merge + garbage collection of Transaction cleanup. No networking, no N-API.
//
//   Doc doc;
//   auto r = doc.applyUpdate(update);          // r.relay: bytes to forward (empty if nothing new)
//   auto sv = doc.encodeStateVector();          // SyncStep1
//   auto diff = doc.encodeStateAsUpdate(peerSv); // SyncStep2 for a peer with state vector peerSv
//
// Threading: a Doc is single-threaded. Owner: the document's strand in the server; every call
// (including const ones) must come from that strand.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "yjs/lib0.h"

namespace collabio::yjs {

class Doc {
 public:
  Doc();  // gc on
  ~Doc();
  Doc(Doc&&) noexcept;  // a moved-from Doc may only be destroyed or assigned to
  Doc& operator=(Doc&&) noexcept;
  Doc(const Doc&) = delete;
  Doc& operator=(const Doc&) = delete;

  struct ApplyResult {
    bool changed = false;       // the document state (structs, deletes or pending) changed
    std::vector<uint8_t> relay;  // bytes to forward to peers: empty when nothing new (the input update)
  };

  /// Decodes the whole update first; on malformed input throws DecodeError and leaves the document
  /// exactly as it was. Structs with missing dependencies stay pending like yjs and are integrated
  /// when the missing structs arrive. Decoding allocates several times the update's size, freed
  /// on return; giving it back to the system is the caller's (the server trims after a quiet
  /// second: ServerImpl::large_buffer_freed).
  ApplyResult applyUpdate(std::span<const uint8_t> update);

  /// State vector of the integrated structs (pending structs excluded, as yjs).
  std::vector<uint8_t> encodeStateVector() const;

  /// Everything a peer with `stateVector` lacks (all of it for an empty span), including pending
  /// structs and deletes, like Y.encodeStateAsUpdate. Throws DecodeError on a malformed sv.
  std::vector<uint8_t> encodeStateAsUpdate(std::span<const uint8_t> stateVector = {}) const;

  /// Approximate bytes held by the document.
  size_t memoryUsage() const;

  /// True if structs or deletes are waiting for missing dependencies.
  bool hasPending() const;

  /// Content of root type `name` read as Y.Text (formatting ignored); empty if absent.
  std::string rootTextToString(std::string_view name) const;
  /// Content of root type `name` as JSON: read as Y.Map (object) or Y.Array (array). Nested types
  /// are rendered recursively (maps as objects, arrays/xml as arrays, text as a string).
  std::string rootMapToJson(std::string_view name) const;
  std::string rootArrayToJson(std::string_view name) const;

  /// Number of structs in the store (for tests and benchmarks).
  size_t structCount() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Merges updates without a document (Y.mergeUpdates): structs are united per client (overlaps
/// sliced, gaps become Skip structs), delete sets merged. No garbage collection.
std::vector<uint8_t> mergeUpdates(const std::vector<std::span<const uint8_t>>& updates);

/// The part of `update` a peer with `stateVector` lacks (Y.diffUpdate).
std::vector<uint8_t> diffUpdate(std::span<const uint8_t> update, std::span<const uint8_t> stateVector);

/// The state vector a document would have after applying only `update` to an empty document
/// (Y.encodeStateVectorFromUpdate: counts each client's structs from clock 0 up to the first gap).
std::vector<uint8_t> encodeStateVectorFromUpdate(std::span<const uint8_t> update);

}  // namespace collabio::yjs
