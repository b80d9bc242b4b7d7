// Placeholder until the document layer lands: refuses document connections cleanly.
#include "core/ws_connection.h"

namespace collabio::core {

namespace {
class RefusedConnection final : public WsConnection {
 public:
  RefusedConnection(std::shared_ptr<ServerImpl> server, tcp::socket socket)
      : WsConnection(Kind::YjsDocument, server, std::move(socket), 1 << 20) {}

 private:
  void on_started() override { do_close(ws::kInternalError, "documents are not enabled", false); }
  void on_ws_message(bool, std::string&&) override {}
  void on_closed(const std::string&) override {}
};
}  // namespace

void start_yjs_connection(const std::shared_ptr<ServerImpl>& server, tcp::socket socket,
                          std::shared_ptr<const Handshake>, std::string, std::string http_response,
                          std::string leftover) {
  auto c = std::make_shared<RefusedConnection>(server, std::move(socket));
  server->register_connection(c);
  c->start({std::make_shared<const std::string>(std::move(http_response))}, std::move(leftover));
}

}  // namespace collabio::core
