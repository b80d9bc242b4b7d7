// A y-websocket connection to one document: ws://host:port/<document name>.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/ws_connection.h"

namespace collabio::core {

class Document;

class YjsConnection final : public WsConnection {
 public:
  YjsConnection(std::shared_ptr<ServerImpl> server, tcp::socket socket, std::shared_ptr<const Handshake> hs,
                std::string doc_name);

  const std::string& doc_name() const { return doc_name_; }

  // Any thread: the application's answer to an authorization request.
  // mode 0 = refuse (the client gets an Auth "permission denied" message and close code 4403),
  // 1 = read-write, 2 = read-only (document writes from it are dropped).
  void authorized(int mode, std::string reason);

  // Close codes (y-websocket 3.x does not reconnect after 4400-4499).
  static constexpr uint16_t kForbidden = 4403;

 private:
  void on_started() override;
  void on_ws_message(bool binary, std::string&& payload) override;
  void on_closed(const std::string& reason) override;
  void on_ws_pong() override { alive_ = true; }

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
