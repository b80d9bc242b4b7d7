// Standalone TLS: the listener terminates TLS with OpenSSL (Boost.Asio's ssl::stream) and serves the
// plaintext like any accepted connection.
//
// After the handshake, a TlsFront copies bytes between the TLS stream and one end of a socket pair;
// the other end is adopted (Server::adopt, AdoptOptions::secure) by an ordinary HTTP session. So
// the HTTP, Engine.IO, WebSocket and document code is compiled once, for one socket type: the
// OpenSSL templates live in this translation unit only, at the price of one copy through a local
// socket per chunk (docs/architecture.md, "TLS").
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <stdexcept>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "core/server_impl.h"

namespace collabio::core {

namespace ssl = net::ssl;

class TlsContext {
 public:
  explicit TlsContext(const TlsOptions& o) : ctx_(ssl::context::tls_server) {
    ctx_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
    boost::system::error_code ec;
    // Always a callback, also without a passphrase: OpenSSL's default one prompts on the terminal,
    // which would block listen() on an encrypted key instead of failing with "tls.key".
    ctx_.set_password_callback([p = o.passphrase](size_t, ssl::context::password_purpose) { return p; }, ec);
    fail_if(ec, "passphrase");
    ctx_.use_certificate_chain(net::buffer(o.cert), ec);
    fail_if(ec, "tls.cert");
    ctx_.use_private_key(net::buffer(o.key), ssl::context::pem, ec);
    fail_if(ec, "tls.key");
    if (!o.ca.empty()) {
      ctx_.add_certificate_authority(net::buffer(o.ca), ec);
      fail_if(ec, "tls.ca");
    }
  }
  ssl::context& get() { return ctx_; }

 private:
  static void fail_if(const boost::system::error_code& ec, const char* what) {
    if (ec) throw TlsError(std::string(what) + ": " + ec.message());
  }
  ssl::context ctx_;  // read-only once built; OpenSSL's SSL_CTX is safe to share between connections
};

std::shared_ptr<TlsContext> make_tls_context(const TlsOptions& options) {
  return std::make_shared<TlsContext>(options);
}

namespace {

using local = net::local::stream_protocol;

// One TLS connection. Owner of every member: the strand of the accepted socket (both sockets and
// the timer run on it). Two pumps run at once: up (TLS -> plain) and down (plain -> TLS); each
// has one operation in flight at a time, which is what ssl::stream allows.
class TlsFront : public std::enable_shared_from_this<TlsFront> {
 public:
  TlsFront(std::shared_ptr<ServerImpl> server, std::shared_ptr<TlsContext> ctx, tcp::socket socket)
      : server_(std::move(server)),
        ctx_(std::move(ctx)),
        tls_(std::move(socket), ctx_->get()),
        plain_(tls_.get_executor()),
        timer_(tls_.get_executor()) {}

  void run() {
    boost::system::error_code ec;
    const auto remote = tls_.lowest_layer().remote_endpoint(ec);
    if (!ec) address_ = remote.address().to_string();
    // A client that never finishes its handshake is cut off like a slow HTTP request head.
    timer_.expires_after(std::chrono::milliseconds(server_->opts.handshake_timeout));
    timer_.async_wait([self = shared_from_this()](boost::system::error_code e) {
      if (!e && !self->handshaken_) self->close();
    });
    tls_.async_handshake(ssl::stream_base::server,
                         [self = shared_from_this()](boost::system::error_code e) { self->on_handshake(e); });
  }

 private:
  void on_handshake(boost::system::error_code ec) {
    handshaken_ = true;
    timer_.cancel();
    if (ec || server_->closing()) {
      close();
      return;
    }
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
      close();
      return;
    }
    plain_.assign(local(), fds[1], ec);
    if (ec) {
      ::close(fds[0]);
      ::close(fds[1]);
      close();
      return;
    }
    AdoptOptions options;
    options.address = address_;
    options.secure = true;
    options.single_request = false;  // the whole connection is the core's
    if (!server_->adopt(fds[0], {}, std::move(options))) {
      close();
      return;
    }
    do_read_up();
    do_read_down();
  }

  void do_read_up() {
    tls_.async_read_some(net::buffer(up_), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
      self->on_read_up(ec, n);
    });
  }
  void on_read_up(boost::system::error_code ec, size_t n) {
    if (ec) {
      // The client is gone (or sent close_notify): the core's session sees the end of its stream.
      boost::system::error_code ignored;
      plain_.shutdown(local::socket::shutdown_send, ignored);
      up_done_ = true;
      if (down_done_) close();
      return;
    }
    net::async_write(plain_, net::buffer(up_.data(), n), [self = shared_from_this()](boost::system::error_code e, size_t) {
      if (e) {
        self->close();
        return;
      }
      self->do_read_up();
    });
  }

  void do_read_down() {
    plain_.async_read_some(net::buffer(down_), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
      self->on_read_down(ec, n);
    });
  }
  void on_read_down(boost::system::error_code ec, size_t n) {
    if (ec) {
      // The core closed the connection: say so in TLS (close_notify), bounded by closeTimeout.
      down_done_ = true;
      timer_.expires_after(std::chrono::milliseconds(server_->opts.close_timeout));
      timer_.async_wait([self = shared_from_this()](boost::system::error_code e) {
        if (!e) self->close();
      });
      tls_.async_shutdown([self = shared_from_this()](boost::system::error_code) { self->close(); });
      return;
    }
    net::async_write(tls_, net::buffer(down_.data(), n), [self = shared_from_this()](boost::system::error_code e, size_t) {
      if (e) {
        self->close();
        return;
      }
      self->do_read_down();
    });
  }

  void close() {
    boost::system::error_code ignored;
    timer_.cancel();
    tls_.lowest_layer().close(ignored);
    plain_.close(ignored);
  }

  const std::shared_ptr<ServerImpl> server_;
  const std::shared_ptr<TlsContext> ctx_;  // outlives tls_ (declared before it)
  ssl::stream<tcp::socket> tls_;
  local::socket plain_;
  net::steady_timer timer_;
  std::string address_;
  bool handshaken_ = false;
  bool up_done_ = false;
  bool down_done_ = false;
  std::array<char, 16 * 1024> up_{};    // one TLS record's plaintext at most
  std::array<char, 16 * 1024> down_{};
};

}  // namespace

void start_tls_front(const std::shared_ptr<ServerImpl>& server, const std::shared_ptr<TlsContext>& context,
                     tcp::socket socket) {
  std::make_shared<TlsFront>(server, context, std::move(socket))->run();
}

}  // namespace collabio::core
