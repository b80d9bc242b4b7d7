// A server-side WebSocket connection after the upgrade: reading and parsing frames, a bounded
// outbound queue that leaves in gather writes, and the close handshake. Protocol layers derive
// from it (EioWsTransport carries an Engine.IO session, YjsConnection speaks y-websocket).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/connection.h"
#include "core/server_impl.h"
#include "core/ws_deflate.h"
#include "core/ws_frame.h"

namespace collabio::core {

// Buffers from this size on are followed by malloc_trim once freed (glibc; about a millisecond):
// otherwise their pages stay resident in malloc's arenas.
constexpr size_t kTrimAfterBytes = 256 * 1024;

class WsConnection : public Connection, public std::enable_shared_from_this<WsConnection>, private ws::Parser::Handler {
 public:
  // `deflate`: what the upgrade negotiated (permessage-deflate, native/core/ws_deflate.h).
  WsConnection(Kind kind, std::shared_ptr<ServerImpl> server, tcp::socket socket, uint64_t max_message,
               ws::Deflate deflate = {});
  ~WsConnection() override = default;

  Kind kind() const override { return kind_; }
  uint64_t id() const override { return id_; }

  // Starts reading; `first` frames (e.g. the 101 response) are queued before anything else.
  // Must be called on the connection's strand.
  void start(std::vector<ws::Frame> first, std::string leftover);

  // ---- any thread ----
  // Queues frames atomically (all or none). Volatile frames are dropped when the connection is
  // busy (a write in flight or queued); past Options::max_outbound_bytes the connection is closed
  // with the reason "slow consumer". Returns false if nothing was queued. With permessage-deflate,
  // a compressible frame of at least the threshold is replaced by its shared compressed form
  // (computed here, on the caller's thread, once per frame).
  bool enqueue(const ws::Frame* frames, size_t n, bool is_volatile) override;
  bool enqueue(const ws::Frame& frame) { return enqueue(&frame, 1, false); }
  // Closes from outside (server kick, shutdown); `reason` goes to on_closed().
  void close(uint16_t code, std::string reason) override;

  using Executor = tcp::socket::executor_type;
  Executor executor() { return socket_.get_executor(); }

 protected:
  // ---- hooks, called on the strand ----
  virtual void on_started() {}
  virtual void on_ws_message(bool binary, std::string&& payload) = 0;
  // Once, when the close begins (either side): stop timers, report `reason`.
  virtual void on_closed(const std::string& reason) = 0;
  virtual void on_ws_pong() {}
  // Inbound backpressure: asked after each chunk of input is handled. True stops reading until
  // the callback `make_resume()` returns is called (any thread, at most once); false reads on.
  // Default: never over.
  virtual bool pause_reading(const InboundBudget::MakeResume& /*make_resume*/) { return false; }

  // Begins the close on the strand: queues a close frame after what is queued (or drops the queue
  // when `drop_queue`), calls on_closed(reason) once.
  void do_close(uint16_t code, const std::string& reason, bool drop_queue);
  bool closing() const { return closing_; }

  template <class Derived>
  std::shared_ptr<Derived> self_as() {
    return std::static_pointer_cast<Derived>(shared_from_this());
  }

  const std::shared_ptr<ServerImpl> server_;

 private:
  void on_message(bool binary, std::string&& payload) final;
  void on_ping(std::string_view payload) final;
  void on_pong(std::string_view payload) final;
  void on_close(uint16_t code, std::string_view reason) final;

  // enqueue() for a connection with server context takeover (deflater_).
  bool enqueue_own_stream(const ws::Frame* frames, size_t n, bool is_volatile);
  void do_read();
  void on_readable(boost::system::error_code ec);
  // After a step of input (a chunk read, or what a bounded step kept): goes on, or pauses
  // (pause_reading).
  void read_on();
  // Goes on: with the bytes the last step kept (parser_.yielded()), in a handler of its own, or
  // by waiting for the socket. Exactly one of the two is pending unless the connection is paused.
  void read_next();
  void on_kept();
  void resume_reading();
  // Parses `n` new bytes after what pending_ keeps (n = 0: only what it keeps), one bounded step.
  void consume(const uint8_t* data, size_t n);
  // Starts do_write() on the strand soon: batched with the other writes this I/O thread schedules
  // in the same handler (ws_connection.cpp), or posted from a foreign thread.
  void schedule_write();
  void do_write();
  void write_rest(size_t done);
  void written(size_t n);
  void account_written(size_t n);  // mu_ held
  void release_inflight();         // drops the frames of a finished write
  void on_write(boost::system::error_code ec, size_t n);
  void finish_close();

  const Kind kind_;
  const uint64_t id_;
  const ws::Deflate deflate_;
  tcp::socket socket_;  // its executor is this connection's strand

  // ---- owner: the strand ----
  ws::Parser parser_;
  // Bytes not parsed yet: an incomplete frame, or what a step stopped at its bound kept
  // (parser_.yielded()). Usually empty: idle costs nothing.
  std::vector<uint8_t> pending_;
  net::steady_timer close_timer_;
  bool closing_ = false;  // close started: reads are no longer processed
  bool read_paused_ = false;  // over the inbound budget: no read is pending until resume_reading()
  bool socket_closed_ = false;
  std::vector<ws::Frame> inflight_;  // frames of the write in progress

  // ---- guarded by mu_ ----
  std::mutex mu_;
  std::vector<ws::Frame> queue_;  // empty until something is queued (a deque allocates ~600 bytes up front)
  // Server context takeover only (Deflate::context_takeover): this connection's deflate stream,
  // created on its first compressed message; messages are compressed under mu_, in queue order.
  std::unique_ptr<ws::ContextDeflater> deflater_;
  uint64_t queued_bytes_ = 0;
  bool write_scheduled_ = false;  // a do_write is posted or a write is in flight
  bool accepting_ = true;         // false once closing: enqueue refuses
  bool close_queued_ = false;     // the close frame is the last thing queued
};

}  // namespace collabio::core
