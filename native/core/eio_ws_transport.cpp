#include "core/eio_ws_transport.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "core/eio_connection.h"

namespace collabio::core {

EioWsTransport::EioWsTransport(std::shared_ptr<ServerImpl> server, tcp::socket socket,
                               std::shared_ptr<EioConnection> session, bool shares_strand, ws::Deflate deflate)
    // A message may not exceed maxHttpBufferSize (Engine.IO maxPayload), whatever its framing, and
    // once inflated.
    : WsConnection(Kind::EngineIo, server, std::move(socket), server->opts.max_http_buffer_size, deflate),
      session_(std::move(session)),
      shares_strand_(shares_strand) {}

void EioWsTransport::shut(uint16_t code, std::string reason, bool drop_queue) {
  net::post(executor(), [self = self_as<EioWsTransport>(), code, reason = std::move(reason), drop_queue] {
    self->do_close(code, reason, drop_queue);
  });
}

void EioWsTransport::on_ws_message(bool binary, std::string&& payload) {
  if (!session_) return;
  if (shares_strand_) {
    // Already on the session's strand: the common case, without the cost of a dispatch.
    session_->on_ws_message(this, binary, std::move(payload));
    return;
  }
  // Inline when the session lives on this socket's strand (a session opened over WebSocket);
  // otherwise queued to the session's strand, in arrival order.
  net::dispatch(session_->executor(), [s = session_, self = self_as<EioWsTransport>(), binary,
                                       payload = std::move(payload)]() mutable {
    s->on_ws_message(self.get(), binary, std::move(payload));
  });
}

bool EioWsTransport::pause_reading(const InboundBudget::MakeResume& make_resume) {
  if (!session_) return false;
  // The session's events are charged to the session id (the id the host knows), whichever
  // transport carried them.
  if (shares_strand_) return server_->to_host->pause_if_over(session_->id(), make_resume);
  // The session runs on a strand of its own (opened over polling, then upgraded): the messages of
  // this chunk are still on their way there. The transport pauses until the session has handled
  // them and is under its budget, so the check cannot run ahead of the charges.
  net::dispatch(session_->executor(), [server = server_, id = session_->id(), resume = make_resume()] {
    if (!server->to_host->pause_if_over(id, [&] { return resume; })) resume();
  });
  return true;
}

void EioWsTransport::on_closed(const std::string& reason) {
  auto s = std::move(session_);
  if (!s) return;
  net::dispatch(s->executor(), [s, self = self_as<EioWsTransport>(), reason] { s->on_ws_closed(self.get(), reason); });
}

}  // namespace collabio::core
