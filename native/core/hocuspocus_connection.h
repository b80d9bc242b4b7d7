// A Hocuspocus connection (@hocuspocus/provider 4.x, Tiptap): one WebSocket on
// DocumentOptions::hocuspocus_path carrying many documents, each addressed by name in every message
// (yjs/hocuspocus_protocol.h). Each document on the socket is a session with its own authorization
// (an Auth Token message, answered Authenticated or PermissionDenied) and, once authorized, its own
// peer of the shared C++ document (doc_peer.h): y-websocket clients of the same name see the same
// document and awareness.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/doc_peer.h"
#include "core/ws_connection.h"

namespace collabio::core {

class Document;

class HocuspocusConnection final : public WsConnection {
 public:
  HocuspocusConnection(std::shared_ptr<ServerImpl> server, tcp::socket socket,
                       std::shared_ptr<const Handshake> hs);

  // Any thread: the application's answer to the authorization of document address `address`.
  // mode 0 = refuse (the client gets PermissionDenied with `reason`; the socket stays open),
  // 1 = read-write, 2 = read-only (writes are answered SyncStatus "not saved").
  void authorized(const std::string& address, int mode, std::string reason);

  // Decodes one Hocuspocus message body (from its type on) for `doc` (Document::Decode).
  static void decode(Document& doc, uint64_t peer, std::span<const uint8_t> body);

  // Close codes (besides RFC 6455's).
  static constexpr uint16_t kUnsupportedData = 1003;  // unknown message type, or one only servers send

 private:
  // One document on this socket.
  struct Session {
    enum class State { AwaitingToken, Authorizing, Attached };
    State state = State::AwaitingToken;
    uint64_t peer_id = 0;
    std::string document;
    std::shared_ptr<Document> doc;  // set once attached
    std::vector<std::pair<std::string, size_t>> early;  // messages (and body offsets) before attach
    size_t early_bytes = 0;
  };
  // Forgets the early messages of `s` in the socket's totals.
  void drop_early(Session& s);

  void on_started() override;
  void on_ws_message(bool binary, std::string&& payload) override;
  void on_closed(const std::string& reason) override;
  void on_ws_pong() override { alive_ = true; }
  bool pause_reading(const InboundBudget::MakeResume& make_resume) override;

  void attach(const std::string& address, Session& s, bool read_only);
  void detach(Session& s);
  void send(const std::vector<uint8_t>& message);
  void schedule_keepalive();

  const std::shared_ptr<const Handshake> handshake_;

  // ---- owner: the connection's strand ----
  std::unordered_map<std::string, Session> sessions_;  // by address (document name [+ "\0" session id])
  size_t early_bytes_ = 0;                             // over every session
  size_t early_count_ = 0;
  net::steady_timer keepalive_;
  bool alive_ = true;  // a pong or a message since the last ping
};

// The peer of one Hocuspocus session in its document: frames what the document sends with the
// session's address and queues it on the socket.
class HocuspocusPeer final : public DocPeer {
 public:
  HocuspocusPeer(uint64_t peer_id, std::shared_ptr<HocuspocusConnection> socket, std::string address)
      : DocPeer(peer_id), socket_(std::move(socket)), address_(std::move(address)) {}

  const char* protocol() const override { return "hocuspocus"; }
  void joined(std::span<const uint8_t> state_vector, std::span<const uint8_t> awareness) override;
  void answer_sync_step1(std::span<const uint8_t> state_vector, std::vector<uint8_t>&& diff) override;
  void answer_query_awareness(std::span<const uint8_t> awareness) override;
  void deliver_update(const SharedMessage& update) override;
  void deliver_awareness(const SharedMessage& awareness) override;
  void write_acknowledged(bool saved) override;
  void deliver_stateless(std::string_view payload) override;
  void close_peer(uint16_t code, const std::string& reason) override;

 private:
  void send(const std::vector<uint8_t>& message);

  const std::shared_ptr<HocuspocusConnection> socket_;
  const std::string address_;
};

}  // namespace collabio::core
