#include "sio/socket_io_server.h"

#include "core/eio_connection.h"
#include "sio/client.h"
#include "sio/local_adapter.h"
#include "sio/redis_adapter.h"

namespace collabio::sio {

namespace {
// The Socket.IO client of session `c`. Every session's upper layer is a Client except on a server
// that echoes Engine.IO messages (conformance testing), which the host sends no Socket.IO to.
Client* client_of(core::ServerImpl& server, const std::shared_ptr<core::EioConnection>& c) {
  if (!c || server.opts.engine.echo) return nullptr;
  return static_cast<Client*>(&c->upper());  // make_client made it (see above)
}
}  // namespace

SocketIoServer::SocketIoServer(core::ServerImpl& server, Delivery& delivery)
    : server_(server), local_(delivery), adapter_(&local_) {}

SocketIoServer::~SocketIoServer() = default;

void SocketIoServer::set_redis_adapter(RedisAdapterOptions options) {
  set_local_adapter();
  redis_ = std::make_shared<RedisAdapter>(server_, local_, std::move(options));
  redis_->start();
  adapter_ = redis_.get();
}

void SocketIoServer::set_local_adapter() {
  adapter_ = &local_;
  redis_.reset();
}

std::unique_ptr<core::EioUpper> SocketIoServer::make_client(core::EioConnection& session) {
  return std::make_unique<Client>(server_, session);
}

void SocketIoServer::connect_reply(uint64_t conn, const std::string& nsp, bool accepted, const std::string& packet) {
  auto c = server_.find_eio(conn);
  Client* client = client_of(server_, c);
  if (!client) return;
  if (accepted) {
    // Membership first, so that the client's first event after the reply is not ignored.
    client->set_namespace(nsp, true);
    adapter_->add_socket(nsp, conn);
  }
  c->send_message(packet, {}, false);
}

void SocketIoServer::send(uint64_t conn, const core::ws::Frames& frames) {
  if (auto c = server_.find_eio(conn)) c->enqueue(frames.data(), frames.size(), false);
}

void SocketIoServer::join(uint64_t conn, const std::string& nsp, const std::vector<std::string>& rooms) {
  if (!server_.find(conn)) return;  // closed: its rooms are gone already and must not come back
  adapter_->join(nsp, conn, rooms);
}

void SocketIoServer::disconnect(uint64_t conn, const std::string& nsp, const std::string& packet,
                                bool close_connection) {
  adapter_->remove_socket(nsp, conn);
  auto c = server_.find_eio(conn);
  Client* client = client_of(server_, c);
  if (!client) return;
  client->set_namespace(nsp, false);
  if (!packet.empty()) c->send_message(packet, {}, false);
  if (close_connection) c->close(core::ws::kNormal, "forced close");
}

}  // namespace collabio::sio
