// The Redis connection's I/O: resolver, TCP / TLS stream, handshake, pipelining, pub/sub pushes
// and reconnection. This is the only translation unit that instantiates Asio's socket and SSL
// templates for Redis.
#include "redis/connection.h"

#include <fcntl.h>
#include <openssl/ssl.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <deque>
#include <mutex>
#include <optional>
#include <set>

namespace collabio::redis {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using Strand = net::strand<net::io_context::executor_type>;
using Clock = std::chrono::steady_clock;

namespace {

class Category : public std::error_category {
 public:
  const char* name() const noexcept override { return "redis"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::queue_full: return "redis: not connected and the command queue is full";
      case Errc::connection_lost: return "redis: connection lost before the reply";
      case Errc::handshake_failed: return "redis: the server refused AUTH or SELECT";
      case Errc::closed: return "redis: connection closed";
      case Errc::wrong_role: return "redis: subscriptions need a Subscriber connection";
    }
    return "redis: unknown error";
  }
};

const char* subscribe_verb(SubscriptionKind kind) {
  switch (kind) {
    case SubscriptionKind::Pattern: return "PSUBSCRIBE";
    case SubscriptionKind::Shard: return "SSUBSCRIBE";
    case SubscriptionKind::Channel: break;
  }
  return "SUBSCRIBE";
}

const char* unsubscribe_verb(SubscriptionKind kind) {
  switch (kind) {
    case SubscriptionKind::Pattern: return "PUNSUBSCRIBE";
    case SubscriptionKind::Shard: return "SUNSUBSCRIBE";
    case SubscriptionKind::Channel: break;
  }
  return "UNSUBSCRIBE";
}

std::string seconds_text(Clock::duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", std::chrono::duration<double>(d).count());
  return buf;
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

const std::error_category& error_category() {
  static const Category category;
  return category;
}

class Connection::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(net::io_context& ioc, Options options)
      : options_(std::move(options)), strand_(net::make_strand(ioc)), resolver_(strand_), timer_(strand_),
        backoff_(options_.backoff_min) {
    if (options_.endpoint.tls) make_tls_context();
  }

  Strand& strand() { return strand_; }

  // Called by ~Connection: from then on no user callback runs. Waits for one that is running on
  // another thread; from inside a callback (same thread) it returns at once.
  void detach() {
    std::lock_guard lock(gate_);
    detached_ = true;
  }

  // --- entry points (on the strand) ---

  void do_start() {
    if (started_ || closed_) return;
    started_ = true;
    if (!config_error_.empty()) {
      log("redis: " + options_.endpoint.display() + ": " + config_error_);
      handshake_failed_ = true;
      set_state(State::HandshakeFailed, config_error_);
      return;
    }
    do_connect();
  }

  void do_close() {
    if (closed_) return;
    closed_ = true;
    ++session_;
    shutdown_socket();
    timer_.cancel();
    resolver_.cancel();
    fail_inflight(Errc::closed);
    fail_queued(Errc::closed);
    for (auto& w : waiting_resubscribe_) call(w, make_error_code(Errc::closed));
    waiting_resubscribe_.clear();
    set_state(State::Closed, {});
  }

  void do_command(std::vector<std::string> args, ReplyHandler done) {
    Pending p;
    p.kind = Pending::Kind::Command;
    p.done = std::move(done);
    std::string encoded;
    encode_command(args, encoded);
    if (closed_) return fail(p, Errc::closed);
    if (phase_ == Phase::Ready) return send(std::move(encoded), std::move(p));
    if (handshake_failed_) return fail(p, Errc::handshake_failed);
    if (queued_.size() >= options_.max_queued) return fail(p, Errc::queue_full);
    queued_.push_back({std::move(encoded), std::move(p)});
  }

  void do_on_message(MessageHandler handler) { on_message_ = std::move(handler); }

  void do_subscribe(SubscriptionKind kind, std::vector<std::string> channels, SubscribeHandler done, bool add) {
    if (options_.role != Role::Subscriber) return call(done, make_error_code(Errc::wrong_role));
    if (closed_) return call(done, make_error_code(Errc::closed));
    auto& set = subscriptions_[static_cast<size_t>(kind)];
    for (const auto& c : channels) {
      if (add) {
        set.insert(c);
      } else {
        set.erase(c);
      }
    }
    if (phase_ != Phase::Ready) {
      // Added channels are sent with the resubscription once Ready; removed ones are simply gone.
      if (add) {
        waiting_resubscribe_.push_back(std::move(done));
      } else {
        call(done, {});
      }
      return;
    }
    if (channels.empty()) return call(done, {});
    send_subscription(add ? subscribe_verb(kind) : unsubscribe_verb(kind), channels, {std::move(done)});
  }

 private:
  // One command written and not yet answered (or waiting to be written).
  struct Pending {
    enum class Kind { Command, Handshake, Subscription };
    Kind kind = Kind::Command;
    size_t replies_left = 1;               // Subscription: one confirmation per channel
    ReplyHandler done;                     // Command
    std::vector<SubscribeHandler> waiters;  // Subscription
    const char* label = "";                // Handshake: the command's name, for the error line
  };
  struct Queued {
    std::string encoded;
    Pending pending;
  };
  enum class Phase { Idle, Connecting, Handshaking, Ready, Backoff };

  // --- connection attempt: resolve, connect, TLS handshake, AUTH / SELECT / PING ---

  void do_connect() {
    phase_ = Phase::Connecting;
    const uint64_t session = ++session_;
    set_state(State::Connecting, {});
    timer_.expires_after(options_.connect_timeout);
    timer_.async_wait([self = shared_from_this(), session](boost::system::error_code ec) {
      if (ec || session != self->session_ || self->phase_ == Phase::Ready) return;
      self->on_lost(session, "timed out after " + seconds_text(self->options_.connect_timeout));
    });
    resolver_.async_resolve(options_.endpoint.host, std::to_string(options_.endpoint.port),
                            [self = shared_from_this(), session](boost::system::error_code ec, tcp::resolver::results_type r) {
                              self->on_resolve(session, ec, std::move(r));
                            });
  }

  void on_resolve(uint64_t session, boost::system::error_code ec, tcp::resolver::results_type results) {
    if (session != session_) return;
    if (ec) return on_lost(session, "cannot resolve the host: " + ec.message());
    socket_.reset();
    tls_.reset();
    if (tls_context_) {
      tls_.emplace(strand_, *tls_context_);
    } else {
      socket_.emplace(strand_);
    }
    net::async_connect(tcp_socket(), results,
                       [self = shared_from_this(), session](boost::system::error_code ec, const tcp::endpoint&) {
                         self->on_connect(session, ec);
                       });
  }

  void on_connect(uint64_t session, boost::system::error_code ec) {
    if (session != session_) return;
    if (ec) return on_lost(session, ec.message());
    // Close-on-exec, as the server's sockets (native/core/server.cpp): a child process of the
    // application must not inherit the connection to Redis.
    const int fd = tcp_socket().native_handle();
    ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
    boost::system::error_code ignored;
    tcp_socket().set_option(tcp::no_delay(true), ignored);
    tcp_socket().set_option(net::socket_base::keep_alive(true), ignored);
    if (!tls_) return start_session(session);
    const std::string& name = options_.tls.server_name.empty() ? options_.endpoint.host : options_.tls.server_name;
    // SNI carries host names only (RFC 6066 section 3), never an IP literal.
    if (!is_ip_literal(name)) SSL_set_tlsext_host_name(tls_->native_handle(), name.c_str());
    if (options_.tls.verify) {
      tls_->set_verify_mode(ssl::verify_peer);
      tls_->set_verify_callback(ssl::host_name_verification(name));
    } else {
      tls_->set_verify_mode(ssl::verify_none);
    }
    tls_->async_handshake(ssl::stream_base::client, [self = shared_from_this(), session](boost::system::error_code ec) {
      if (session != self->session_) return;
      if (ec) return self->on_lost(session, "TLS handshake failed: " + ec.message());
      self->start_session(session);
    });
  }

  void start_session(uint64_t session) {
    phase_ = Phase::Handshaking;
    reader_ = std::make_unique<RespReader>();
    handshake_left_ = 0;
    const Endpoint& ep = options_.endpoint;
    if (!ep.password.empty()) {
      std::string cmd;
      if (ep.username.empty()) {
        encode_command({"AUTH", ep.password}, cmd);
      } else {
        encode_command({"AUTH", ep.username, ep.password}, cmd);
      }
      send_handshake(std::move(cmd), "AUTH");
    }
    if (ep.db != 0) {
      std::string cmd;
      encode_command({"SELECT", std::to_string(ep.db)}, cmd);
      send_handshake(std::move(cmd), "SELECT");
    }
    if (!options_.client_name.empty()) {
      std::string cmd;
      encode_command({"CLIENT", "SETNAME", options_.client_name}, cmd);
      send_handshake(std::move(cmd), "CLIENT SETNAME");
    }
    // PING last: a server that wants a password we were not given answers -NOAUTH here, so Ready
    // always means "commands will run".
    std::string ping;
    encode_command({"PING"}, ping);
    send_handshake(std::move(ping), "PING");
    do_read(session);
  }

  void send_handshake(std::string encoded, const char* label) {
    Pending p;
    p.kind = Pending::Kind::Handshake;
    p.label = label;
    ++handshake_left_;
    send(std::move(encoded), std::move(p));
  }

  void on_handshake_reply(Pending& p, const Reply& r) {
    if (r.is_error()) return on_handshake_failed(std::string(p.label) + ": " + r.str);
    if (--handshake_left_ == 0) on_ready();
  }

  void on_ready() {
    timer_.cancel();
    phase_ = Phase::Ready;
    handshake_failed_ = false;
    backoff_ = options_.backoff_min;
    if (outage_logged_) {
      log("redis: reconnected to " + options_.endpoint.display() + " after " + seconds_text(Clock::now() - outage_start_));
      outage_logged_ = false;
    }
    set_state(State::Ready, {});
    if (options_.role == Role::Subscriber) resubscribe();
    auto queued = std::move(queued_);
    queued_.clear();
    for (auto& q : queued) send(std::move(q.encoded), std::move(q.pending));
  }

  void resubscribe() {
    std::vector<SubscribeHandler> waiters = std::move(waiting_resubscribe_);
    waiting_resubscribe_.clear();
    int last = -1;
    for (int k = 0; k < 3; ++k) {
      if (!subscriptions_[k].empty()) last = k;
    }
    if (last < 0) {
      for (auto& w : waiters) call(w, {});
      return;
    }
    for (int k = 0; k <= last; ++k) {
      const auto& set = subscriptions_[k];
      if (set.empty()) continue;
      std::vector<std::string> channels(set.begin(), set.end());
      send_subscription(subscribe_verb(static_cast<SubscriptionKind>(k)), channels,
                        k == last ? std::move(waiters) : std::vector<SubscribeHandler>{});
    }
  }

  void send_subscription(const char* verb, const std::vector<std::string>& channels, std::vector<SubscribeHandler> waiters) {
    std::vector<std::string> args;
    args.reserve(channels.size() + 1);
    args.emplace_back(verb);
    args.insert(args.end(), channels.begin(), channels.end());
    std::string encoded;
    encode_command(args, encoded);
    Pending p;
    p.kind = Pending::Kind::Subscription;
    p.replies_left = channels.size();
    p.waiters = std::move(waiters);
    send(std::move(encoded), std::move(p));
  }

  // --- pipelined writes: one async_write at a time; commands issued meanwhile wait in out_ ---

  void send(std::string encoded, Pending p) {
    out_ += encoded;
    inflight_.push_back(std::move(p));
    do_write();
  }

  void do_write() {
    if (writing_ || out_.empty()) return;
    writing_ = true;
    std::swap(write_buf_, out_);
    out_.clear();
    const uint64_t session = session_;
    auto done = [self = shared_from_this(), session](boost::system::error_code ec, size_t) { self->on_write(session, ec); };
    if (tls_) {
      net::async_write(*tls_, net::buffer(write_buf_), std::move(done));
    } else {
      net::async_write(*socket_, net::buffer(write_buf_), std::move(done));
    }
  }

  void on_write(uint64_t session, boost::system::error_code ec) {
    if (session != session_) return;
    writing_ = false;
    write_buf_.clear();
    if (ec) return on_lost(session, ec.message());
    do_write();
  }

  // --- reads: feed the RESP reader, dispatch every complete reply ---

  void do_read(uint64_t session) {
    auto done = [self = shared_from_this(), session](boost::system::error_code ec, size_t n) { self->on_read(session, ec, n); };
    if (tls_) {
      tls_->async_read_some(net::buffer(read_buf_), std::move(done));
    } else {
      socket_->async_read_some(net::buffer(read_buf_), std::move(done));
    }
  }

  void on_read(uint64_t session, boost::system::error_code ec, size_t n) {
    if (session != session_) return;
    if (ec) return on_lost(session, ec == net::error::eof ? "the server closed the connection" : ec.message());
    if (!reader_->feed(std::string_view(read_buf_.data(), n))) return on_lost(session, reader_->error());
    for (;;) {
      Reply reply;
      const auto status = reader_->next(reply);
      if (status == RespReader::Status::Incomplete) break;
      if (status == RespReader::Status::ProtocolError) return on_lost(session, reader_->error());
      dispatch(std::move(reply));
      if (session != session_) return;  // a handler (or a refused handshake) ended this session
    }
    do_read(session);
  }

  void dispatch(Reply&& r) {
    if (options_.role == Role::Subscriber && deliver_push(r)) return;
    if (inflight_.empty()) return on_lost(session_, "a reply nobody asked for");
    Pending& front = inflight_.front();
    switch (front.kind) {
      case Pending::Kind::Handshake: {
        Pending p = std::move(front);
        inflight_.pop_front();
        on_handshake_reply(p, r);
        return;
      }
      case Pending::Kind::Command: {
        Pending p = std::move(front);
        inflight_.pop_front();
        user(p.done, std::error_code{}, std::move(r));
        return;
      }
      case Pending::Kind::Subscription: {
        if (!r.is_error() && --front.replies_left > 0) return;
        Pending p = std::move(front);
        inflight_.pop_front();
        if (r.is_error()) log("redis: " + options_.endpoint.display() + " refused a subscription: " + r.str);
        for (auto& w : p.waiters) call(w, {}, r.is_error() ? std::string_view(r.str) : std::string_view());
        return;
      }
    }
  }

  // `message`, `pmessage` and `smessage` pushes (RESP2 arrays); false for anything else.
  bool deliver_push(Reply& r) {
    if (r.type != Reply::Type::Array || r.elements.empty() || !r.elements[0].is_string()) return false;
    const std::string& verb = r.elements[0].str;
    Message m;
    if (verb == "message" || verb == "smessage") {
      if (r.elements.size() != 3) return false;
      m.kind = verb == "message" ? SubscriptionKind::Channel : SubscriptionKind::Shard;
      m.channel = std::move(r.elements[1].str);
      m.payload = std::move(r.elements[2].str);
    } else if (verb == "pmessage") {
      if (r.elements.size() != 4) return false;
      m.kind = SubscriptionKind::Pattern;
      m.pattern = std::move(r.elements[1].str);
      m.channel = std::move(r.elements[2].str);
      m.payload = std::move(r.elements[3].str);
    } else {
      return false;
    }
    user(on_message_, std::move(m));
    return true;
  }

  // --- failures and reconnection ---

  void on_handshake_failed(const std::string& reason) {
    handshake_failed_ = true;
    fail_queued(Errc::handshake_failed);
    end_session(State::HandshakeFailed, options_.endpoint.display() + " refused the connection: " + reason);
  }

  void on_lost(uint64_t session, const std::string& reason) {
    if (session != session_ || closed_) return;
    const bool was_ready = phase_ == Phase::Ready || ever_ready_;
    end_session(State::Disconnected,
                (was_ready ? "connection lost to " : "cannot connect to ") + options_.endpoint.display() + ": " + reason);
  }

  void end_session(State state, const std::string& detail) {
    if (phase_ == Phase::Ready) ever_ready_ = true;
    ++session_;
    phase_ = Phase::Backoff;
    shutdown_socket();
    timer_.cancel();
    resolver_.cancel();
    fail_inflight(Errc::connection_lost);
    if (!outage_logged_) {
      log("redis: " + detail + "; " + (ever_ready_ ? "reconnecting" : "retrying"));
      outage_logged_ = true;
      outage_start_ = Clock::now();
    }
    set_state(state, detail);
    const uint64_t session = session_;
    timer_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, options_.backoff_max);
    timer_.async_wait([self = shared_from_this(), session](boost::system::error_code ec) {
      if (ec || session != self->session_ || self->closed_) return;
      self->do_connect();
    });
  }

  void shutdown_socket() {
    boost::system::error_code ignored;
    if (tls_) tls_->next_layer().close(ignored);
    if (socket_) socket_->close(ignored);
    writing_ = false;
    out_.clear();
    write_buf_.clear();
    reader_.reset();
  }

  // Unanswered commands fail; unconfirmed subscriptions wait for the resubscription instead.
  void fail_inflight(Errc why) {
    auto inflight = std::move(inflight_);
    inflight_.clear();
    for (auto& p : inflight) {
      if (p.kind == Pending::Kind::Subscription && why != Errc::closed) {
        for (auto& w : p.waiters) waiting_resubscribe_.push_back(std::move(w));
      } else {
        fail(p, why);
      }
    }
  }

  void fail_queued(Errc why) {
    auto queued = std::move(queued_);
    queued_.clear();
    for (auto& q : queued) fail(q.pending, why);
  }

  void fail(Pending& p, Errc why) {
    user(p.done, make_error_code(why), Reply{});
    for (auto& w : p.waiters) call(w, make_error_code(why));
  }

  void call(SubscribeHandler& h, std::error_code ec, std::string_view error_reply = {}) { user(h, ec, error_reply); }

  void set_state(State s, std::string_view detail) { user(options_.on_state, s, detail); }

  void log(const std::string& line) {
    if (options_.log) return user(options_.log, std::string_view(line));
    std::fprintf(stderr, "%s\n", line.c_str());
  }

  // Every user callback goes through here: none runs once the Connection is destroyed.
  template <class F, class... Args>
  void user(const F& f, Args&&... args) {
    std::lock_guard lock(gate_);
    if (detached_ || !f) return;
    f(std::forward<Args>(args)...);
  }

  void make_tls_context() {
    tls_context_.emplace(ssl::context::tls_client);
    try {
      tls_context_->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3);
      if (options_.tls.ca_file.empty()) {
        tls_context_->set_default_verify_paths();
      } else {
        tls_context_->load_verify_file(options_.tls.ca_file);
      }
      if (!options_.tls.cert_file.empty()) tls_context_->use_certificate_chain_file(options_.tls.cert_file);
      if (!options_.tls.key_file.empty()) tls_context_->use_private_key_file(options_.tls.key_file, ssl::context::pem);
    } catch (const boost::system::system_error& e) {
      config_error_ = std::string("TLS setup failed (CA, certificate or key file): ") + e.code().message();
    }
  }

  tcp::socket& tcp_socket() { return tls_ ? tls_->next_layer() : *socket_; }

  std::recursive_mutex gate_;  // held while a user callback runs; guards detached_
  bool detached_ = false;

  // Everything below is owned by strand_.
  const Options options_;
  Strand strand_;
  tcp::resolver resolver_;
  net::steady_timer timer_;  // connect timeout while connecting, backoff delay while disconnected
  std::optional<ssl::context> tls_context_;
  std::string config_error_;  // a TLS file that could not be read: every attempt would fail
  std::optional<tcp::socket> socket_;  // plain TCP
  std::optional<ssl::stream<tcp::socket>> tls_;  // rediss://
  std::unique_ptr<RespReader> reader_;  // one per session: a protocol error ends it
  std::array<char, 16 * 1024> read_buf_{};
  std::string out_;        // commands not yet handed to async_write
  std::string write_buf_;  // the bytes of the async_write in progress
  bool writing_ = false;
  std::deque<Pending> inflight_;  // written (or in out_), in reply order
  std::deque<Queued> queued_;     // issued while not Ready, bounded by options_.max_queued
  std::set<std::string> subscriptions_[3];  // by SubscriptionKind; resent after each reconnect
  std::vector<SubscribeHandler> waiting_resubscribe_;
  MessageHandler on_message_;
  Phase phase_ = Phase::Idle;
  uint64_t session_ = 0;  // bumped by every attempt and every end: handlers of older ones return
  size_t handshake_left_ = 0;
  bool started_ = false;
  bool closed_ = false;
  bool handshake_failed_ = false;  // new commands fail at once until a handshake succeeds
  bool ever_ready_ = false;
  bool outage_logged_ = false;  // one log line per outage, one when it ends
  Clock::time_point outage_start_{};
  std::chrono::milliseconds backoff_;
};

Connection::Connection(net::io_context& ioc, Options options)
    : ioc_(ioc), options_(options), impl_(std::make_shared<Impl>(ioc, std::move(options))) {}

Connection::~Connection() {
  impl_->detach();
  close();
}

void Connection::start() {
  net::post(impl_->strand(), [impl = impl_] { impl->do_start(); });
}

void Connection::close() {
  net::post(impl_->strand(), [impl = impl_] { impl->do_close(); });
}

void Connection::command(std::vector<std::string> args, ReplyHandler done) {
  net::post(impl_->strand(),
            [impl = impl_, args = std::move(args), done = std::move(done)]() mutable { impl->do_command(std::move(args), std::move(done)); });
}

void Connection::on_message(MessageHandler handler) {
  net::post(impl_->strand(), [impl = impl_, handler = std::move(handler)]() mutable { impl->do_on_message(std::move(handler)); });
}

void Connection::subscribe(SubscriptionKind kind, std::vector<std::string> channels, SubscribeHandler done) {
  net::post(impl_->strand(), [impl = impl_, kind, channels = std::move(channels), done = std::move(done)]() mutable {
    impl->do_subscribe(kind, std::move(channels), std::move(done), true);
  });
}

void Connection::unsubscribe(SubscriptionKind kind, std::vector<std::string> channels, SubscribeHandler done) {
  net::post(impl_->strand(), [impl = impl_, kind, channels = std::move(channels), done = std::move(done)]() mutable {
    impl->do_subscribe(kind, std::move(channels), std::move(done), false);
  });
}

std::unique_ptr<Connection> Connection::duplicate(Role role) const {
  Options o = options_;
  o.role = role;
  return std::make_unique<Connection>(ioc_, std::move(o));
}

std::string Connection::display() const { return options_.endpoint.display(); }

}  // namespace collabio::redis
