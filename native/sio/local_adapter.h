// socket.io's in-memory adapter: the rooms of this process, and a broadcast delivered to the
// sockets they select. Owner: the command strand (see adapter.h).
#pragma once

#include "sio/adapter.h"
#include "sio/room_registry.h"

namespace collabio::sio {

class LocalAdapter final : public Adapter {
 public:
  // `out` must outlive the adapter.
  explicit LocalAdapter(Delivery& out) : out_(out) {}

  void add_socket(const std::string& nsp, uint64_t conn) override { rooms_.add_member(nsp, conn); }
  void remove_socket(const std::string& nsp, uint64_t conn) override { rooms_.remove_member(nsp, conn); }
  void remove_connection(uint64_t conn) override { rooms_.remove_connection(conn); }
  void join(const std::string& nsp, uint64_t conn, const std::vector<std::string>& rooms) override;
  void leave(const std::string& nsp, uint64_t conn, const std::string& room) override { rooms_.leave(nsp, conn, room); }
  void broadcast(const Broadcast& b) override;

  // The connections `b` selects here (for adapters built on this one, and tests).
  void recipients(const Broadcast& b, std::vector<uint64_t>& out) const { rooms_.recipients(b.nsp, b.rooms, b.except, out); }

 private:
  Delivery& out_;
  RoomRegistry rooms_;
};

}  // namespace collabio::sio
