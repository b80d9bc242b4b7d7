// What a document knows of a client: a protocol-neutral handle. The document (documents.h) holds
// state and its peers and speaks no protocol; each protocol (y-websocket in yjs_connection.cpp,
// Hocuspocus in hocuspocus_connection.cpp) implements DocPeer and frames its own messages.
//
// One socket may hold several peers (Hocuspocus multiplexes documents over one WebSocket), so a
// peer has its own id, unique in the server (drawn from the connection id counter), which also
// keys the peer's awareness clients in the document.
//
// Owner: every DocPeer method is called on the document's strand; implementations only encode and
// queue (WsConnection::enqueue is thread-safe).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/ws_frame.h"

namespace collabio::core {

// One message the document sends to many peers (an update, an awareness change). Each protocol
// frames it once and keeps the frame here, so N peers speaking the same protocol (and, for
// Hocuspocus, addressing the document the same way) queue one immutable buffer.
// Owner: the document's strand (the frame cache is not guarded).
class SharedMessage {
 public:
  explicit SharedMessage(std::vector<uint8_t> payload) : payload_(std::move(payload)) {}
  SharedMessage(const SharedMessage&) = delete;
  SharedMessage& operator=(const SharedMessage&) = delete;

  // The Yjs update or awareness update, as the document produced it.
  std::span<const uint8_t> payload() const { return payload_; }

  // The frame for `protocol` (a tag unique per protocol: the address of a static) and `address`
  // (what the protocol puts in front; "" if nothing): built by `make()` on first use.
  template <class Make>
  const ws::Frame& frame(const void* protocol, std::string_view address, Make&& make) const {
    for (const auto& e : frames_)
      if (e.protocol == protocol && e.address == address) return e.frame;
    frames_.push_back(Entry{protocol, std::string(address), make()});
    return frames_.back().frame;
  }

 private:
  struct Entry {
    const void* protocol;
    std::string address;
    ws::Frame frame;
  };
  std::vector<uint8_t> payload_;
  mutable std::vector<Entry> frames_;  // usually one entry
};

class DocPeer {
 public:
  explicit DocPeer(uint64_t peer_id) : peer_id_(peer_id) {}
  virtual ~DocPeer() = default;

  uint64_t peer_id() const { return peer_id_; }
  // "y-websocket" or "hocuspocus" (reported by DocumentHandle.connections()).
  virtual const char* protocol() const = 0;

  // ---- the document's strand ----
  // The peer is attached and the document loaded: its state vector, and the awareness states
  // present (an awareness update; empty when nobody is there).
  virtual void joined(std::span<const uint8_t> state_vector, std::span<const uint8_t> awareness) = 0;
  // Answer to the peer's SyncStep1: the document's state vector and the update the peer lacks.
  virtual void answer_sync_step1(std::span<const uint8_t> state_vector, std::vector<uint8_t>&& diff) = 0;
  // Awareness states the peer asked for (QueryAwareness); never empty.
  virtual void answer_query_awareness(std::span<const uint8_t> awareness) = 0;
  // What another peer (or JavaScript) changed: a Yjs update / an awareness update.
  virtual void deliver_update(const SharedMessage& update) = 0;
  virtual void deliver_awareness(const SharedMessage& awareness) = 0;
  // The peer's own write (SyncStep2 or Update) was handled: `saved` once it is integrated and
  // durable, false when it was refused (read-only). Only Hocuspocus tells its clients.
  virtual void write_acknowledged(bool /*saved*/) {}
  // A stateless message from the application.
  virtual void deliver_stateless(std::string_view /*payload*/) {}
  // The document ends this peer (bad input, store failure, document closed or failed). The peer
  // must not call the document about it again; the document has already forgotten it.
  virtual void close_peer(uint16_t code, const std::string& reason) = 0;

 private:
  const uint64_t peer_id_;
};

}  // namespace collabio::core
