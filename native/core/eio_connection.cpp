#include "core/eio_connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "engineio/packet.h"
#include "socketio/packet.h"

namespace collabio::core {

namespace {
constexpr size_t kReadChunk = 64 * 1024;
// Upper bound of frames per gather write (writev takes at most IOV_MAX = 1024 buffers).
constexpr size_t kMaxFramesPerWrite = 512;
// How long a closing connection waits for the peer's close frame / EOF before dropping the socket.
constexpr int kCloseGraceMs = 1000;
}  // namespace

void start_eio_connection(const std::shared_ptr<ServerImpl>& server, tcp::socket socket,
                          std::shared_ptr<const Handshake> handshake, std::string http_response,
                          std::string leftover) {
  auto c = std::make_shared<EioConnection>(server, std::move(socket), std::move(handshake));
  server->register_connection(c);
  c->start(std::move(http_response), std::move(leftover));
}

EioConnection::EioConnection(std::shared_ptr<ServerImpl> server, tcp::socket socket,
                             std::shared_ptr<const Handshake> hs)
    : server_(std::move(server)),
      id_(server_->next_connection_id()),
      handshake_(std::move(hs)),
      socket_(std::move(socket)),
      // A client message can span several frames plus headers; the parser enforces the limit.
      parser_(server_->opts.max_http_buffer_size),
      ping_timer_(socket_.get_executor()),
      connect_timer_(socket_.get_executor()) {}

void EioConnection::start(std::string http_response, std::string leftover) {
  // Called on the strand that owns the socket (the HTTP session's last handler ran there).
  rbuf_.resize(std::max(kReadChunk, leftover.size()));
  std::copy(leftover.begin(), leftover.end(), rbuf_.begin());
  rlen_ = leftover.size();

  const auto& o = server_->opts;
  const std::string open = engineio::open_packet(engineio::generate_sid(), false, o.ping_interval,
                                                 o.ping_timeout, o.max_http_buffer_size);
  const ws::Frame first[2] = {std::make_shared<const std::string>(std::move(http_response)),
                              ws::make_frame(ws::Opcode::Text, open)};
  enqueue(first, 2, false);

  schedule_ping(o.ping_interval, false);
  connect_timer_.expires_after(std::chrono::milliseconds(o.connect_timeout));
  connect_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->closing_) return;
    bool any;
    {
      std::lock_guard lk(self->mu_);
      any = self->any_namespace_;
    }
    // socket.io closes a client that joined no namespace in time (Client#setup connectTimeout).
    if (!any) self->do_close(ws::kPolicyViolation, "forced close", false);
  });

  if (rlen_ > 0) {
    on_read({}, 0);
  } else {
    do_read();
  }
}

// ---------------------------------------------------------------------------------------------
// Reading

void EioConnection::do_read() {
  if (rbuf_.size() - rlen_ < kReadChunk / 2) rbuf_.resize(rlen_ + kReadChunk);
  socket_.async_read_some(net::buffer(rbuf_.data() + rlen_, rbuf_.size() - rlen_),
                          [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                            self->on_read(ec, n);
                          });
}

void EioConnection::on_read(boost::system::error_code ec, size_t n) {
  if (ec) {
    if (closing_) {
      finish_close();
      return;
    }
    // EOF or reset without a close frame: the transport went away.
    do_close(ws::kGoingAway, ec == net::error::eof ? "transport close" : "transport error", true);
    finish_close();
    return;
  }
  rlen_ += n;
  if (closing_) {
    // Draining until the peer closes; its bytes no longer matter.
    rlen_ = 0;
    do_read();
    return;
  }
  const size_t used = parser_.feed(rbuf_.data(), rlen_, *this);
  if (used == ws::Parser::npos) {
    do_close(parser_.error_code(), "transport error", true);
    do_read();
    return;
  }
  if (used > 0) {
    std::memmove(rbuf_.data(), rbuf_.data() + used, rlen_ - used);
    rlen_ -= used;
  }
  // Keep memory bounded: a half-received frame may need the buffer to grow up to the message
  // limit; after it completes, shrink back.
  if (rlen_ == 0 && rbuf_.size() > 4 * kReadChunk) {
    rbuf_.resize(kReadChunk);
    rbuf_.shrink_to_fit();
  }
  if (closing_) {
    do_read();  // wait for EOF after our close frame
    return;
  }
  do_read();
}

void EioConnection::on_ping(std::string_view payload) {
  const ws::Frame f = ws::make_frame(ws::Opcode::Pong, payload);
  enqueue(&f, 1, false);
}

void EioConnection::on_pong(std::string_view) {}

void EioConnection::on_close(uint16_t code, std::string_view) {
  // Echo the close (RFC 6455 5.5.1) and end the session.
  do_close(code == 1005 || code == 1006 || code == 1015 ? static_cast<uint16_t>(ws::kNormal) : code, "transport close", false);
}

void EioConnection::on_message(bool binary, std::string&& payload) {
  if (closing_) return;
  server_->messages_in.fetch_add(1, std::memory_order_relaxed);
  if (binary) {
    // A binary Engine.IO message is a Socket.IO attachment; one is expected only while a
    // BINARY_EVENT/BINARY_ACK is being reassembled (socket.io-parser: "got binary data when not
    // reconstructing a packet").
    if (!pending_) {
      do_close(ws::kPolicyViolation, "parse error", true);
      return;
    }
    pending_->ev.attachments.push_back(std::move(payload));
    if (--pending_->remaining == 0) {
      Event ev = std::move(pending_->ev);
      pending_.reset();
      std::string err;
      if (!socketio::check_placeholders(ev.data, static_cast<uint32_t>(ev.attachments.size()), err)) {
        do_close(ws::kPolicyViolation, "parse error", true);
        return;
      }
      deliver(std::move(ev));
    }
    return;
  }
  on_text_packet(payload);
}

void EioConnection::on_text_packet(std::string_view text) {
  engineio::PacketType type;
  std::string_view data;
  if (!engineio::parse_text_packet(text, type, data)) {
    do_close(ws::kPolicyViolation, "parse error", true);
    return;
  }
  switch (type) {
    case engineio::PacketType::Pong:
      if (awaiting_pong_) schedule_ping(server_->opts.ping_interval, false);
      return;
    case engineio::PacketType::Message:
      if (pending_) {
        // A text packet while attachments are awaited breaks the reassembly.
        do_close(ws::kPolicyViolation, "parse error", true);
        return;
      }
      on_socketio_packet(data);
      return;
    case engineio::PacketType::Close:
      do_close(ws::kNormal, "transport close", false);
      return;
    case engineio::PacketType::Ping:
      if (data == "probe") {
        // Upgrade probe on a WebSocket that already carries the session: answer like engine.io.
        const ws::Frame f = ws::make_frame(ws::Opcode::Text, "3probe");
        enqueue(&f, 1, false);
        return;
      }
      // In v4 only the server pings (engine.io: "invalid heartbeat direction").
      do_close(ws::kPolicyViolation, "transport error", true);
      return;
    case engineio::PacketType::Upgrade:
    case engineio::PacketType::Noop:
      return;
    case engineio::PacketType::Open:
      do_close(ws::kPolicyViolation, "parse error", true);
      return;
  }
}

void EioConnection::on_socketio_packet(std::string_view text) {
  socketio::Packet p;
  std::string err;
  if (!socketio::parse_packet(text, p, err, server_->opts.max_attachments)) {
    do_close(ws::kPolicyViolation, "parse error", true);
    return;
  }
  using T = socketio::PacketType;
  switch (p.type) {
    case T::Connect: {
      Event ev{Event::kConnect, id_, std::move(p.nsp), std::string(p.data), -1, {}, handshake_};
      deliver(std::move(ev));
      return;
    }
    case T::Disconnect: {
      if (!namespace_connected(p.nsp)) return;
      set_namespace(p.nsp, false);
      Event ev{Event::kNspDisconnect, id_, p.nsp, {}, -1, {}, nullptr};
      deliver(std::move(ev));
      server_->disconnect(id_, std::move(p.nsp), {}, false);
      return;
    }
    case T::Event:
    case T::BinaryEvent:
    case T::Ack:
    case T::BinaryAck: {
      // socket.io ignores packets for a namespace the client has not joined.
      if (!namespace_connected(p.nsp)) return;
      const bool is_event = p.type == T::Event || p.type == T::BinaryEvent;
      const int64_t ack = p.id ? static_cast<int64_t>(*p.id & 0x1FFFFFFFFFFFFFull) : -1;
      if (!is_event && !p.id) {
        do_close(ws::kPolicyViolation, "parse error", true);
        return;
      }
      Event ev{is_event ? Event::kEvent : Event::kAck, id_, std::move(p.nsp), std::string(p.data), ack, {}, nullptr};
      if (p.attachments > 0) {
        ev.attachments.reserve(p.attachments);
        pending_ = PendingBinary{std::move(ev), p.attachments};
        return;
      }
      deliver(std::move(ev));
      return;
    }
    case T::ConnectError:
      // Only servers send CONNECT_ERROR.
      do_close(ws::kPolicyViolation, "parse error", true);
      return;
  }
}

void EioConnection::deliver(Event&& ev) { server_->push_event(std::move(ev)); }

bool EioConnection::namespace_connected(const std::string& nsp) {
  std::lock_guard lk(mu_);
  return namespaces_.count(nsp) != 0;
}

void EioConnection::set_namespace(const std::string& nsp, bool connected) {
  std::lock_guard lk(mu_);
  if (connected) {
    namespaces_.insert(nsp);
    any_namespace_ = true;
  } else {
    namespaces_.erase(nsp);
  }
}

// ---------------------------------------------------------------------------------------------
// Heartbeat (Engine.IO v4: the server pings, the client answers)

void EioConnection::schedule_ping(uint32_t delay_ms, bool expect_pong) {
  awaiting_pong_ = expect_pong;
  const uint64_t gen = ++ping_generation_;
  ping_timer_.expires_after(std::chrono::milliseconds(delay_ms));
  ping_timer_.async_wait([self = shared_from_this(), gen](boost::system::error_code ec) {
    if (ec || self->closing_ || gen != self->ping_generation_) return;
    if (self->awaiting_pong_) {
      self->do_close(ws::kPolicyViolation, "ping timeout", true);
      return;
    }
    static const ws::Frame ping = ws::make_frame(ws::Opcode::Text, "2");
    self->enqueue(&ping, 1, false);
    self->schedule_ping(self->server_->opts.ping_timeout, true);
  });
}

// ---------------------------------------------------------------------------------------------
// Writing

bool EioConnection::enqueue(const ws::Frame* frames, size_t n, bool is_volatile) {
  size_t bytes = 0;
  for (size_t i = 0; i < n; ++i) bytes += frames[i]->size();
  bool post = false;
  bool overflow = false;
  {
    std::lock_guard lk(mu_);
    if (!accepting_) return false;
    if (is_volatile && (write_scheduled_ || !queue_.empty())) return false;
    if (queued_bytes_ + bytes > server_->opts.max_outbound_bytes) {
      overflow = true;
      accepting_ = false;
    } else {
      for (size_t i = 0; i < n; ++i) queue_.push_back(frames[i]);
      queued_bytes_ += bytes;
      if (!write_scheduled_) {
        write_scheduled_ = true;
        post = true;
      }
    }
  }
  if (overflow) {
    net::post(socket_.get_executor(), [self = shared_from_this()] {
      self->do_close(ws::kPolicyViolation, "slow consumer", true);
    });
    return false;
  }
  server_->bytes_queued.fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed);
  server_->messages_out.fetch_add(n, std::memory_order_relaxed);
  if (post) net::post(socket_.get_executor(), [self = shared_from_this()] { self->do_write(); });
  return true;
}

void EioConnection::do_write() {
  if (socket_closed_) return;
  std::vector<net::const_buffer> bufs;
  {
    std::lock_guard lk(mu_);
    if (queue_.empty()) {
      write_scheduled_ = false;
      if (close_queued_) {
        // The close frame went out: half-close and wait for the peer (bounded by the grace timer).
        boost::system::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_send, ignored);
      }
      return;
    }
    const size_t k = std::min(queue_.size(), kMaxFramesPerWrite);
    inflight_.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + k));
    queue_.erase(queue_.begin(), queue_.begin() + k);
  }
  bufs.reserve(inflight_.size());
  for (const auto& f : inflight_) bufs.emplace_back(f->data(), f->size());
  // One gather write for everything queued: the corking that keeps syscalls per delivery low.
  net::async_write(socket_, bufs, [self = shared_from_this()](boost::system::error_code ec, size_t n) {
    self->on_write(ec, n);
  });
}

void EioConnection::on_write(boost::system::error_code ec, size_t n) {
  {
    std::lock_guard lk(mu_);
    queued_bytes_ -= n;
  }
  server_->bytes_queued.fetch_sub(static_cast<int64_t>(n), std::memory_order_relaxed);
  inflight_.clear();
  if (ec) {
    if (!closing_) do_close(ws::kGoingAway, "transport error", true);
    finish_close();
    return;
  }
  do_write();
}

// ---------------------------------------------------------------------------------------------
// Closing

void EioConnection::close(uint16_t code, std::string reason) {
  net::post(socket_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)] {
    self->do_close(code, reason, false);
  });
}

void EioConnection::do_close(uint16_t code, const std::string& reason, bool drop_queue) {
  if (closing_) return;
  closing_ = true;
  pending_.reset();
  ping_timer_.cancel();
  connect_timer_.cancel();
  bool post = false;
  {
    std::lock_guard lk(mu_);
    accepting_ = false;
    if (drop_queue) {
      for (const auto& f : queue_) queued_bytes_ -= f->size();
      queue_.clear();
    }
    queue_.push_back(std::make_shared<const std::string>(ws::encode_close(code, reason == "transport close" ? "" : reason)));
    queued_bytes_ += queue_.back()->size();
    close_queued_ = true;
    namespaces_.clear();
    if (!write_scheduled_) {
      write_scheduled_ = true;
      post = true;
    }
  }
  if (post) net::post(socket_.get_executor(), [self = shared_from_this()] { self->do_write(); });
  // Bound the close handshake.
  ping_timer_.expires_after(std::chrono::milliseconds(kCloseGraceMs));
  ping_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->finish_close();
  });
  if (!close_reported_) {
    close_reported_ = true;
    Event ev{Event::kClose, id_, {}, reason, -1, {}, nullptr};
    server_->push_event(std::move(ev));
    server_->connection_closed(id_);
  }
}

void EioConnection::finish_close() {
  if (socket_closed_) return;
  socket_closed_ = true;
  ping_timer_.cancel();
  connect_timer_.cancel();
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  {
    std::lock_guard lk(mu_);
    server_->bytes_queued.fetch_sub(static_cast<int64_t>(queued_bytes_), std::memory_order_relaxed);
    queued_bytes_ = 0;
    queue_.clear();
    accepting_ = false;
  }
}

}  // namespace collabio::core
