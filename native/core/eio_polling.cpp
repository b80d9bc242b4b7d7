// The HTTP long-polling transport of an Engine.IO session (engine.io transports/polling.ts):
// GETs are held until there is something to send, POSTs carry batches of packets; both use the
// payload format of native/engineio/payload.cpp ('\x1e' between packets, binary as 'b' + base64).
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "core/eio_connection.h"
#include "core/eio_ws_transport.h"
#include "engineio/packet.h"

namespace collabio::core {

namespace {

constexpr std::string_view kGetType = "text/plain; charset=UTF-8";
constexpr std::string_view kPostType = "text/html";

// The opcode and payload of a frame built by ws::make_frame (unmasked, FIN set, one frame, never
// compressed: polling queues hold the frames as built).
bool frame_payload(const ws::OutFrame& frame, bool& binary, std::string_view& payload) {
  if (frame.size() < 2) return false;
  const auto op = static_cast<uint8_t>(frame.data()[0]) & 0x0f;
  binary = op == static_cast<uint8_t>(ws::Opcode::Binary);
  payload = frame.payload();
  return true;
}

std::string bad_request() { return engineio::error_json(engineio::ErrorCode::BadRequest); }

// The queued bytes a GET response carries: counted until the HTTP session has written the
// response or dropped it (the response keeps this object), like a WebSocket's write in flight.
class PollBytes {
 public:
  PollBytes(std::shared_ptr<EioConnection> session, uint64_t n) : session_(std::move(session)), n_(n) {}
  ~PollBytes() { session_->poll_written(n_); }
  PollBytes(const PollBytes&) = delete;
  PollBytes& operator=(const PollBytes&) = delete;

 private:
  const std::shared_ptr<EioConnection> session_;
  const uint64_t n_;
};

}  // namespace

void EioConnection::poll_written(uint64_t n) {
  std::lock_guard lk(mu_);
  poll_inflight_ -= std::min(n, poll_inflight_);
  server_->bytes_queued.fetch_sub(static_cast<int64_t>(n), std::memory_order_relaxed);
}

void EioConnection::drop_queue_locked() {
  server_->bytes_queued.fetch_sub(static_cast<int64_t>(pq_bytes_), std::memory_order_relaxed);
  pq_ = {};
  pq_bytes_ = 0;
}

std::string EioConnection::take_payload_locked(std::shared_ptr<void>& hold) {
  const uint64_t before = pq_bytes_;
  std::string body;
  size_t taken = 0;
  for (const ws::Frame& f : pq_) {
    pq_bytes_ -= std::min<uint64_t>(pq_bytes_, f->size());
    bool binary = false;
    std::string_view payload;
    if (frame_payload(*f, binary, payload)) engineio::append_to_payload(body, taken++, binary, payload);
  }
  if (const uint64_t moved = before - pq_bytes_; moved > 0) {
    poll_inflight_ += moved;
    hold = std::make_shared<PollBytes>(shared_from_this(), moved);
  }
  pq_.clear();
  return body;
}

void EioConnection::schedule_flush_locked() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  // Posted, not run inline: messages queued in the same burst leave in one response.
  net::post(strand_, [self = shared_from_this()] { self->flush_poll(); });
}

void EioConnection::flush_poll() {
  std::shared_ptr<PollingExchange> get;
  std::string body;
  std::shared_ptr<void> hold;
  {
    std::lock_guard lk(mu_);
    flush_scheduled_ = false;
    if (!get_ || mode_ != Mode::Polling) return;
    if (pq_.empty()) return;
    body = take_payload_locked(hold);
    get = std::move(get_);
  }
  get->reply(200, std::string(kGetType), std::move(body), std::move(hold));
}

void EioConnection::poll_noop() {
  std::shared_ptr<PollingExchange> get;
  {
    std::lock_guard lk(mu_);
    // With messages queued, the flush already scheduled ends the GET with them.
    if (!get_ || mode_ != Mode::Polling || !pq_.empty()) return;
    get = std::move(get_);
  }
  get->reply(200, std::string(kGetType), "6");
}

bool EioConnection::polling_active() {
  std::lock_guard lk(mu_);
  return (accepting_ && mode_ == Mode::Polling) || closing_poll_;
}

void EioConnection::poll_get(std::shared_ptr<PollingExchange> x) {
  net::dispatch(strand_, [self = shared_from_this(), x = std::move(x)]() mutable {
    std::unique_lock lk(self->mu_);
    if (self->closing_poll_) {
      // Closed by the server: deliver what is left, then (in a payload of its own) the close packet.
      if (!self->pq_.empty()) {
        std::shared_ptr<void> hold;
        std::string body = self->take_payload_locked(hold);
        lk.unlock();
        x->reply(200, std::string(kGetType), std::move(body), std::move(hold));
        return;
      }
      self->closing_poll_ = false;
      lk.unlock();
      self->end_close_grace();
      x->reply(200, std::string(kGetType), "1");
      return;
    }
    if (!self->accepting_ || self->mode_ != Mode::Polling) {
      lk.unlock();
      x->reply(400, "application/json", bad_request());
      return;
    }
    if (self->get_) {
      // Two GETs at once (engine.io: "overlap from client"): the session ends with a transport
      // error, the held GET gets the close packet and the new one a 400.
      lk.unlock();
      self->do_close("transport error", false);
      x->reply(400, "application/json", bad_request());
      return;
    }
    self->get_ = std::move(x);
    if (!self->pq_.empty()) self->schedule_flush_locked();
  });
}

void EioConnection::poll_aborted(const PollingExchange* x) {
  net::dispatch(strand_, [self = shared_from_this(), x] {
    {
      std::lock_guard lk(self->mu_);
      if (self->get_.get() != x) return;  // already answered
      self->get_.reset();
    }
    // engine.io: "poll connection closed prematurely" is a transport error.
    self->do_close("transport error", false);
  });
}

void EioConnection::poll_post(std::shared_ptr<PollingExchange> x, std::string body) {
  net::dispatch(strand_, [self = shared_from_this(), x = std::move(x), body = std::move(body)]() mutable {
    if (self->closed_) {
      // Closed by the server and waiting for the last GET: the client's own close packet and
      // whatever else it sends are accepted and ignored.
      std::unique_lock lk(self->mu_);
      const bool waiting = self->closing_poll_;
      lk.unlock();
      if (waiting) {
        x->reply(200, std::string(kPostType), "ok");
        return;
      }
    }
    if (self->closed_ || !self->polling_active()) {
      x->reply(400, "application/json", bad_request());
      return;
    }
    if (self->post_) {
      // engine.io: "data request overlap from client".
      self->do_close("transport error", false);
      x->reply(400, "application/json", bad_request());
      return;
    }
    self->post_ = x;
    std::vector<engineio::PollingPacket> packets;
    const bool ok = engineio::decode_payload(body, packets);
    // Packets before a bad one are still handled, as engine.io-parser's decodePayload yields them.
    for (auto& p : packets) {
      if (self->closed_) break;
      self->server_->messages_in.fetch_add(1, std::memory_order_relaxed);
      if (p.binary) {
        self->on_packet_binary(std::move(p.data));
      } else {
        self->on_packet_text(p.data);
      }
    }
    if (!ok) {
      self->do_close("parse error", false);
      x->reply(400, "application/json", bad_request());
      return;
    }
    if (!self->closed_) {
      std::weak_ptr<EioConnection> weak = self;
      const bool over = self->server_->to_host->pause_if_over(self->id_, [&] {
        return std::function<void()>([weak] {
          if (auto s = weak.lock()) net::post(s->strand_, [s] { s->release_post(); });
        });
      });
      if (over) {
        self->post_held_ = std::move(x);
        return;
      }
    }
    x->reply(200, std::string(kPostType), "ok");
  });
}

void EioConnection::release_post() {
  if (auto x = std::move(post_held_)) x->reply(200, std::string(kPostType), "ok");
}

void EioConnection::poll_post_done(const PollingExchange* x) {
  net::dispatch(strand_, [self = shared_from_this(), x] {
    if (self->post_.get() == x) self->post_.reset();
  });
}

}  // namespace collabio::core
