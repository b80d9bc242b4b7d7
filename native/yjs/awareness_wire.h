// Awareness between collabio nodes (issue 21 §4): the messages one node publishes on a document's
// Redis pub/sub channel (core/doc_cluster_awareness.h) for the other nodes serving that document.
// Awareness is ephemeral, so it goes through pub/sub, not the document's stream.
//
//   message = uint8(kVersion) uint8(kind) varString(node) body
//   Update: body = varUint(peer) varUint8Array(awarenessUpdate)
//   Query:  body = (nothing)
//
// - Update: what peer `peer` of node `node` changed (an awareness update as y-protocols encodes
//   it, awareness.h). A removal (the peer left) is an Update whose states are "null".
// - Query: node `node` has just joined the document; every other node answers with one Update
//   per local peer holding states.
//
// Example: node "n1", peer 5, client 7 at clock 3 with state {}:
//   `01 00 02 6e 31 05 07 01 07 03 02 7b 7d`
//
// Decoding takes untrusted bytes (anything may publish on the channel): it returns false with an
// error text for a wrong version, an unknown kind, truncation, trailing bytes, a node id that is
// empty or longer than kMaxNodeIdBytes, or an Update whose awareness update does not decode
// (awareness::decode_update). It never throws.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace collabio::yjs::awareness_wire {

inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kMaxNodeIdBytes = 64;

enum class Kind : uint8_t { Update = 0, Query = 1 };

struct Message {
  Kind kind = Kind::Update;
  std::string node;             // the publishing node's id
  uint64_t peer = 0;            // Update: the node's peer (connection) the states belong to
  std::vector<uint8_t> update;  // Update: the awareness update
};

std::vector<uint8_t> encode(const Message& message);
bool decode(std::span<const uint8_t> bytes, Message& out, std::string& error);

}  // namespace collabio::yjs::awareness_wire
