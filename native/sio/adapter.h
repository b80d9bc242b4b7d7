// The seam between a namespace's sockets and where its rooms live, as socket.io-adapter's Adapter:
// the local adapter (local_adapter.h) keeps rooms in this process; a cluster adapter also tells
// the other servers and delivers what they send. Adapters know sockets only as connection ids and
// reach the ones of this process through a Delivery.
//
// Threads: every method runs on the command strand (ServerImpl::cmd_), in the order the host
// issued the commands. That order is what makes `socket.join(r); io.to(r).emit(…)` reach the
// socket: the host (lib/adapter.js) owns room membership and the adapter's index follows it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace collabio::sio {

// One Socket.IO packet for many sockets, encoded once by the host: the Socket.IO text (no
// Engine.IO prefix) and its binary attachments.
struct Broadcast {
  std::string nsp;
  std::vector<std::string> rooms;   // sockets in any of these (every socket of nsp when empty)
  std::vector<std::string> except;  // and in none of these
  std::string packet;
  std::vector<std::string> attachments;
  bool is_volatile = false;  // dropped for connections that are not ready to take it
  bool local = false;        // this server only: a cluster adapter does not forward it
  bool compress = true;      // false: never permessage-deflate compressed (socket.io's compress(false))
};

// How an adapter reaches the connections of this process (implemented by the transport).
class Delivery {
 public:
  virtual ~Delivery() = default;
  // Frames `packet` and `attachments` once and queues the same buffers to every connection of
  // `conns`; ids that are gone are skipped.
  virtual void deliver(const std::vector<uint64_t>& conns, const std::string& packet,
                       const std::vector<std::string>& attachments, bool is_volatile, bool compress) = 0;
};

class Adapter {
 public:
  virtual ~Adapter() = default;
  // Connection `conn` joined namespace `nsp` (its CONNECT was accepted) / left it.
  virtual void add_socket(const std::string& nsp, uint64_t conn) = 0;
  virtual void remove_socket(const std::string& nsp, uint64_t conn) = 0;
  // Connection `conn` closed: it leaves every namespace.
  virtual void remove_connection(uint64_t conn) = 0;
  virtual void join(const std::string& nsp, uint64_t conn, const std::vector<std::string>& rooms) = 0;
  virtual void leave(const std::string& nsp, uint64_t conn, const std::string& room) = 0;
  virtual void broadcast(const Broadcast& b) = 0;
};

}  // namespace collabio::sio
