// The Engine.IO session: Engine.IO packets from any transport (their messages go to the upper
// layer), heartbeat, connectTimeout, the upgrade from polling to WebSocket, and closing.
#include "core/eio_connection.h"

#include <algorithm>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "core/eio_ws_transport.h"
#include "core/handler_memory.h"
#include "engineio/packet.h"

namespace collabio::core {

namespace {
// How long a closed polling session keeps its sid so that the client's next GET can still collect
// what was queued before the close and the close packet.
constexpr std::chrono::milliseconds kPollCloseGrace{2000};
// engine.io's upgrade check (Socket#_maybeUpgrade): a held GET is ended with a noop this often.
constexpr std::chrono::milliseconds kUpgradeNoopInterval{100};

// EngineOptions::echo (the Engine.IO conformance suite): every message goes back as it came.
class Echo final : public EioUpper {
 public:
  explicit Echo(EioConnection& session) : session_(session) {}
  void on_message(std::string_view text) override { session_.send_message(text, {}, false); }
  void on_binary(std::string&& data) override {
    const ws::Frame f = ws::make_frame(ws::Opcode::Binary, data);
    session_.enqueue(&f, 1, false);
  }
  bool established() const override { return false; }  // as before: connectTimeout applies
  void on_close() override {}

 private:
  EioConnection& session_;
};
}  // namespace

std::shared_ptr<EioConnection> create_eio_session(const std::shared_ptr<ServerImpl>& server,
                                                  EioConnection::Executor strand,
                                                  std::shared_ptr<const Handshake> hs, HeaderList response_headers) {
  auto s = std::make_shared<EioConnection>(server, std::move(strand), engineio::generate_sid(), std::move(hs),
                                           std::move(response_headers));
  server->eio->add(s->sid(), s);
  server->eio->clients.fetch_add(1, std::memory_order_relaxed);
  server->register_connection(s);
  return s;
}

EioConnection::EioConnection(std::shared_ptr<ServerImpl> server, Executor strand, std::string sid,
                             std::shared_ptr<const Handshake> hs, HeaderList response_headers)
    : server_(std::move(server)),
      id_(server_->next_connection_id()),
      strand_(std::move(strand)),
      sid_(std::move(sid)),
      handshake_(std::move(hs)),
      response_headers_(std::move(response_headers)),
      timer_(strand_),
      upper_(server_->opts.engine.echo ? std::unique_ptr<EioUpper>(std::make_unique<Echo>(*this))
                                       : server_->make_client(*this)) {}

EioConnection::~EioConnection() = default;

std::string EioConnection::open_packet(bool can_upgrade) const {
  const auto& o = server_->opts;
  return engineio::open_packet(sid_, can_upgrade, o.ping_interval, o.ping_timeout, o.max_http_buffer_size);
}

void EioConnection::start_websocket(tcp::socket socket, std::string http_response, std::string leftover,
                                    ws::Deflate deflate) {
  auto t = std::make_shared<EioWsTransport>(server_, std::move(socket), shared_from_this(), true, deflate);
  {
    std::lock_guard lk(mu_);
    mode_ = Mode::WebSocket;
    ws_ = t;
  }
  start_timers();
  // The 101 response and the open packet leave in one write.
  t->start({ws::raw_bytes(std::move(http_response)),
            ws::make_frame(ws::Opcode::Text, open_packet(false))},
           std::move(leftover));
}

void EioConnection::start_polling() {
  net::dispatch(strand_, [self = shared_from_this()] { self->start_timers(); });
}

void EioConnection::start_timers() {
  // A polling client may close its session (a POST with the close packet, on another connection)
  // before this runs: timers armed on a closed session would never be released, and would hold
  // the I/O threads (and so the server's close()) for good.
  if (closed_) return;
  const auto& o = server_->opts;
  const auto now = Clock::now();
  awaiting_pong_ = false;
  heartbeat_at_ = now + std::chrono::milliseconds(o.ping_interval);
  connect_at_ = now + std::chrono::milliseconds(o.connect_timeout);
  arm_timer();
}

void EioConnection::arm_timer() {
  const auto next = std::min({heartbeat_at_, connect_at_, upgrade_at_, close_at_, noop_at_});
  if (next == timer_at_) return;
  if (next == kNever) {
    // Nothing left to wait for: the pending wait goes (it holds the session).
    timer_at_ = kNever;
    ++timer_generation_;
    timer_.cancel();
    return;
  }
  // A pending wait that fires first stays; on_timer() then arms the next one. (Replacing it would
  // cost a completion too: a cancelled wait still runs its handler.)
  if (timer_at_ <= next) return;
  timer_at_ = next;
  const uint64_t gen = ++timer_generation_;
  timer_.expires_at(next);  // cancels the pending wait, whose completion is then stale
  timer_.async_wait(exact_memory([self = shared_from_this(), gen](boost::system::error_code) {
    if (gen != self->timer_generation_) return;
    self->timer_at_ = kNever;
    self->on_timer();
  }));
}

void EioConnection::on_timer() {
  const auto now = Clock::now();
  if (close_at_ <= now) {
    close_at_ = kNever;
    after_close();
  }
  if (upgrade_at_ <= now) {
    upgrade_at_ = kNever;
    drop_probe("upgrade timeout");
  }
  if (noop_at_ <= now) {
    noop_at_ = now + kUpgradeNoopInterval;
    poll_noop();
  }
  if (connect_at_ <= now) {
    connect_at_ = kNever;
    // socket.io closes a client that joined no namespace in time (Client#setup, connectTimeout).
    if (!upper_->established()) do_close("forced close", true);
  }
  // Engine.IO v4 heartbeat: the server pings every pingInterval; no pong within pingTimeout
  // closes the session with "ping timeout".
  if (heartbeat_at_ <= now) {
    if (awaiting_pong_) {
      heartbeat_at_ = kNever;
      do_close("ping timeout", false);
    } else {
      static const ws::Frame ping = ws::make_frame(ws::Opcode::Text, "2");
      enqueue(&ping, 1, false);
      awaiting_pong_ = true;
      heartbeat_at_ = now + std::chrono::milliseconds(server_->opts.ping_timeout);
    }
  }
  arm_timer();
}

void EioConnection::end_close_grace() {
  if (close_at_ == kNever) return;
  close_at_ = kNever;
  arm_timer();
  net::post(strand_, [self = shared_from_this()] { self->after_close(); });
}

// ---------------------------------------------------------------------------------------------
// Output

bool EioConnection::enqueue(const ws::Frame* frames, size_t n, bool is_volatile) {
  bool overflow = false;
  {
    std::lock_guard lk(mu_);
    if (!accepting_) return false;
    if (mode_ == Mode::WebSocket) {
      // Under mu_ so that nothing overtakes what the upgrade moved over from the polling queue.
      return ws_->enqueue(frames, n, is_volatile);
    }
    // Polling: a volatile message goes only into a GET that is waiting with nothing before it
    // (engine.io: the transport is writable).
    if (is_volatile && (!get_ || !pq_.empty())) return false;
    size_t bytes = 0;
    for (size_t i = 0; i < n; ++i) bytes += frames[i]->size();
    // As for a WebSocket, the bound covers what is queued and what a response still carries.
    if (pq_bytes_ + poll_inflight_ + bytes > server_->opts.max_outbound_bytes) {
      overflow = true;
      accepting_ = false;
      slow_consumer_ = true;
    } else {
      for (size_t i = 0; i < n; ++i) pq_.push_back(frames[i]);
      pq_bytes_ += bytes;
      server_->bytes_queued.fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed);
      if (get_) schedule_flush_locked();
    }
  }
  if (overflow) {
    net::post(strand_, [self = shared_from_this()] { self->do_close("slow consumer", false); });
    return false;
  }
  server_->messages_out.fetch_add(n, std::memory_order_relaxed);
  return true;
}

ws::Frames EioConnection::message_frames(std::string_view text, const std::vector<std::string>& attachments,
                                       bool compress) {
  ws::Frames frames;
  frames.reserve(1 + attachments.size());
  frames.push_back(ws::make_frame(ws::Opcode::Text, "4", text, compress));  // Engine.IO "message"
  for (const auto& a : attachments) frames.push_back(ws::make_frame(ws::Opcode::Binary, a, compress));
  return frames;
}

bool EioConnection::send_message(std::string_view text, const std::vector<std::string>& attachments,
                                 bool is_volatile, bool compress) {
  const auto frames = message_frames(text, attachments, compress);
  return enqueue(frames.data(), frames.size(), is_volatile);
}

void EioConnection::close(uint16_t code, std::string reason) {
  net::dispatch(strand_, [self = shared_from_this(), code, reason = std::move(reason)] {
    if (self->closed_) {
      // Shutdown: a closed polling session stops waiting for its last GET.
      if (code == ws::kGoingAway) self->end_close_grace();
      return;
    }
    if (code == ws::kGoingAway) {
      // Server shutdown: the WebSocket gets the same close code as before.
      std::shared_ptr<EioWsTransport> ws;
      {
        std::lock_guard lk(self->mu_);
        ws = self->ws_;
      }
      if (ws) ws->shut(code, reason, false);
    }
    self->do_close(reason, true);
  });
}

// ---------------------------------------------------------------------------------------------
// Input

void EioConnection::on_ws_message(EioWsTransport* t, bool binary, std::string&& payload) {
  if (closed_) return;
  if (probe_ && t == probe_.get()) return on_probe_message(binary, std::move(payload));
  {
    std::lock_guard lk(mu_);
    if (t != ws_.get()) return;  // a transport that no longer carries the session
  }
  if (binary) return on_packet_binary(std::move(payload));
  on_packet_text(payload);
}

void EioConnection::on_ws_closed(EioWsTransport* t, const std::string& reason) {
  if (probe_ && t == probe_.get()) {
    // The probe went away before the upgrade completed: the session stays on polling.
    probe_.reset();
    upgrade_at_ = noop_at_ = kNever;
    std::lock_guard lk(mu_);
    upgrading_ = false;
    return;
  }
  {
    std::lock_guard lk(mu_);
    if (t != ws_.get()) return;
  }
  do_close(reason, false);
}

void EioConnection::on_packet_binary(std::string&& payload) { upper_->on_binary(std::move(payload)); }

void EioConnection::on_packet_text(std::string_view text) {
  engineio::PacketType type;
  std::string_view data;
  if (!engineio::parse_text_packet(text, type, data)) return fail("parse error");
  switch (type) {
    case engineio::PacketType::Pong:
      if (awaiting_pong_) {
        awaiting_pong_ = false;
        heartbeat_at_ = Clock::now() + std::chrono::milliseconds(server_->opts.ping_interval);
        arm_timer();
      }
      return;
    case engineio::PacketType::Message:
      upper_->on_message(data);
      return;
    case engineio::PacketType::Close:
      {
        std::lock_guard lk(mu_);
        close_noop_ = true;
      }
      do_close("transport close", true);
      return;
    case engineio::PacketType::Ping:
      if (data == "probe") {
        // A probe on the WebSocket that already carries the session: answer like engine.io.
        static const ws::Frame pong = ws::make_frame(ws::Opcode::Text, "3probe");
        enqueue(&pong, 1, false);
        return;
      }
      // In v4 only the server pings (engine.io: "invalid heartbeat direction").
      return fail("transport error");
    case engineio::PacketType::Upgrade:
    case engineio::PacketType::Noop:
      return;
    case engineio::PacketType::Open:
      return fail("parse error");
  }
}

void EioConnection::protocol_error() {
  if (closed_) return;
  // socket.io drops the client with an empty close frame (no status) and the reason "forced close".
  std::shared_ptr<EioWsTransport> ws;
  {
    std::lock_guard lk(mu_);
    ws = ws_;
  }
  if (ws) ws->shut(0, "forced close", true);
  do_close("forced close", false);
}

// ---------------------------------------------------------------------------------------------
// Upgrade (engine.io Socket#_maybeUpgrade)

bool EioConnection::begin_upgrade() {
  std::lock_guard lk(mu_);
  if (!accepting_ || mode_ != Mode::Polling || upgrading_) return false;
  upgrading_ = true;
  return true;
}

void EioConnection::attach_probe(tcp::socket socket, std::string http_response, std::string leftover,
                                 ws::Deflate deflate) {
  auto t = std::make_shared<EioWsTransport>(server_, std::move(socket), shared_from_this(), false, deflate);
  t->start({ws::raw_bytes(std::move(http_response))}, std::move(leftover));
  net::dispatch(strand_, [self = shared_from_this(), t] {
    if (self->closed_) {
      t->shut(ws::kGoingAway, "transport close", true);
      return;
    }
    self->probe_ = t;
    self->probe_seen_ = false;
    self->upgrade_at_ = Clock::now() + std::chrono::milliseconds(self->server_->opts.engine.upgrade_timeout);
    self->arm_timer();
  });
}

void EioConnection::on_probe_message(bool binary, std::string&& payload) {
  if (!binary && payload == "2probe") {
    static const ws::Frame pong = ws::make_frame(ws::Opcode::Text, "3probe");
    probe_->enqueue(pong);
    probe_seen_ = true;
    // The client now pauses polling: it sends the upgrade packet once its GET has ended. engine.io
    // ends a held GET with a noop 100 ms after the probe and every 100 ms after that, not at once;
    // socket.io-client's suite counts the packets the client receives in that window, so the
    // timeline is kept. A GET that has messages to carry ends at once as always.
    noop_at_ = Clock::now() + kUpgradeNoopInterval;
    arm_timer();
    return;
  }
  if (!binary && payload == "5" && probe_seen_) return finish_upgrade();
  drop_probe("invalid upgrade packet");
}

void EioConnection::finish_upgrade() {
  upgrade_at_ = noop_at_ = kNever;
  auto t = std::move(probe_);
  std::shared_ptr<PollingExchange> get;
  {
    std::lock_guard lk(mu_);
    // Everything queued for polling leaves first, in order, on the new transport; enqueue() takes
    // the WebSocket path only after this block (same mutex).
    std::vector<ws::Frame> moved = std::move(pq_);
    drop_queue_locked();  // the WebSocket counts them from here
    if (!moved.empty()) t->enqueue(moved.data(), moved.size(), false);
    ws_ = t;
    mode_ = Mode::WebSocket;
    upgrading_ = false;
    get = std::move(get_);
  }
  if (get) get->reply(200, "text/plain; charset=UTF-8", "6");
  server_->push_event(Event::upgrade(id_, "websocket"));
}

void EioConnection::drop_probe(const char* why) {
  if (!probe_) return;
  upgrade_at_ = noop_at_ = kNever;
  probe_->shut(ws::kNormal, why, false);
  probe_.reset();
  std::lock_guard lk(mu_);
  upgrading_ = false;
}

// ---------------------------------------------------------------------------------------------
// Closing

void EioConnection::do_close(const std::string& reason, bool graceful) {
  if (closed_) return;
  closed_ = true;
  upper_->on_close();
  release_post();  // a POST held for backpressure is answered; the session will read no more
  heartbeat_at_ = connect_at_ = upgrade_at_ = noop_at_ = kNever;
  if (probe_) {
    probe_->shut(ws::kNormal, "transport close", true);
    probe_.reset();
  }
  std::shared_ptr<EioWsTransport> ws;
  std::shared_ptr<PollingExchange> get;
  bool keep_for_get = false;
  {
    std::lock_guard lk(mu_);
    accepting_ = false;
    if (mode_ == Mode::WebSocket) {
      ws = std::move(ws_);
    } else {
      if (!graceful) drop_queue_locked();
      get = std::move(get_);
      // A server-side close: what is queued leaves first, and the close packet in a payload of its
      // own (socket.io-client handles Socket.IO packets on the next tick but an Engine.IO close at
      // once: a DISCONNECT sharing the payload would be overtaken). The next GET collects the rest.
      keep_for_get = graceful && !close_noop_ && (!get || !pq_.empty());
      // A slow consumer's queue is dropped, but a client that polls again soon still gets the
      // close packet (as a WebSocket gets close code 1008), not "Session ID unknown".
      if (slow_consumer_ && !get) keep_for_get = true;
      closing_poll_ = keep_for_get;
    }
  }
  if (ws) {
    // Errors drop what is queued; a normal close lets it leave first.
    ws->shut(graceful ? ws::kNormal : ws::kPolicyViolation, reason, !graceful);
  }
  if (get) {
    std::string body;
    std::shared_ptr<void> hold;
    {
      std::lock_guard lk(mu_);
      if (close_noop_) {
        body.push_back('6');
      } else if (keep_for_get) {
        body = take_payload_locked(hold);
      } else {
        body.push_back('1');
      }
    }
    get->reply(200, "text/plain; charset=UTF-8", std::move(body), std::move(hold));
  }
  server_->push_event(Event::close(id_, reason));
  server_->connection_closed(id_);
  server_->eio->clients.fetch_sub(1, std::memory_order_relaxed);
  if (keep_for_get) {
    close_at_ = Clock::now() + kPollCloseGrace;
  } else {
    after_close();
  }
  arm_timer();  // with nothing left to wait for, this releases the session
}

void EioConnection::after_close() {
  {
    std::lock_guard lk(mu_);
    closing_poll_ = false;
    drop_queue_locked();
  }
  server_->eio->remove(sid_, this);
}

}  // namespace collabio::core
