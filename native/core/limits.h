// Admission control at the accept loop (ServerImpl::on_accept): the connection cap and the per-IP
// connection rate. A refused TCP connection gets a tiny fixed HTTP response and is closed; it never
// reaches the HTTP parser, so a flood costs one accept, one write and one close per socket.
//
//   over Options::max_connections  -> "HTTP/1.1 503 Service Unavailable" (Retry-After: 1)
//   over the per-IP token bucket   -> "HTTP/1.1 429 Too Many Requests"   (Retry-After: 1)
//
// The limits and what a client sees are documented in docs/LIMITS.md.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace collabio::core {

// A token bucket per remote address: `rate` tokens per second, at most `burst` stored; a new
// connection takes one token. Example: rate 2, burst 3 admits 3 connections at once, then one
// every 500 ms. Memory is bounded: at most kMaxTracked addresses are remembered; full buckets are
// forgotten first (an address whose bucket is full is indistinguishable from a new one).
class ConnectionRateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kMaxTracked = 65536;

  // rate <= 0 turns the limiter off (admit() always true).
  ConnectionRateLimiter(double rate, double burst, bool limit_loopback)
      : rate_(rate), burst_(burst < 1 ? 1 : burst), limit_loopback_(limit_loopback) {}

  // Any thread. True when a connection from `addr` may proceed now (and takes its token).
  bool admit(const boost::asio::ip::address& addr, Clock::time_point now = Clock::now());
  size_t tracked() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  using Key = std::array<unsigned char, 16>;  // IPv6 bytes; IPv4 as ::ffff:a.b.c.d
  struct KeyHash {
    size_t operator()(const Key& k) const noexcept;
  };
  void prune(Clock::time_point now);  // mu_ held

  const double rate_;
  const double burst_;
  const bool limit_loopback_;
  mutable std::mutex mu_;
  std::unordered_map<Key, Bucket, KeyHash> buckets_;  // guarded by mu_
};

enum class Admission { Admit, TooManyConnections, RateLimited };

// The fixed response for a refusal (static storage; empty for Admit).
std::string_view refusal_response(Admission verdict);

// Writes refusal_response(verdict) on `socket`, half-closes, drains what the client sends for a
// short grace period (so the kernel does not answer its pending request with a reset that would
// destroy the response), then closes. The socket owns itself through the pending handlers.
void refuse_connection(boost::asio::ip::tcp::socket socket, Admission verdict);

}  // namespace collabio::core
