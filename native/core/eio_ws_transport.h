// The WebSocket transport of an Engine.IO session: one Engine.IO packet per frame (text frames are
// "<type><data>", binary frames are raw message bytes). It knows nothing of Socket.IO: every message
// goes to its session (EioConnection), which decides what it means. A transport either carries the
// session or is a probe waiting to take it over (the upgrade from polling).
#pragma once

#include <memory>
#include <string>

#include "core/ws_connection.h"

namespace collabio::core {

class EioConnection;

class EioWsTransport final : public WsConnection {
 public:
  // `shares_strand`: the session runs on this socket's strand (a session opened over WebSocket), so
  // messages are handed over by a direct call.
  EioWsTransport(std::shared_ptr<ServerImpl> server, tcp::socket socket, std::shared_ptr<EioConnection> session,
                 bool shares_strand, ws::Deflate deflate);

  // Any thread: closes with `code`; `drop_queue` discards what is not yet written.
  void shut(uint16_t code, std::string reason, bool drop_queue);

 private:
  void on_ws_message(bool binary, std::string&& payload) override;
  void on_closed(const std::string& reason) override;
  bool pause_reading(const InboundBudget::MakeResume& make_resume) override;

  // Owner: this transport's strand. Reset when the transport closes (breaks the reference cycle
  // with the session, which holds its transports).
  std::shared_ptr<EioConnection> session_;
  const bool shares_strand_;
};

}  // namespace collabio::core
