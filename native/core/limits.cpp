#include "core/limits.h"

#include <algorithm>
#include <array>
#include <functional>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

namespace collabio::core {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr std::string_view k503 =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n"
    "Retry-After: 1\r\nConnection: close\r\n\r\nToo many connections";
constexpr std::string_view k429 =
    "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n"
    "Retry-After: 1\r\nConnection: close\r\n\r\nToo many requests";

// How long a refused socket is drained before it is closed; bounds what a flood can hold open.
constexpr auto kRefusalGrace = std::chrono::milliseconds(1000);

// A refused socket while its response leaves. Owner: its socket's executor (handlers run one at a
// time); kept alive by the pending handlers.
class Refusal : public std::enable_shared_from_this<Refusal> {
 public:
  Refusal(tcp::socket socket, std::string_view response)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), response_(response) {}

  void start() {
    timer_.expires_after(kRefusalGrace);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->finish();
    });
    net::async_write(socket_, net::buffer(response_.data(), response_.size()),
                     [self = shared_from_this()](boost::system::error_code ec, size_t) {
                       if (ec) return self->finish();
                       boost::system::error_code ignored;
                       self->socket_.shutdown(tcp::socket::shutdown_send, ignored);
                       self->drain();
                     });
  }

 private:
  void drain() {
    socket_.async_read_some(net::buffer(sink_), [self = shared_from_this()](boost::system::error_code ec, size_t) {
      if (ec) return self->finish();  // EOF: the client read the response and closed
      self->drain();
    });
  }

  void finish() {
    if (done_) return;
    done_ = true;
    timer_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  tcp::socket socket_;
  net::steady_timer timer_;
  const std::string_view response_;  // static storage
  std::array<char, 1024> sink_{};    // discarded request bytes
  bool done_ = false;
};

}  // namespace

bool ConnectionRateLimiter::admit(const net::ip::address& addr, Clock::time_point now) {
  if (rate_ <= 0) return true;
  if (!limit_loopback_ && addr.is_loopback()) return true;
  // An IPv4 client on a dual-stack socket appears as ::ffff:a.b.c.d: the same key as a.b.c.d.
  const net::ip::address_v6 v6 =
      addr.is_v4() ? net::ip::make_address_v6(net::ip::v4_mapped, addr.to_v4()) : addr.to_v6();
  if (!limit_loopback_ && v6.is_v4_mapped() && net::ip::make_address_v4(net::ip::v4_mapped, v6).is_loopback())
    return true;
  const Key key = v6.to_bytes();
  std::lock_guard lk(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= kMaxTracked) prune(now);
    it = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.last).count();
  b.tokens = std::min(burst_, b.tokens + std::max(0.0, elapsed) * rate_);
  b.last = now;
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

size_t ConnectionRateLimiter::KeyHash::operator()(const Key& k) const noexcept {
  return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
}

size_t ConnectionRateLimiter::tracked() const {
  std::lock_guard lk(mu_);
  return buckets_.size();
}

void ConnectionRateLimiter::prune(Clock::time_point now) {
  std::erase_if(buckets_, [&](const auto& kv) {
    const double elapsed = std::chrono::duration<double>(now - kv.second.last).count();
    return kv.second.tokens + elapsed * rate_ >= burst_;
  });
  // Still full (a flood from as many addresses): forget everyone rather than grow without bound.
  if (buckets_.size() >= kMaxTracked) buckets_.clear();
}

std::string_view refusal_response(Admission verdict) {
  switch (verdict) {
    case Admission::TooManyConnections: return k503;
    case Admission::RateLimited: return k429;
    case Admission::Admit: break;
  }
  return {};
}

void refuse_connection(tcp::socket socket, Admission verdict) {
  std::make_shared<Refusal>(std::move(socket), refusal_response(verdict))->start();
}

}  // namespace collabio::core
