// The Socket.IO module of the core: it gives every Engine.IO session its Socket.IO client
// (client.h) and runs the host's Socket.IO commands: namespace CONNECT replies, sends, and rooms
// and broadcasts through the adapter (adapter.h). The transport (ServerImpl) owns the sockets,
// the connection table and the command strand; this module owns what Socket.IO adds on top.
//
// Threads: make_client runs where a session is created; every other method runs on the command
// strand, in command order. Owner of `local_`, `redis_` and `adapter_`: the command strand.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/eio_upper.h"
#include "core/ws_frame.h"
#include "sio/adapter.h"
#include "sio/local_adapter.h"

namespace collabio::core {
class EioConnection;
class ServerImpl;
}  // namespace collabio::core

namespace collabio::sio {

class RedisAdapter;
struct RedisAdapterOptions;

class SocketIoServer {
 public:
  // `server` and `delivery` outlive the module. Starts with the local adapter.
  SocketIoServer(core::ServerImpl& server, Delivery& delivery);
  ~SocketIoServer();

  // The Socket.IO client of a new Engine.IO session (owned by the session).
  std::unique_ptr<core::EioUpper> make_client(core::EioConnection& session);

  // ---- commands (the command strand). Packets are Socket.IO text without the Engine.IO
  // prefix; attachments follow as binary messages. Unknown connection ids are ignored. ----
  void connect_reply(uint64_t conn, const std::string& nsp, bool accepted, const std::string& packet);
  // Queues a message's frames (core::EioConnection::message_frames) on connection `conn`.
  void send(uint64_t conn, const core::ws::Frames& frames);
  void broadcast(const Broadcast& b) { adapter_->broadcast(b); }
  void join(uint64_t conn, const std::string& nsp, const std::vector<std::string>& rooms);
  void leave(uint64_t conn, const std::string& nsp, const std::string& room) { adapter_->leave(nsp, conn, room); }
  void disconnect(uint64_t conn, const std::string& nsp, const std::string& packet, bool close_connection);
  // The connection closed (it has already left the connection table).
  void connection_closed(uint64_t conn) { adapter_->remove_connection(conn); }

  // Adapter swaps (io.adapter(...)): the rooms stay, since both adapters keep them in local_.
  void set_redis_adapter(RedisAdapterOptions options);
  void set_local_adapter();
  // The Redis adapter, or null while the local one is in use.
  RedisAdapter* redis_adapter() { return redis_.get(); }

 private:
  core::ServerImpl& server_;
  LocalAdapter local_;                   // this process's rooms, whichever adapter is in use
  std::shared_ptr<RedisAdapter> redis_;  // shared: its subscriber posts to the strand through a weak_ptr
  Adapter* adapter_;                     // &local_ or redis_.get()
};

}  // namespace collabio::sio
