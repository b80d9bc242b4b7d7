// One Engine.IO v4 session, whatever its transport: HTTP long-polling (native/core/eio_polling.cpp),
// WebSocket (native/core/eio_ws_transport.cpp), or polling first and then WebSocket after the
// upgrade. The session is what the connection table holds: its id stays the same across the
// upgrade, and so do its heartbeat, pending packets and what it carries. It parses Engine.IO
// packets only: message payloads go to its upper layer (core/eio_upper.h; the Socket.IO client).
//
// Threads and ownership
// - The session's logic (packets from the client, heartbeat, upgrade, closing) runs on its
//   executor `strand_`: the socket's strand for a session opened over WebSocket (so its messages
//   are handled inline, without a hop), a strand of its own for a session opened over polling.
//   Transports hand their input over with net::dispatch.
// - enqueue() (any thread) and the switch of transport at the upgrade are serialized by `mu_`,
//   which is what keeps the outbound order across the upgrade: packets queued for polling before
//   the switch leave first, on the new WebSocket.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "core/connection.h"
#include "core/eio_registry.h"
#include "core/eio_upper.h"
#include "core/server_impl.h"

namespace collabio::core {

class EioWsTransport;

// A polling request waiting for the session's answer (implemented by the HTTP session). Any thread.
class PollingExchange {
 public:
  virtual ~PollingExchange() = default;
  // Sends the HTTP response: 200 with `body` ("ok" for a POST, a payload for a GET) or an error
  // status with an Engine.IO error JSON. Called at most once. `hold` is kept until the response
  // has been written or dropped: it keeps the session's queued bytes that `body` carries counted.
  virtual void reply(unsigned status, std::string content_type, std::string body,
                     std::shared_ptr<void> hold = nullptr) = 0;
};

class EioConnection final : public Connection, public std::enable_shared_from_this<EioConnection> {
 public:
  using Executor = net::any_io_executor;

  EioConnection(std::shared_ptr<ServerImpl> server, Executor strand, std::string sid,
                std::shared_ptr<const Handshake> hs, HeaderList response_headers);
  ~EioConnection() override;

  Kind kind() const override { return Kind::EngineIo; }
  uint64_t id() const override { return id_; }
  const std::string& sid() const { return sid_; }
  // Headers the host's 'headers' hook asked for on every response of this session (immutable).
  const HeaderList& response_headers() const { return response_headers_; }

  bool enqueue(const ws::Frame* frames, size_t n, bool is_volatile) override;
  void close(uint16_t code, std::string reason) override;

  // The request that opened the session.
  const std::shared_ptr<const Handshake>& handshake() const { return handshake_; }
  // What the session carries (created with the session, destroyed with it).
  EioUpper& upper() { return *upper_; }

  // Engine.IO message packets: `text` as one text message ('4' + text), then every attachment as a
  // binary message. Framed once; a broadcast queues the same frames to every recipient. `compress`
  // false: never permessage-deflate compressed (compress(false)).
  static ws::Frames message_frames(std::string_view text, const std::vector<std::string>& attachments,
                                  bool compress = true);
  // Queues message_frames(text, attachments, compress) (any thread).
  bool send_message(std::string_view text, const std::vector<std::string>& attachments, bool is_volatile,
                    bool compress = true);

  // ---- for the upper layer, on the session's strand ----
  // False once the session has closed.
  bool open() const { return !closed_; }
  // The carried protocol broke (a bad Socket.IO packet): the client is dropped as socket.io drops
  // it, an empty close frame on WebSocket and the reason "forced close".
  void protocol_error();

  // ---- opening (the HTTP session calls these once, after registering the session) ----
  // A session opened over WebSocket: `http_response` (the 101) and the open packet leave together.
  void start_websocket(tcp::socket socket, std::string http_response, std::string leftover, ws::Deflate deflate);
  // A session opened over polling: the open packet is the body of the handshake response, which
  // the caller sends; this starts the timers.
  void start_polling();
  // The open packet for this session.
  std::string open_packet(bool can_upgrade) const;

  // ---- polling (any thread) ----
  // A GET: answered when there is something to send (held until then).
  void poll_get(std::shared_ptr<PollingExchange> x);
  // The GET `x` lost its connection before it was answered.
  void poll_aborted(const PollingExchange* x);
  // A POST with its body: the packets are handled in order, then the POST is answered.
  void poll_post(std::shared_ptr<PollingExchange> x, std::string body);
  // The POST `x` was answered (its response written).
  void poll_post_done(const PollingExchange* x);
  // `n` queued bytes that left in a GET response have been written (or dropped).
  void poll_written(uint64_t n);
  // False when polling requests are no longer valid for this session (upgraded or closed).
  bool polling_active();

  // ---- upgrade (any thread) ----
  // Reserves the upgrade slot: false if the session is closed, already on WebSocket or probing.
  bool begin_upgrade();
  // Attaches the probe WebSocket after its 101 was queued (called after begin_upgrade() == true).
  void attach_probe(tcp::socket socket, std::string http_response, std::string leftover, ws::Deflate deflate);

  // ---- from the WebSocket transport, on the session's strand ----
  void on_ws_message(EioWsTransport* t, bool binary, std::string&& payload);
  void on_ws_closed(EioWsTransport* t, const std::string& reason);

  Executor executor() const { return strand_; }

 private:
  enum class Mode { Polling, WebSocket };

  void on_packet_text(std::string_view text);
  void on_packet_binary(std::string&& payload);
  void on_probe_message(bool binary, std::string&& payload);
  void finish_upgrade();
  void drop_probe(const char* why);
  void fail(const char* reason) { do_close(reason, false); }
  void start_timers();
  // (Re)starts the one wait for the earliest deadline, or cancels it when none is set.
  void arm_timer();
  void on_timer();
  // Ends a held GET with a noop packet if nothing is queued for it (the upgrade check).
  void poll_noop();
  // A closed polling session stops waiting for its last GET: after_close() runs now (once).
  void end_close_grace();
  // Answers the held POST, if any, with "ok".
  void release_post();

  // Closes the session on the strand. `graceful`: what is queued is still delivered (server-side
  // close); otherwise it is dropped.
  void do_close(const std::string& reason, bool graceful);
  void after_close();

  // Polling output, on the strand: answers the held GET with what is queued.
  void flush_poll();
  void schedule_flush_locked();
  // Takes every queued message into a payload; `hold` keeps their bytes counted (in flight) until
  // the response carrying them is written.
  std::string take_payload_locked(std::shared_ptr<void>& hold);
  // Drops what waits for a GET (and its bytes from Stats::bytes_queued).
  void drop_queue_locked();

  const std::shared_ptr<ServerImpl> server_;
  const uint64_t id_;
  const Executor strand_;
  const std::string sid_;
  const std::shared_ptr<const Handshake> handshake_;
  const HeaderList response_headers_;

  // ---- owner: strand_ ----
  // One timer serves every deadline of the session, so an idle session has one timer and one
  // pending wait: the heartbeat (the next ping, or the pong deadline while awaiting_pong_),
  // connectTimeout, the upgrade probe's timeout, and the grace a closed polling session keeps
  // for its last GET. kNever: not set.
  using Clock = std::chrono::steady_clock;
  static constexpr Clock::time_point kNever = Clock::time_point::max();
  net::steady_timer timer_;
  Clock::time_point timer_at_ = kNever;  // expiry of the pending wait (kNever: none)
  uint64_t timer_generation_ = 0;        // numbers the waits: a replaced wait's completion is stale
  Clock::time_point heartbeat_at_ = kNever;
  Clock::time_point connect_at_ = kNever;
  Clock::time_point upgrade_at_ = kNever;
  Clock::time_point close_at_ = kNever;
  // While a probe is answered: when a held GET is next ended with a noop, so that the client can
  // pause polling (engine.io's upgrade check: every 100 ms, never at once).
  Clock::time_point noop_at_ = kNever;
  bool awaiting_pong_ = false;
  bool closed_ = false;            // do_close ran
  bool probe_seen_ = false;        // the probe answered "2probe"
  std::shared_ptr<EioWsTransport> probe_;  // WebSocket being probed (not yet carrying the session)
  std::shared_ptr<PollingExchange> post_;  // POST being answered
  // Message payloads go here; its reading side runs on the strand too (core/eio_upper.h).
  const std::unique_ptr<EioUpper> upper_;
  // A POST whose "ok" waits until the session is back under its inbound budget: the client sends
  // its next POST only after this answer (backpressure for long-polling).
  std::shared_ptr<PollingExchange> post_held_;

  // ---- guarded by mu_ (enqueue from any thread, transport switch on the strand) ----
  std::mutex mu_;
  Mode mode_ = Mode::Polling;
  bool accepting_ = true;                  // false once closing: enqueue refuses
  bool upgrading_ = false;                 // a probe is attached
  bool closing_poll_ = false;              // closed: the next GET gets what is left and "1"
  bool close_noop_ = false;                // closed by the client: a held GET gets "6"
  std::shared_ptr<EioWsTransport> ws_;     // the WebSocket carrying the session (mode_ WebSocket)
  std::vector<ws::Frame> pq_;              // polling: messages waiting for a GET
  uint64_t pq_bytes_ = 0;
  // Bytes taken from pq_ into GET responses not yet written. pq_bytes_ + poll_inflight_ is what
  // max_outbound_bytes bounds and what the session adds to Stats::bytes_queued.
  uint64_t poll_inflight_ = 0;
  bool slow_consumer_ = false;             // closed for overflow: the next GET still gets "1"
  std::shared_ptr<PollingExchange> get_;   // polling: the held GET
  bool flush_scheduled_ = false;
};

// Creates, registers and returns a new session (sid generated here). `strand` as above.
std::shared_ptr<EioConnection> create_eio_session(const std::shared_ptr<ServerImpl>& server,
                                                  EioConnection::Executor strand,
                                                  std::shared_ptr<const Handshake> hs, HeaderList response_headers);

}  // namespace collabio::core
