#include "core/ws_connection.h"

#include <array>
#include <cstring>

#include <boost/asio/defer.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "core/handler_memory.h"

namespace collabio::core {

namespace {
constexpr size_t kReadChunk = 64 * 1024;
// Upper bound of frames per gather write (writev takes at most IOV_MAX = 1024 buffers).
constexpr size_t kMaxFramesPerWrite = 512;
// How long a closing connection waits for the peer's close frame / EOF before dropping the socket.
constexpr int kCloseGraceMs = 1000;
}  // namespace

WsConnection::WsConnection(Kind kind, std::shared_ptr<ServerImpl> server, tcp::socket socket, uint64_t max_message,
                           ws::Deflate deflate)
    : server_(std::move(server)),
      kind_(kind),
      id_(server_->next_connection_id()),
      deflate_(deflate),
      socket_(std::move(socket)),
      parser_(max_message, deflate.enabled),
      close_timer_(socket_.get_executor()) {}

void WsConnection::start(std::vector<ws::Frame> first, std::string leftover) {
  // Reads wait for readability and then read into a per-thread buffer, so an idle connection owns
  // no read buffer at all; only bytes of an incomplete frame are kept per connection (pending_).
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
  if (!first.empty()) enqueue(first.data(), first.size(), false);
  on_started();
  if (closing_) return;
  if (!leftover.empty()) consume(reinterpret_cast<const uint8_t*>(leftover.data()), leftover.size());
  read_on();
}

// ---------------------------------------------------------------------------------------------
// Reading

void WsConnection::do_read() {
  // An idle connection spends its life in this wait: its operation gets memory of its own size
  // (core/handler_memory.h).
  socket_.async_wait(tcp::socket::wait_read, exact_memory([self = shared_from_this()](boost::system::error_code ec) {
                       self->on_readable(ec);
                     }));
}

void WsConnection::on_readable(boost::system::error_code ec) {
  // One chunk per wake-up keeps a busy connection from starving the others on this thread.
  thread_local std::vector<uint8_t> chunk(kReadChunk);
  size_t n = 0;
  if (!ec) n = socket_.read_some(net::buffer(chunk), ec);
  if (ec == net::error::would_block || ec == net::error::try_again) {
    do_read();
    return;
  }
  if (ec) {
    // EOF or reset without a close frame: the transport went away.
    if (!closing_) do_close(ws::kGoingAway, ec == net::error::eof ? "transport close" : "transport error", true);
    finish_close();
    return;
  }
  consume(chunk.data(), n);
  read_on();
}

void WsConnection::read_on() {
  if (closing_ || socket_closed_) {
    do_read();  // a closing connection reads only to see the peer's close; nothing is handed on
    return;
  }
  // The resume callback may run on any thread, after this connection is gone: it holds it weakly
  // and comes back to the strand. It is made only when the connection pauses.
  const bool paused = pause_reading([this] {
    return std::function<void()>([weak = weak_from_this()] {
      if (auto self = weak.lock()) net::post(self->socket_.get_executor(), [self] { self->resume_reading(); });
    });
  });
  if (paused) {
    read_paused_ = true;
    return;
  }
  read_next();
}

void WsConnection::read_next() {
  if (!closing_ && parser_.yielded()) {
    // The last step stopped at its bound before a whole frame, kept in pending_, that no new input
    // would ever push through. It gets a handler of its own, as a read would: one step per
    // wake-up, so a compressed backlog does not hold this thread for long.
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->on_kept(); });
    return;
  }
  do_read();
}

void WsConnection::on_kept() {
  consume(nullptr, 0);
  read_on();
}

void WsConnection::resume_reading() {
  if (!read_paused_) return;  // a close resumed it already
  read_paused_ = false;
  read_next();
}

void WsConnection::consume(const uint8_t* data, size_t n) {
  if (closing_) {
    pending_.clear();  // draining until the peer closes; its bytes no longer matter
    return;
  }
  // One step hands on at most about kReadChunk bytes of messages (at least one whole message),
  // inflated ones included: the inbound budget is asked after each step (read_on), so a paused
  // connection holds at most its share plus about one step, whatever the compression ratio.
  size_t used;
  if (pending_.empty()) {
    used = parser_.feed(data, n, *this, kReadChunk);
    if (used != ws::Parser::npos && used < n) pending_.assign(data + used, data + n);
  } else {
    if (n > 0) pending_.insert(pending_.end(), data, data + n);
    used = parser_.feed(pending_.data(), pending_.size(), *this, kReadChunk);
    if (used != ws::Parser::npos) pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(used));
  }
  if (used == ws::Parser::npos) {
    pending_.clear();
    do_close(parser_.error_code(), "transport error", true);
    return;
  }
  // A large frame may have grown the buffer up to the message limit; give the memory back.
  if (pending_.empty() && pending_.capacity() > kReadChunk) std::vector<uint8_t>().swap(pending_);
}

void WsConnection::on_message(bool binary, std::string&& payload) {
  if (closing_) return;
  server_->messages_in.fetch_add(1, std::memory_order_relaxed);
  on_ws_message(binary, std::move(payload));
}

void WsConnection::on_ping(std::string_view payload) { enqueue(ws::make_frame(ws::Opcode::Pong, payload)); }

void WsConnection::on_pong(std::string_view) { on_ws_pong(); }

void WsConnection::on_close(uint16_t code, std::string_view) {
  // Echo the close (RFC 6455 5.5.1); codes that must not appear on the wire become 1000.
  const bool reserved = code == 1005 || code == 1006 || code == 1015;
  do_close(reserved ? static_cast<uint16_t>(ws::kNormal) : code, "transport close", false);
}

// ---------------------------------------------------------------------------------------------
// Writing

bool WsConnection::enqueue(const ws::Frame* frames, size_t n, bool is_volatile) {
  // A packet and its attachments: usually a few frames, held without allocating.
  constexpr size_t kInline = 8;
  std::array<ws::Frame, kInline> inline_frames;
  std::vector<ws::Frame> more_frames;
  if (deflate_.enabled && deflate_.context_takeover) return enqueue_own_stream(frames, n, is_volatile);
  if (deflate_.enabled) {
    ws::Frame* out = inline_frames.data();
    if (n > kInline) {
      more_frames.resize(n);
      out = more_frames.data();
    }
    bool any = false;
    for (size_t i = 0; i < n; ++i) {
      const ws::OutFrame& f = *frames[i];
      if (f.compressible() && f.payload().size() >= deflate_.threshold) out[i] = f.deflated(deflate_.window_bits, deflate_.level);
      any = any || out[i];
      if (!out[i]) out[i] = frames[i];
    }
    if (any) frames = out;
  }
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
  if (post) schedule_write();
  return true;
}

namespace {
// Writes scheduled by enqueue() on one I/O thread while a handler runs (a document's relay, a
// broadcast's loop) start together, from one task per kWritesPerTask connections, queued on this
// thread (defer) to run after the handler. The task dispatches each connection's do_write onto its
// strand: inside the task when the strand is idle (the common case), after the strand's current
// handler otherwise.
//
// Why not one deferred do_write per connection: when the scheduler starts a handler and finds
// others queued behind it, it wakes another I/O thread (a futex, or an epoll interrupt). A Yjs
// update relayed to 9 editors cost such a wake-up, for writes that take microseconds. One task
// per small fan-out wakes nobody; a large fan-out (a broadcast to thousands) still spreads over
// the pool, one task per chunk.
constexpr size_t kWritesPerTask = 64;

struct WriteBatch {
  std::mutex mu;
  std::vector<std::shared_ptr<WsConnection>> conns;  // guarded by mu
  bool taken = false;                                // guarded by mu: the task has started
};
// The batch this thread is filling (owner: the thread). The task may run on another I/O thread
// while this one goes on: `taken` tells this thread to start a new batch.
thread_local std::shared_ptr<WriteBatch> t_batch;
}  // namespace

void WsConnection::schedule_write() {
  auto pool = server_->ioc.get_executor();
  if (!pool.running_in_this_thread()) {
    // A foreign thread (the JavaScript thread, the store's): hand the write to the pool.
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->do_write(); });
    return;
  }
  if (t_batch) {
    std::lock_guard lk(t_batch->mu);
    if (!t_batch->taken && t_batch->conns.size() < kWritesPerTask) {
      t_batch->conns.push_back(shared_from_this());
      return;
    }
  }
  t_batch = std::make_shared<WriteBatch>();
  t_batch->conns.push_back(shared_from_this());
  net::defer(pool, [batch = t_batch] {
    std::vector<std::shared_ptr<WsConnection>> conns;
    {
      std::lock_guard lk(batch->mu);
      batch->taken = true;
      conns.swap(batch->conns);
    }
    for (auto& c : conns) net::dispatch(c->socket_.get_executor(), [c] { c->do_write(); });
  });
}

bool WsConnection::enqueue_own_stream(const ws::Frame* frames, size_t n, bool is_volatile) {
  // Context takeover: each message is compressed against the previous ones of this connection, so
  // compression happens under mu_, after the volatile check (a dropped message must not advance
  // the stream) and in the order the frames go on the wire.
  std::vector<ws::Frame> out(frames, frames + n);
  size_t bytes = 0;
  bool post = false;
  bool overflow = false;
  bool failed = false;
  {
    std::lock_guard lk(mu_);
    if (!accepting_) return false;
    if (is_volatile && (write_scheduled_ || !queue_.empty())) return false;
    for (auto& f : out) {
      if (!f->compressible() || f->payload().size() < deflate_.threshold) continue;
      if (!deflater_) deflater_ = std::make_unique<ws::ContextDeflater>(deflate_.window_bits, deflate_.level);
      const std::string body = deflater_->compress(f->payload());
      if (body.empty()) {
        failed = true;
        break;
      }
      f = ws::make_compressed_frame(*f, body);
    }
    for (const auto& f : out) bytes += f->size();
    if (failed) {
      accepting_ = false;
    } else if (queued_bytes_ + bytes > server_->opts.max_outbound_bytes) {
      overflow = true;
      accepting_ = false;
    } else {
      for (auto& f : out) queue_.push_back(std::move(f));
      queued_bytes_ += bytes;
      if (!write_scheduled_) {
        write_scheduled_ = true;
        post = true;
      }
    }
  }
  if (failed || overflow) {
    net::post(socket_.get_executor(), [self = shared_from_this(), failed] {
      self->do_close(failed ? ws::kInternalError : ws::kPolicyViolation, failed ? "compression failed" : "slow consumer", true);
    });
    return false;
  }
  server_->bytes_queued.fetch_add(static_cast<int64_t>(bytes), std::memory_order_relaxed);
  server_->messages_out.fetch_add(n, std::memory_order_relaxed);
  if (post) schedule_write();
  return true;
}

void WsConnection::do_write() {
  // The socket is non-blocking: each batch is first written right here; only what the kernel does
  // not take at once (a full send buffer: a slow reader) goes to an async_write. A delivery that
  // fits therefore costs one sendmsg and no completion handler on the strand.
  thread_local std::vector<net::const_buffer> bufs;
  size_t done = 0;  // bytes of the previous batch, accounted under the next lock
  while (!socket_closed_) {
    {
      std::lock_guard lk(mu_);
      account_written(done);
      if (queue_.empty()) {
        write_scheduled_ = false;
        if (close_queued_) {
          // The close frame went out: half-close and wait for the peer (bounded by close_timer_).
          boost::system::error_code ignored;
          socket_.shutdown(tcp::socket::shutdown_send, ignored);
        }
        return;
      }
      const size_t k = std::min(queue_.size(), kMaxFramesPerWrite);
      inflight_.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + k));
      queue_.erase(queue_.begin(), queue_.begin() + k);
    }
    bufs.clear();
    size_t total = 0;
    for (const auto& f : inflight_) {
      bufs.emplace_back(f->data(), f->size());
      total += f->size();
    }
    boost::system::error_code ec;
    const size_t n = socket_.write_some(bufs, ec);
    if (ec && ec != net::error::would_block && ec != net::error::try_again) {
      on_write(ec, 0);
      return;
    }
    if (n < total) {
      written(n);
      write_rest(n);
      return;
    }
    done = n;
    release_inflight();
  }
}

void WsConnection::write_rest(size_t done) {
  // One gather write for what is left of the batch after `done` bytes; on_write() continues with
  // the queue.
  auto rest = std::make_shared<std::vector<net::const_buffer>>();
  for (const auto& f : inflight_) {
    if (done >= f->size()) {
      done -= f->size();
      continue;
    }
    rest->emplace_back(f->data() + done, f->size() - done);
    done = 0;
  }
  net::async_write(socket_, *rest, [self = shared_from_this(), rest](boost::system::error_code ec, size_t n) {
    self->on_write(ec, n);
  });
}

void WsConnection::written(size_t n) {
  std::lock_guard lk(mu_);
  account_written(n);
}

void WsConnection::release_inflight() {
  // A megabyte frame (a newcomer's copy of a document) freed here leaves its pages in malloc's
  // arenas: the server gives them back once such frames stop coming (large_buffer_freed).
  bool large = false;
  for (const auto& f : inflight_) large = large || (f->size() >= kTrimAfterBytes && f.use_count() == 1);
  inflight_.clear();
  if (large) server_->large_buffer_freed();
}

void WsConnection::account_written(size_t n) {
  // finish_close() may already have released everything this connection counted.
  const uint64_t w = std::min<uint64_t>(n, queued_bytes_);
  queued_bytes_ -= w;
  server_->bytes_queued.fetch_sub(static_cast<int64_t>(w), std::memory_order_relaxed);
}

void WsConnection::on_write(boost::system::error_code ec, size_t n) {
  written(n);
  release_inflight();
  if (ec) {
    if (!closing_) do_close(ws::kGoingAway, "transport error", true);
    finish_close();
    return;
  }
  do_write();
}

// ---------------------------------------------------------------------------------------------
// Closing

void WsConnection::close(uint16_t code, std::string reason) {
  net::post(socket_.get_executor(), [self = shared_from_this(), code, reason = std::move(reason)] {
    self->do_close(code, reason, false);
  });
}

void WsConnection::do_close(uint16_t code, const std::string& reason, bool drop_queue) {
  if (closing_) return;
  closing_ = true;
  // A connection paused for backpressure reads again, to see the peer's close frame.
  if (read_paused_ && !socket_closed_) resume_reading();
  bool post = false;
  {
    std::lock_guard lk(mu_);
    accepting_ = false;
    if (drop_queue) {
      uint64_t dropped = 0;
      for (const auto& f : queue_) dropped += f->size();
      queued_bytes_ -= dropped;
      server_->bytes_queued.fetch_sub(static_cast<int64_t>(dropped), std::memory_order_relaxed);
      queue_.clear();
    }
    // The reason travels in the close frame unless the peer closed first.
    auto frame = ws::raw_bytes(ws::encode_close(code, reason == "transport close" ? "" : reason));
    queued_bytes_ += frame->size();
    server_->bytes_queued.fetch_add(static_cast<int64_t>(frame->size()), std::memory_order_relaxed);
    queue_.push_back(std::move(frame));
    close_queued_ = true;
    if (!write_scheduled_) {
      write_scheduled_ = true;
      post = true;
    }
  }
  if (post) net::post(socket_.get_executor(), [self = shared_from_this()] { self->do_write(); });
  // During a shutdown the peer gets Options::close_timeout to take what is queued and to answer:
  // this is what bounds close() however slowly (or not at all) a peer reads.
  const int64_t grace_ms = server_->closing() ? int64_t{server_->opts.close_timeout} : int64_t{kCloseGraceMs};
  close_timer_.expires_after(std::chrono::milliseconds(grace_ms));
  close_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->finish_close();
  });
  on_closed(reason);
  server_->connection_closed(id_);
}

void WsConnection::finish_close() {
  if (socket_closed_) return;
  socket_closed_ = true;
  close_timer_.cancel();
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  std::lock_guard lk(mu_);
  server_->bytes_queued.fetch_sub(static_cast<int64_t>(queued_bytes_), std::memory_order_relaxed);
  queued_bytes_ = 0;
  queue_.clear();
  accepting_ = false;
}

}  // namespace collabio::core
