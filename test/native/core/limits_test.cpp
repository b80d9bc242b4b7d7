// The per-IP token bucket (native/core/limits.h) with an explicit clock.
#include "core/limits.h"

#include <gtest/gtest.h>

using namespace collabio::core;
using namespace std::chrono_literals;
namespace ip = boost::asio::ip;

TEST(ConnectionRateLimiter, AdmitsTheBurstThenOnePerPeriod) {
  ConnectionRateLimiter l(/*rate=*/2, /*burst=*/3, /*limit_loopback=*/true);
  const auto a = ip::make_address("203.0.113.7");
  const auto t0 = ConnectionRateLimiter::Clock::now();
  EXPECT_TRUE(l.admit(a, t0));
  EXPECT_TRUE(l.admit(a, t0));
  EXPECT_TRUE(l.admit(a, t0));
  EXPECT_FALSE(l.admit(a, t0));
  EXPECT_FALSE(l.admit(a, t0 + 400ms));  // 0.8 token
  EXPECT_TRUE(l.admit(a, t0 + 500ms));   // 1 token after 500 ms at 2/s
  EXPECT_FALSE(l.admit(a, t0 + 500ms));
  EXPECT_TRUE(l.admit(a, t0 + 10s));     // refilled, capped at the burst
  EXPECT_TRUE(l.admit(a, t0 + 10s));
  EXPECT_TRUE(l.admit(a, t0 + 10s));
  EXPECT_FALSE(l.admit(a, t0 + 10s));
}

TEST(ConnectionRateLimiter, AddressesHaveSeparateBuckets) {
  ConnectionRateLimiter l(1, 1, true);
  const auto t0 = ConnectionRateLimiter::Clock::now();
  EXPECT_TRUE(l.admit(ip::make_address("198.51.100.1"), t0));
  EXPECT_FALSE(l.admit(ip::make_address("198.51.100.1"), t0));
  EXPECT_TRUE(l.admit(ip::make_address("198.51.100.2"), t0));
  EXPECT_TRUE(l.admit(ip::make_address("2001:db8::1"), t0));
}

TEST(ConnectionRateLimiter, V4MappedV6IsTheSameClientAsV4) {
  ConnectionRateLimiter l(1, 1, true);
  const auto t0 = ConnectionRateLimiter::Clock::now();
  EXPECT_TRUE(l.admit(ip::make_address("192.0.2.9"), t0));
  EXPECT_FALSE(l.admit(ip::make_address("::ffff:192.0.2.9"), t0));
}

TEST(ConnectionRateLimiter, LoopbackIsExemptUnlessAsked) {
  ConnectionRateLimiter exempt(1, 1, false);
  const auto t0 = ConnectionRateLimiter::Clock::now();
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(exempt.admit(ip::make_address("127.0.0.1"), t0));
    EXPECT_TRUE(exempt.admit(ip::make_address("::ffff:127.0.0.1"), t0));
    EXPECT_TRUE(exempt.admit(ip::make_address("::1"), t0));
  }
  EXPECT_EQ(exempt.tracked(), 0u);
  ConnectionRateLimiter limited(1, 1, true);
  EXPECT_TRUE(limited.admit(ip::make_address("127.0.0.1"), t0));
  EXPECT_FALSE(limited.admit(ip::make_address("127.0.0.1"), t0));
}

TEST(ConnectionRateLimiter, ZeroRateIsOff) {
  ConnectionRateLimiter l(0, 1, true);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(l.admit(ip::make_address("203.0.113.1")));
  EXPECT_EQ(l.tracked(), 0u);
}

TEST(ConnectionRateLimiter, MemoryIsBoundedUnderAnAddressFlood) {
  ConnectionRateLimiter l(1, 1, true);
  auto t = ConnectionRateLimiter::Clock::now();
  ip::address_v6::bytes_type b{};
  b[0] = 0x20;
  b[1] = 0x01;
  for (uint32_t i = 0; i < ConnectionRateLimiter::kMaxTracked + 1000; ++i) {
    b[12] = static_cast<unsigned char>(i >> 24);
    b[13] = static_cast<unsigned char>(i >> 16);
    b[14] = static_cast<unsigned char>(i >> 8);
    b[15] = static_cast<unsigned char>(i);
    l.admit(ip::address_v6(b), t);
  }
  EXPECT_LE(l.tracked(), ConnectionRateLimiter::kMaxTracked);
}

TEST(Refusals, ResponsesAreCompleteHttp) {
  const auto r503 = refusal_response(Admission::TooManyConnections);
  const auto r429 = refusal_response(Admission::RateLimited);
  EXPECT_EQ(r503.rfind("HTTP/1.1 503 ", 0), 0u);
  EXPECT_EQ(r429.rfind("HTTP/1.1 429 ", 0), 0u);
  // Content-Length matches the body.
  for (auto r : {r503, r429}) {
    const size_t end = r.find("\r\n\r\n");
    ASSERT_NE(end, std::string_view::npos);
    const size_t cl = r.find("Content-Length: ");
    ASSERT_NE(cl, std::string_view::npos);
    EXPECT_EQ(std::stoul(std::string(r.substr(cl + 16))), r.size() - end - 4);
  }
  EXPECT_TRUE(refusal_response(Admission::Admit).empty());
}
