// Attached mode: the host application's own HTTP server accepts connections and hands the core the
// ones it serves (docs/architecture.md, "Attached mode").
//
// - adopt(): a WebSocket upgrade on a plain TCP connection. The host passes a duplicate of the
//   connection's descriptor and the bytes it has already read; the core serves it exactly like a
//   connection it accepted itself, so after the hand-off no byte passes through the host.
// - relay(): what cannot be adopted (a TLS connection the host terminates, one long-polling request
//   from the host's `request` event) reaches the core through a socket pair; the host copies bytes
//   between the pair and its own socket.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include "core/http_session.h"
#include "core/limits.h"
#include "core/server_impl.h"

namespace collabio::core {

namespace {

// Closes a descriptor unless released: every early return of adopt() closes what it was given.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// The protocol to give Asio for `fd`: its address family (a socket pair's AF_UNIX end is driven as
// a stream socket too; Asio then only reads and writes it).
tcp protocol_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 && ss.ss_family == AF_INET6) return tcp::v6();
  return tcp::v4();
}

}  // namespace

bool ServerImpl::adopt(int fd, std::string prefix, AdoptOptions options) {
  FdGuard guard(fd);
  if (fd < 0 || !listening_ || closing()) return false;
  // Asio drives the descriptor in non-blocking mode with its own reactor; close-on-exec so that a
  // child process the application spawns does not keep the connection open.
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  tcp::socket socket(net::make_strand(ioc));
  boost::system::error_code ec;
  socket.assign(protocol_of(fd), fd, ec);
  if (ec) return false;
  guard.release();  // the socket owns it now
  socket.set_option(tcp::no_delay(true), ec);  // fails harmlessly on a socket pair
  if (opts.max_connections && open_connections.load(std::memory_order_relaxed) >= opts.max_connections) {
    // As at accept (limits.h): the peer gets a 503. The per-IP rate applies to accepts, which
    // the host made; one hand-off per request it already took is not counted again.
    auto exec = socket.get_executor();
    net::post(exec, [s = std::move(socket)]() mutable { refuse_connection(std::move(s), Admission::TooManyConnections); });
    return true;
  }
  auto exec = socket.get_executor();
  net::post(exec, [self = shared_from_this(), s = std::move(socket), prefix = std::move(prefix),
                   options = std::move(options)]() mutable {
    start_adopted_session(self, std::move(s), std::move(prefix), std::move(options));
  });
  return true;
}

int ServerImpl::relay(std::string prefix, AdoptOptions options) {
  if (!listening_ || closing()) throw std::system_error(std::make_error_code(std::errc::not_connected), "server not running");
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::system_error(errno, std::generic_category(), "socketpair");
  FdGuard host_end(fds[1]);
  if (!adopt(fds[0], std::move(prefix), std::move(options)))
    throw std::system_error(std::make_error_code(std::errc::not_connected), "server not running");
  return host_end.release();
}

void start_adopted_session(const std::shared_ptr<ServerImpl>& server, tcp::socket socket, std::string prefix,
                           AdoptOptions options) {
  auto s = std::make_shared<HttpSession>(server, std::move(socket));
  server->track_http(s);
  s->run_adopted(std::move(prefix), std::move(options));
}

void HttpSession::run_adopted(std::string prefix, AdoptOptions options) {
  peer_address_ = std::move(options.address);
  secure_ = options.secure;
  single_request_ = options.single_request;
  if (!prefix.empty()) {
    const size_t n = net::buffer_copy(buffer_.prepare(prefix.size()), net::buffer(prefix));
    buffer_.commit(n);
  }
  do_read();
}

}  // namespace collabio::core
