// What the tests against a real redis-server share (connection_test, adapter_test): the threads
// the connections run on, commands and subscriptions waited for, and a subscriber's inbox. The
// server itself is redis_server.h's: each test starts its own.
//
// Every wait here is bounded by kWait, which only stops a hung test: nothing asserts on time.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "redis/connection.h"
#include "redis_server.h"

namespace collabio::test {

inline constexpr std::chrono::seconds kWait{20};

// An io_context on two threads, as the core runs it. Declare it after the redis-server and before
// the connections, so that they close before its threads stop.
class IoThreads {
 public:
  IoThreads() : guard_(ioc.get_executor()) {
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { ioc.run(); });
  }
  ~IoThreads() {
    guard_.reset();
    ioc.stop();
    for (auto& t : threads_) t.join();
  }
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

  boost::asio::io_context ioc;

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::vector<std::thread> threads_;
};

// "redis://[userinfo]127.0.0.1:<port>/<db>" of the server's plain port.
inline std::string url_of(const RedisServer& s, const std::string& userinfo = "", int db = 0) {
  return "redis://" + userinfo + "127.0.0.1:" + std::to_string(s.port()) + "/" + std::to_string(db);
}

// Connection options for `url` in `role`, with a short reconnection backoff (20..200 ms) so that a
// test restarting the server does not wait long.
inline redis::Options options_for(const std::string& url, redis::Role role = redis::Role::Commands) {
  redis::Options o;
  std::string error;
  EXPECT_TRUE(redis::parse_url(url, o.endpoint, error)) << error;
  o.role = role;
  o.backoff_min = std::chrono::milliseconds(20);
  o.backoff_max = std::chrono::milliseconds(200);
  return o;
}

struct Result {
  std::error_code ec;
  redis::Reply reply;
};

// Runs one command and waits for its answer; a missing answer is a test failure (ec = closed).
inline Result run(redis::Connection& c, std::vector<std::string> args) {
  auto p = std::make_shared<std::promise<Result>>();
  auto f = p->get_future();
  c.command(std::move(args), [p](std::error_code ec, redis::Reply r) { p->set_value({ec, std::move(r)}); });
  if (f.wait_for(kWait) != std::future_status::ready) {
    ADD_FAILURE() << "no reply";
    return {make_error_code(redis::Errc::closed), {}};
  }
  return f.get();
}

// Subscribes and waits until Redis confirmed every channel; a refusal is a test failure.
inline void subscribe(redis::Connection& c, redis::SubscriptionKind kind, std::vector<std::string> channels) {
  auto p = std::make_shared<std::promise<std::string>>();
  auto f = p->get_future();
  c.subscribe(kind, std::move(channels), [p](std::error_code ec, std::string_view err) {
    p->set_value(ec ? ec.message() : std::string(err));
  });
  ASSERT_EQ(f.wait_for(kWait), std::future_status::ready) << "subscription not confirmed";
  EXPECT_EQ(f.get(), "");
}

// The messages a subscriber received, in order. Declare it before the connection whose handler()
// fills it, so that it outlives the connection.
struct Inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<redis::Message> messages;  // guarded by mu; read directly once wait_for() returned

  redis::MessageHandler handler() {
    return [this](redis::Message&& m) {
      std::lock_guard lock(mu);
      messages.push_back(std::move(m));
      cv.notify_all();
    };
  }
  // True once `n` messages have arrived.
  bool wait_for(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, kWait, [&] { return messages.size() >= n; });
  }
  // The n-th message (from 0), waited for.
  std::optional<redis::Message> at(size_t n) {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, kWait, [&] { return messages.size() > n; })) return std::nullopt;
    return messages[n];
  }
};

}  // namespace collabio::test
