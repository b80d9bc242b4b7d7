// A y-websocket connection to one document: ws://host:port/<document name>. The socket is the
// document's peer (doc_peer.h): its peer id is its connection id, and it frames what the document
// sends as y-websocket messages (yjs/sync_protocol.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/doc_peer.h"
#include "core/ws_connection.h"

namespace collabio::core {

class Document;

class YjsConnection final : public WsConnection, public DocPeer {
 public:
  YjsConnection(std::shared_ptr<ServerImpl> server, tcp::socket socket, std::shared_ptr<const Handshake> hs,
                std::string doc_name, ws::Deflate deflate);

  const std::string& doc_name() const { return doc_name_; }

  // Any thread: the application's answer to an authorization request.
  // mode 0 = refuse (the client gets an Auth "permission denied" message and close code 4403),
  // 1 = read-write, 2 = read-only (document writes from it are dropped).
  void authorized(int mode, std::string reason);

  // Close codes (y-websocket 3.x does not reconnect after 4400-4499).
  static constexpr uint16_t kForbidden = 4403;

  // ---- DocPeer: the document's strand ----
  const char* protocol() const override { return "y-websocket"; }
  void joined(std::span<const uint8_t> state_vector, std::span<const uint8_t> awareness) override;
  void answer_sync_step1(std::span<const uint8_t> state_vector, std::vector<uint8_t>&& diff) override;
  void answer_query_awareness(std::span<const uint8_t> awareness) override;
  void deliver_update(const SharedMessage& update) override;
  void deliver_awareness(const SharedMessage& awareness) override;
  void close_peer(uint16_t code, const std::string& reason) override { close(code, reason); }

  // Decodes one y-websocket message for `doc` (Document::Decode, on the document's strand).
  static void decode(Document& doc, uint64_t peer, std::span<const uint8_t> message);

 private:
  void on_started() override;
  void on_ws_message(bool binary, std::string&& payload) override;
  void on_closed(const std::string& reason) override;
  void on_ws_pong() override { alive_ = true; }
  bool pause_reading(const InboundBudget::MakeResume& make_resume) override;

  void attach(bool read_only);
  void schedule_keepalive();

  const std::string doc_name_;
  const std::shared_ptr<const Handshake> handshake_;

  // ---- owner: the connection's strand ----
  std::shared_ptr<Document> doc_;      // set once attached
  bool decided_ = false;               // authorization answered
  std::vector<std::string> early_;     // messages received before the document was attached
  size_t early_bytes_ = 0;
  net::steady_timer keepalive_;
  bool alive_ = true;                  // a pong or a message since the last ping
};

}  // namespace collabio::core
