#include <fcntl.h>
#include <malloc.h>

#include <optional>
#include <stdexcept>

#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>

#include "core/documents.h"
#include "core/eio_registry.h"
#include "core/eio_connection.h"
#include "core/hocuspocus_connection.h"
#include "core/yjs_connection.h"
#include "core/server_impl.h"
#include "redis/url.h"
#include "sio/redis_adapter.h"
#include "sio/socket_io_server.h"

namespace collabio::core {

namespace {

// Asio opens and accepts sockets without close-on-exec (it calls socket() and accept(), not
// accept4()). A child process the application spawns (child_process.exec) would then inherit the
// listener and every connection, keep the port bound after close() and keep clients connected
// after their socket is closed. Node's own sockets are all close-on-exec; ours must be too.
void set_close_on_exec(int fd) {
  if (fd >= 0) ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ServerImpl

ServerImpl::ServerImpl(Options options, EventSink* sink)
    : opts(std::move(options)),
      ioc(),
      to_host(std::make_shared<InboundBudget>(
          InboundBudget::Limits{opts.max_inbound_bytes, opts.max_inbound_events, opts.max_inbound_bytes_total})),
      to_documents(std::make_shared<InboundBudget>(
          InboundBudget::Limits{opts.max_inbound_bytes, opts.max_inbound_events, opts.max_inbound_bytes_total})),
      sink_(sink),
      acceptor_(ioc),
      cmd_(net::make_strand(ioc)),
      accept_timer_(cmd_),
      trim_timer_(cmd_),
      rate_limiter_(opts.connection_rate, opts.connection_burst, opts.rate_limit_loopback),
      sio_(std::make_unique<sio::SocketIoServer>(*this, *this)) {
  if (opts.documents.enabled) docs = std::make_shared<DocumentManager>(*this, opts.documents);
}

ServerImpl::~ServerImpl() { join_threads(); }

Server::Address ServerImpl::listen(const std::string& host, uint16_t port) {
  if (listening_) throw std::system_error(std::make_error_code(std::errc::already_connected), "already listening");
  boost::system::error_code ec;
  tcp::endpoint ep;
  if (host.empty() || host == "::") {
    ep = tcp::endpoint(net::ip::address_v6::any(), port);
  } else {
    const auto addr = net::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
    if (ec) throw std::system_error(ec, "invalid host '" + host + "'");
    ep = tcp::endpoint(addr, port);
  }
  auto try_open = [&](const tcp::endpoint& e) {
    boost::system::error_code err;
    acceptor_.open(e.protocol(), err);
    if (err) return err;
    set_close_on_exec(acceptor_.native_handle());
    acceptor_.set_option(net::socket_base::reuse_address(true), err);
    if (e.address().is_v6()) acceptor_.set_option(net::ip::v6_only(false), err);
    acceptor_.bind(e, err);
    if (!err) acceptor_.listen(net::socket_base::max_listen_connections, err);
    if (err) {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
    }
    return err;
  };
  ec = try_open(ep);
  if (ec && (host.empty() || host == "::") && ec != net::error::address_in_use) {
    ep = tcp::endpoint(net::ip::address_v4::any(), port);  // no IPv6 on this machine
    ec = try_open(ep);
  }
  if (ec) throw std::system_error(ec, "listen " + (host.empty() ? std::string("::") : host) + ":" + std::to_string(port));
  if (opts.tls.enabled()) {
    try {
      tls_ = make_tls_context(opts.tls);  // a bad key or certificate throws before any accept
    } catch (...) {
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      throw;
    }
  }
  listening_ = true;
  try {
    start_threads();
  } catch (...) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    listening_ = false;
    throw;
  }
  const auto local = acceptor_.local_endpoint();
  Server::Address out{local.address().to_string(), local.address().is_v6() ? "IPv6" : "IPv4", local.port()};
  net::post(cmd_, [self = shared_from_this()] { self->do_accept(); });
  return out;
}

void ServerImpl::start() {
  if (listening_) throw std::system_error(std::make_error_code(std::errc::already_connected), "already running");
  listening_ = true;
  try {
    start_threads();
  } catch (...) {
    listening_ = false;
    throw;
  }
}

void ServerImpl::start_threads() {
  // The store is opened before the first connection can ask for a document (throws StoreError).
  if (docs) docs->open_store();
  work_.emplace(net::make_work_guard(ioc));
  unsigned n = opts.threads ? opts.threads : std::max(1u, std::thread::hardware_concurrency());
  running_threads_ = n;
  for (unsigned i = 0; i < n; ++i) threads_.emplace_back([this] { thread_main(); });
}

void ServerImpl::thread_main() {
  for (;;) {
    try {
      ioc.run();
      break;
    } catch (const std::exception& e) {
      // A handler threw: the connection it belonged to is lost, the server goes on.
      report_failure(handler_exceptions, "COLLABIO_HANDLER_EXCEPTION", std::string("an I/O handler threw: ") + e.what());
    } catch (...) {
      report_failure(handler_exceptions, "COLLABIO_HANDLER_EXCEPTION", "an I/O handler threw a non-standard exception");
    }
  }
  if (running_threads_.fetch_sub(1) == 1) {
    {
      std::lock_guard lk(watchdog_mu_);
      threads_done_ = true;
    }
    watchdog_cv_.notify_all();
    if (!closed_notified_.exchange(true)) {
      // Every connection is closed: commit what the store still has queued, then report.
      if (docs) docs->close_store();
      sink_->closed();
    }
  }
}

void ServerImpl::watch_shutdown() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts.close_timeout) +
                        std::chrono::milliseconds(kShutdownSlackMs);
  {
    std::unique_lock lk(watchdog_mu_);
    if (watchdog_cv_.wait_until(lk, deadline, [this] { return threads_done_ || watchdog_released_; })) return;
  }
  report_failure(forced_shutdowns, "COLLABIO_SHUTDOWN_FORCED",
                 "close(): the I/O threads still had work " + std::to_string(opts.close_timeout + kShutdownSlackMs) +
                     " ms after the shutdown began (an operation nothing cancelled); stopped them");
  ioc.stop();
}

void ServerImpl::join_threads() {
  // The I/O threads first: while they run, the watchdog may still have to stop them.
  for (auto& t : threads_) {
    if (t.joinable()) {
      if (t.get_id() == std::this_thread::get_id()) {
        t.detach();  // the last I/O thread released the server: it is already on its way out
      } else {
        t.join();
      }
    }
  }
  if (watchdog_.joinable()) {
    {
      std::lock_guard lk(watchdog_mu_);
      watchdog_released_ = true;
    }
    watchdog_cv_.notify_all();
    watchdog_.join();
  }
  threads_.clear();
}

void ServerImpl::do_accept() {
  // New sockets get their own strand: every handler of a connection runs on it.
  acceptor_.async_accept(net::make_strand(ioc), [self = shared_from_this()](boost::system::error_code ec, tcp::socket s) {
    self->on_accept(ec, std::move(s));
  });
}

void ServerImpl::on_accept(boost::system::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open() || closing()) return;
  if (ec) {
    accept_errors.fetch_add(1, std::memory_order_relaxed);
    // A connection reset before it was accepted concerns that connection only.
    if (ec == net::error::connection_aborted) {
      do_accept();
      return;
    }
    // EMFILE, ENFILE, ENOBUFS, ENOMEM: the pending connection stays in the backlog and the
    // listener stays readable, so accepting again at once would spin a core until a descriptor
    // is freed. Wait a little, longer each time in a row.
    net::post(cmd_, [self = shared_from_this()] { self->accept_later(); });
    return;
  }
  accept_backoff_ms_ = 0;
  set_close_on_exec(socket.native_handle());
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (const Admission verdict = admit(socket); verdict != Admission::Admit) {
    refuse_connection(std::move(socket), verdict);
    do_accept();
    return;
  }
  auto exec = socket.get_executor();
  net::post(exec, [self = shared_from_this(), s = std::move(socket)]() mutable {
    if (self->tls_) {
      start_tls_front(self, self->tls_, std::move(s));
    } else {
      start_http_session(self, std::move(s));
    }
  });
  do_accept();
}

void ServerImpl::accept_later() {
  // On cmd_, like close(): a shutdown that ran first has closed the acceptor, one that runs later
  // cancels the timer.
  if (closing()) return;
  constexpr uint32_t kFirstMs = 10;
  constexpr uint32_t kMaxMs = 500;
  accept_backoff_ms_ = accept_backoff_ms_ == 0 ? kFirstMs : std::min(kMaxMs, accept_backoff_ms_ * 2);
  accept_timer_.expires_after(std::chrono::milliseconds(accept_backoff_ms_));
  accept_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->closing()) return;
    self->do_accept();
  });
}

Admission ServerImpl::admit(const tcp::socket& socket) {
  if (opts.max_connections && open_connections.load(std::memory_order_relaxed) >= opts.max_connections)
    return Admission::TooManyConnections;
  boost::system::error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  if (!ec && !rate_limiter_.admit(remote.address())) return Admission::RateLimited;
  return Admission::Admit;
}

void ServerImpl::close() {
  if (closing_.exchange(true)) return;
  if (!listening_) {
    if (!closed_notified_.exchange(true)) sink_->closed();
    return;
  }
  command([self = shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
    self->accept_timer_.cancel();
    self->trim_timer_.cancel();
    std::vector<std::shared_ptr<Connection>> conns;
    std::vector<std::shared_ptr<HttpSession>> https;
    {
      std::lock_guard lk(self->conns_mu_);
      for (auto& [id, c] : self->conns_) conns.push_back(c);
      for (auto& w : self->http_sessions_)
        if (auto s = w.lock()) https.push_back(std::move(s));
      self->http_sessions_.clear();
    }
    for (auto& c : conns) c->close(ws::kGoingAway, "server shutting down");
    for (auto& s : https) cancel_http_session(s);
    if (self->docs) self->docs->shutdown();
    self->eio->take_all_pending();  // handshakes waiting for the host: their sockets are closed above
    for (auto& s : self->eio->all()) s->close(ws::kGoingAway, "server shutting down");  // incl. closing ones
    self->sio_->set_local_adapter();  // closes the Redis connections, which would keep the threads
    self->work_.reset();
  });
  watchdog_ = std::thread([this] { watch_shutdown(); });
}

void ServerImpl::report_failure(std::atomic<uint64_t>& counter, const char* code, std::string what) {
  counter.fetch_add(1, std::memory_order_relaxed);
  push_event(Event::warning(std::move(what), code));
}

uint64_t ServerImpl::inbound_connection(const Event& ev) {
  switch (ev.kind) {
    case Event::kConnect:
    case Event::kEvent:
    case Event::kAck:
    case Event::kNspDisconnect:
    case Event::kError:
      return ev.conn;
    default:
      return 0;
  }
}

uint64_t ServerImpl::inbound_cost(const Event& ev) {
  uint64_t n = sizeof(Event) + ev.nsp.size() + ev.data.size() + ev.extra.size();
  for (const auto& a : ev.attachments) n += sizeof(std::string) + a.size();
  return n;
}

void ServerImpl::push_event(Event&& ev) {
  to_host->charge(inbound_connection(ev), inbound_cost(ev));
  bool was_empty;
  {
    std::lock_guard lk(events_mu_);
    was_empty = events_.empty();
    events_.push_back(std::move(ev));
  }
  if (was_empty) sink_->notify();
}

namespace {
int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

void ServerImpl::large_buffer_freed() {
  last_large_free_ms_.store(steady_ms(), std::memory_order_relaxed);
  if (closing() || trim_pending_.exchange(true)) return;
  net::post(cmd_, [self = shared_from_this()] { self->trim_when_quiet(); });
}

void ServerImpl::trim_when_quiet() {
  const int64_t quiet_for = steady_ms() - last_large_free_ms_.load(std::memory_order_relaxed);
  if (closing()) return;  // trim_pending_ stays set: nothing is armed after close()
  if (quiet_for < kTrimQuietMs) {
    trim_timer_.expires_after(std::chrono::milliseconds(kTrimQuietMs - quiet_for));
    trim_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->trim_when_quiet();
    });
    return;
  }
  // Cleared first: a buffer freed while the trim runs arms the next one.
  trim_pending_.store(false);
  malloc_trim(0);
}

void ServerImpl::register_connection(const std::shared_ptr<Connection>& c) {
  open_connections.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lk(conns_mu_);
  conns_.emplace(c->id(), c);
}

void ServerImpl::connection_closed(uint64_t id) {
  {
    std::lock_guard lk(conns_mu_);
    if (!conns_.erase(id)) return;
  }
  open_connections.fetch_sub(1, std::memory_order_relaxed);
  net::post(cmd_, [self = shared_from_this(), id] { self->sio_->connection_closed(id); });
}

void ServerImpl::track_http(const std::shared_ptr<HttpSession>& s) {
  std::lock_guard lk(conns_mu_);
  // Forget finished sessions now and then so the list stays as long as the live ones.
  if (http_sessions_.size() >= 64 && (http_sessions_.size() & (http_sessions_.size() - 1)) == 0) {
    std::erase_if(http_sessions_, [](const std::weak_ptr<HttpSession>& w) { return w.expired(); });
  }
  http_sessions_.push_back(s);
}

std::shared_ptr<Connection> ServerImpl::find(uint64_t id) {
  std::lock_guard lk(conns_mu_);
  auto it = conns_.find(id);
  return it == conns_.end() ? nullptr : it->second;
}

std::shared_ptr<EioConnection> ServerImpl::find_eio(uint64_t id) {
  auto c = find(id);
  if (!c || c->kind() != WsConnection::Kind::EngineIo) return nullptr;
  return std::static_pointer_cast<EioConnection>(c);
}

std::unique_ptr<EioUpper> ServerImpl::make_client(EioConnection& session) { return sio_->make_client(session); }

void ServerImpl::deliver(const std::vector<uint64_t>& conns, const std::string& packet,
                         const std::vector<std::string>& attachments, bool is_volatile, bool compress) {
  // Framed once; every recipient's queue holds the same immutable buffers (and, with
  // permessage-deflate, the same compressed ones: ws::OutFrame::deflated).
  const auto frames = EioConnection::message_frames(packet, attachments, compress);
  std::lock_guard lk(conns_mu_);
  for (uint64_t id : conns) {
    auto it = conns_.find(id);
    if (it != conns_.end()) it->second->enqueue(frames.data(), frames.size(), is_volatile);
  }
}

// ---- commands: the transport runs them on cmd_, in call order; Socket.IO's go to sio_ ----

void ServerImpl::connect_reply(uint64_t conn, std::string nsp, bool accepted, std::string packet) {
  command([self = shared_from_this(), conn, nsp = std::move(nsp), accepted, packet = std::move(packet)] {
    self->sio_->connect_reply(conn, nsp, accepted, packet);
  });
}

void ServerImpl::send(uint64_t conn, std::string packet, std::vector<std::string> attachments, bool compress) {
  // Framed on the calling thread: the command carries what the connection queues.
  SendFrames s{conn, EioConnection::message_frames(packet, attachments, compress)};
  if (t_batch_ && t_batch_->server == this) {
    t_batch_->commands.emplace_back(std::in_place_type<SendFrames>, std::move(s));
    return;
  }
  net::post(cmd_, [self = shared_from_this(), s = std::move(s)] { self->sio_->send(s.conn, s.frames); });
}

void ServerImpl::broadcast(std::string nsp, std::vector<std::string> rooms, std::vector<std::string> except,
                           std::string packet, std::vector<std::string> attachments, bool is_volatile,
                           bool compress, bool local) {
  command([self = shared_from_this(),
           b = sio::Broadcast{std::move(nsp), std::move(rooms), std::move(except), std::move(packet),
                              std::move(attachments), is_volatile, local, compress}] { self->sio_->broadcast(b); });
}

void ServerImpl::set_redis_adapter(Server::RedisAdapterOptions options) {
  std::optional<redis::Endpoint> endpoint;
  if (!options.url.empty()) {
    std::string error;
    endpoint.emplace();
    if (!redis::parse_url(options.url, *endpoint, error)) throw std::invalid_argument("collabio: " + error);
  }
  command([self = shared_from_this(), endpoint = std::move(endpoint), options = std::move(options)] {
    if (!endpoint || self->closing()) return self->sio_->set_local_adapter();
    redis::TlsOptions tls;
    tls.ca_file = options.tls_ca_file;
    tls.cert_file = options.tls_cert_file;
    tls.key_file = options.tls_key_file;
    tls.server_name = options.tls_server_name;
    tls.verify = options.tls_verify;
    self->sio_->set_redis_adapter(sio::RedisAdapterOptions{*endpoint, std::move(tls), options.key, options.sharded, options.uid});
  });
}

void ServerImpl::adapter_namespace(std::string nsp, bool on) {
  command([self = shared_from_this(), nsp = std::move(nsp), on] {
    if (auto* a = self->sio_->redis_adapter()) a->set_namespace(nsp, on);
  });
}

void ServerImpl::adapter_room(std::string nsp, std::string room, bool on) {
  command([self = shared_from_this(), nsp = std::move(nsp), room = std::move(room), on] {
    if (auto* a = self->sio_->redis_adapter()) a->set_room(nsp, room, on);
  });
}

void ServerImpl::adapter_publish(std::string channel, std::string json, std::vector<std::string> attachments,
                                 bool msgpack) {
  command([self = shared_from_this(), channel = std::move(channel), json = std::move(json),
           attachments = std::move(attachments), msgpack] {
    if (auto* a = self->sio_->redis_adapter()) a->publish(channel, json, attachments, msgpack);
  });
}

void ServerImpl::adapter_server_count(std::string nsp, int64_t id) {
  command([self = shared_from_this(), nsp = std::move(nsp), id] {
    if (auto* a = self->sio_->redis_adapter()) return a->server_count(nsp, id);
    self->push_event(Event::adapter_reply(id, nsp, "1"));  // the local adapter: this server alone
  });
}

void ServerImpl::adapter_command(std::vector<std::string> args, int64_t id, bool blocking) {
  command([self = shared_from_this(), args = std::move(args), id, blocking]() mutable {
    if (auto* a = self->sio_->redis_adapter()) return a->command(std::move(args), id, blocking);
    self->push_event(Event::adapter_command_reply(id, {}, "no Redis adapter"));
  });
}

void ServerImpl::join(uint64_t conn, std::string nsp, std::vector<std::string> rooms) {
  command([self = shared_from_this(), conn, nsp = std::move(nsp), rooms = std::move(rooms)] {
    self->sio_->join(conn, nsp, rooms);
  });
}

void ServerImpl::leave(uint64_t conn, std::string nsp, std::string room) {
  command([self = shared_from_this(), conn, nsp = std::move(nsp), room = std::move(room)] {
    self->sio_->leave(conn, nsp, room);
  });
}

void ServerImpl::disconnect(uint64_t conn, std::string nsp, std::string packet, bool close_connection) {
  command([self = shared_from_this(), conn, nsp = std::move(nsp), packet = std::move(packet), close_connection] {
    self->sio_->disconnect(conn, nsp, packet, close_connection);
  });
}

thread_local ServerImpl::Batch* ServerImpl::t_batch_ = nullptr;

void ServerImpl::begin_batch() { t_batch_ = new Batch{this, {}}; }

void ServerImpl::end_batch() {
  std::unique_ptr<Batch> b(t_batch_);
  t_batch_ = nullptr;
  if (b->commands.empty()) return;
  net::post(cmd_, [self = shared_from_this(), commands = std::move(b->commands)] {
    for (const auto& c : commands) {
      if (const auto* s = std::get_if<SendFrames>(&c)) {
        self->sio_->send(s->conn, s->frames);
      } else {
        std::get<std::function<void()>>(c)();
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Server (facade)

Server::Server(Options options, EventSink* sink) : impl_(std::make_shared<ServerImpl>(std::move(options), sink)) {}

Server::~Server() {
  impl_->close();
  impl_->join_threads();
}

Server::Address Server::listen(const std::string& host, uint16_t port) { return impl_->listen(host, port); }
void Server::start() { impl_->start(); }
bool Server::adopt(int fd, std::string prefix, AdoptOptions options) {
  return impl_->adopt(fd, std::move(prefix), std::move(options));
}
int Server::relay(std::string prefix, AdoptOptions options) { return impl_->relay(std::move(prefix), std::move(options)); }

bool Server::drain_events(std::vector<Event>& out, uint64_t max_bytes) { return impl_->drain_events(out, max_bytes); }

bool ServerImpl::drain_events(std::vector<Event>& out, uint64_t max_bytes) {
  std::lock_guard lk(events_mu_);
  // One charge per run of events from the same connection: a flooder's batch is one entry.
  size_t n = 0;
  uint64_t bytes = 0;
  while (n < events_.size() && (n == 0 || bytes < max_bytes)) {
    Event& e = events_[n++];
    if (e.hold) handed_holds_.push_back(std::move(e.hold));
    const uint64_t conn = inbound_connection(e);
    const uint64_t cost = inbound_cost(e);
    bytes += cost;
    if (!handed_.empty() && handed_.back().conn == conn) {
      handed_.back().bytes += cost;
      handed_.back().events += 1;
    } else {
      handed_.push_back({conn, cost, 1});
    }
  }
  if (n == events_.size() && out.empty()) {
    out.swap(events_);
    return false;
  }
  out.insert(out.end(), std::make_move_iterator(events_.begin()), std::make_move_iterator(events_.begin() + n));
  events_.erase(events_.begin(), events_.begin() + static_cast<std::ptrdiff_t>(n));
  return !events_.empty();
}

void Server::events_handled() {
  std::vector<InboundBudget::Charge> handed;
  std::vector<std::shared_ptr<void>> holds;
  {
    std::lock_guard lk(impl_->events_mu_);
    handed.swap(impl_->handed_);
    holds.swap(impl_->handed_holds_);
  }
  if (!handed.empty()) impl_->to_host->release(handed);
  holds.clear();  // releases the document senders' holds (to_documents), outside events_mu_
}

void Server::connect_reply(uint64_t conn, std::string nsp, bool accepted, std::string packet) {
  impl_->connect_reply(conn, std::move(nsp), accepted, std::move(packet));
}
void Server::send(uint64_t conn, std::string packet, std::vector<std::string> attachments, bool compress) {
  impl_->send(conn, std::move(packet), std::move(attachments), compress);
}
void Server::broadcast(std::string nsp, std::vector<std::string> rooms, std::vector<std::string> except_rooms,
                       std::string packet, std::vector<std::string> attachments, bool is_volatile, bool compress,
                       bool local) {
  impl_->broadcast(std::move(nsp), std::move(rooms), std::move(except_rooms), std::move(packet),
                   std::move(attachments), is_volatile, compress, local);
}
void Server::set_redis_adapter(RedisAdapterOptions options) { impl_->set_redis_adapter(std::move(options)); }
void Server::adapter_namespace(std::string nsp, bool on) { impl_->adapter_namespace(std::move(nsp), on); }
void Server::adapter_room(std::string nsp, std::string room, bool on) {
  impl_->adapter_room(std::move(nsp), std::move(room), on);
}
void Server::adapter_publish(std::string channel, std::string json, std::vector<std::string> attachments, bool msgpack) {
  impl_->adapter_publish(std::move(channel), std::move(json), std::move(attachments), msgpack);
}
void Server::adapter_server_count(std::string nsp, int64_t id) { impl_->adapter_server_count(std::move(nsp), id); }
void Server::adapter_command(std::vector<std::string> args, int64_t id, bool blocking) {
  impl_->adapter_command(std::move(args), id, blocking);
}
void Server::join(uint64_t conn, std::string nsp, std::vector<std::string> rooms) {
  impl_->join(conn, std::move(nsp), std::move(rooms));
}
void Server::leave(uint64_t conn, std::string nsp, std::string room) {
  impl_->leave(conn, std::move(nsp), std::move(room));
}
void Server::disconnect(uint64_t conn, std::string nsp, std::string packet, bool close_connection) {
  impl_->disconnect(conn, std::move(nsp), std::move(packet), close_connection);
}
void Server::close() { impl_->close(); }

Server::CommandBatch::CommandBatch(Server& server) : impl_(ServerImpl::t_batch_ ? nullptr : server.impl_.get()) {
  if (impl_) impl_->begin_batch();
}

Server::CommandBatch::~CommandBatch() {
  if (impl_) impl_->end_batch();
}

void Server::doc_auth(uint64_t conn, int mode, std::string reason, std::string address) {
  auto c = impl_->find(conn);
  if (!c) return;
  if (c->kind() == WsConnection::Kind::YjsDocument) {
    std::static_pointer_cast<YjsConnection>(c)->authorized(mode, std::move(reason));
  } else if (c->kind() == WsConnection::Kind::HocuspocusDocuments) {
    std::static_pointer_cast<HocuspocusConnection>(c)->authorized(address, mode, std::move(reason));
  }
}

void Server::doc_stateless(std::string name, uint64_t peer, std::string payload) {
  if (impl_->docs) impl_->docs->send_stateless(name, peer, std::move(payload));
}

void Server::doc_request(std::string name, std::string op, std::string arg, int64_t req_id, bool hold) {
  if (!impl_->docs) {
    impl_->push_event(Event::reply(req_id, std::move(name), "documents are not enabled"));
    return;
  }
  impl_->docs->request(std::move(name), std::move(op), std::move(arg), req_id, hold);
}

void Server::doc_release(std::string name) {
  if (impl_->docs) impl_->docs->release_handle(name);
}

void Server::doc_loaded(std::string name, std::string state, std::string error) {
  if (impl_->docs) impl_->docs->host_loaded(name, std::move(state), std::move(error));
}

size_t Server::documents_loaded() const { return impl_->docs ? impl_->docs->loaded() : 0; }

void Server::handshake_reply(uint64_t request, int error, std::string message, std::vector<std::string> initial_headers,
                             std::vector<std::string> headers) {
  auto k = impl_->eio->take_pending(request);
  if (!k) return;
  auto pairs = [](std::vector<std::string>& flat) {
    HeaderList out;
    for (size_t i = 0; i + 1 < flat.size(); i += 2) out.emplace_back(std::move(flat[i]), std::move(flat[i + 1]));
    return out;
  };
  k(HandshakeDecision{error, std::move(message), pairs(initial_headers), pairs(headers)});
}

void Server::set_handshake_hook(bool on) { impl_->eio->handshake_hook.store(on, std::memory_order_release); }

Server::Stats Server::stats() const {
  Stats s;
  s.connections = impl_->open_connections.load(std::memory_order_relaxed);
  s.messages_in = impl_->messages_in.load(std::memory_order_relaxed);
  s.messages_out = impl_->messages_out.load(std::memory_order_relaxed);
  s.cluster_awareness_dropped = impl_->cluster_awareness_dropped.load(std::memory_order_relaxed);
  const int64_t q = impl_->bytes_queued.load(std::memory_order_relaxed);
  s.bytes_queued = q > 0 ? static_cast<uint64_t>(q) : 0;
  s.engine_clients = impl_->eio->clients.load(std::memory_order_relaxed);
  s.accept_errors = impl_->accept_errors.load(std::memory_order_relaxed);
  s.compaction_errors = impl_->compaction_errors.load(std::memory_order_relaxed);
  s.handler_exceptions = impl_->handler_exceptions.load(std::memory_order_relaxed);
  s.forced_shutdowns = impl_->forced_shutdowns.load(std::memory_order_relaxed);
  s.adapter_bad_messages = impl_->adapter_bad_messages.load(std::memory_order_relaxed);
  s.stream_bad_entries = impl_->bad_stream_entries.load(std::memory_order_relaxed);
  if (impl_->docs) {
    if (Replication* r = impl_->docs->replication()) {
      s.stream_appends = r->appends.load(std::memory_order_relaxed);
      s.stream_appends_refused = r->appends_refused.load(std::memory_order_relaxed);
      s.stream_entries_read = r->remote_entries.load(std::memory_order_relaxed);
      s.stream_compactions = r->compactions.load(std::memory_order_relaxed);
      s.stream_reloads = r->reloads.load(std::memory_order_relaxed);
      s.stream_bootstraps = r->bootstraps.load(std::memory_order_relaxed);
      s.stream_seeds = r->seeds.load(std::memory_order_relaxed);
      s.stream_restores = r->restored.load(std::memory_order_relaxed);
      s.stream_trimmed_reloads = r->trimmed_reloads.load(std::memory_order_relaxed);
    }
    if (DocClusterAwareness* ca = impl_->docs->cluster_awareness()) {
      s.cluster_awareness_answers = ca->answers.load(std::memory_order_relaxed);
      s.cluster_awareness_queries_coalesced = ca->queries_coalesced.load(std::memory_order_relaxed);
      s.cluster_awareness_resyncs = ca->resyncs.load(std::memory_order_relaxed);
    }
  }
  const auto host = impl_->to_host->stats();
  const auto docs = impl_->to_documents->stats();
  s.inbound_bytes = host.bytes;
  s.inbound_events = host.events;
  s.document_inbound_bytes = docs.bytes;
  s.paused_connections = host.paused + docs.paused;
  s.inbound_pauses = host.pauses + docs.pauses;
  return s;
}

}  // namespace collabio::core
