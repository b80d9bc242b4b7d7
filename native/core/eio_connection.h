// One Engine.IO v4 session over the WebSocket transport, carrying Socket.IO v5 packets.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/server_impl.h"
#include "core/ws_frame.h"

namespace collabio::core {

class EioConnection : public std::enable_shared_from_this<EioConnection>, private ws::Parser::Handler {
 public:
  EioConnection(std::shared_ptr<ServerImpl> server, tcp::socket socket, std::shared_ptr<const Handshake> hs);

  void start(std::string http_response, std::string leftover);
  uint64_t id() const { return id_; }

  // ---- any thread ----
  // Queues frames atomically (all or none). Volatile frames are dropped when the connection is
  // busy; over Options::max_outbound_bytes the connection is closed ("slow consumer").
  // Returns false if nothing was queued.
  bool enqueue(const ws::Frame* frames, size_t n, bool is_volatile);
  // Namespace membership as seen by the reader: packets for a namespace that is not connected are
  // ignored, as socket.io does.
  void set_namespace(const std::string& nsp, bool connected);
  // Closes the connection from outside (server kick, shutdown). `reason` goes to the host.
  void close(uint16_t code, std::string reason);

 private:
  // ws::Parser::Handler (strand)
  void on_message(bool binary, std::string&& payload) override;
  void on_ping(std::string_view payload) override;
  void on_pong(std::string_view payload) override;
  void on_close(uint16_t code, std::string_view reason) override;

  void do_read();
  void on_read(boost::system::error_code ec, size_t n);
  void do_write();
  void on_write(boost::system::error_code ec, size_t n);
  void schedule_ping(uint32_t delay_ms, bool expect_pong);
  void on_text_packet(std::string_view text);
  void on_socketio_packet(std::string_view text);
  void deliver(Event&& ev);
  bool namespace_connected(const std::string& nsp);
  // Begins the close on the strand: queues a close frame after what is queued (or drops the queue
  // when `drop_queue`), reports `reason` to the host once.
  void do_close(uint16_t code, const std::string& reason, bool drop_queue);
  void finish_close();

  const std::shared_ptr<ServerImpl> server_;
  const uint64_t id_;
  const std::shared_ptr<const Handshake> handshake_;
  tcp::socket socket_;  // its executor is this connection's strand

  // ---- owner: the strand ----
  ws::Parser parser_;
  std::vector<uint8_t> rbuf_;
  size_t rlen_ = 0;
  net::steady_timer ping_timer_;
  net::steady_timer connect_timer_;
  uint64_t ping_generation_ = 0;
  bool awaiting_pong_ = false;
  bool closing_ = false;        // close started: no more reads are processed
  bool close_reported_ = false;
  bool socket_closed_ = false;
  std::vector<ws::Frame> inflight_;  // frames of the write in progress
  struct PendingBinary {
    Event ev;
    uint32_t remaining = 0;
  };
  std::optional<PendingBinary> pending_;

  // ---- guarded by mu_ ----
  std::mutex mu_;
  std::deque<ws::Frame> queue_;
  uint64_t queued_bytes_ = 0;
  bool write_scheduled_ = false;  // a do_write is posted or a write is in flight
  bool accepting_ = true;         // false once closing: enqueue refuses
  bool close_queued_ = false;     // the close frame is the last thing queued
  std::unordered_set<std::string> namespaces_;
  bool any_namespace_ = false;
};

}  // namespace collabio::core
