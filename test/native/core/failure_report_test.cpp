// Failures the core handles with no client to tell are counted and reported to the host as an
// Event::kWarning (lib/warnings.js logs it): here an exception escaping a handler into ioc.run(),
// and a shutdown held by an operation that nothing cancels.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/server_impl.h"

using namespace collabio::core;
using namespace std::chrono_literals;

namespace {

class Sink : public EventSink {
 public:
  void notify() override {
    std::lock_guard lk(mu);
    ++notified;
    cv.notify_all();
  }
  void closed() override {
    std::lock_guard lk(mu);
    is_closed = true;
    cv.notify_all();
  }
  std::mutex mu;
  std::condition_variable cv;
  int notified = 0;
  bool is_closed = false;
};

// The events waiting for the host are exactly one warning with `code`, whose text holds `part`.
void expect_one_warning(ServerImpl& server, const std::string& code, const std::string& part) {
  std::vector<Event> events;
  server.drain_events(events);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, Event::kWarning);
  EXPECT_EQ(events[0].extra, code);
  EXPECT_NE(events[0].data.find(part), std::string::npos) << events[0].data;
}

TEST(FailureReport, AnExceptionEscapingAHandlerIsCountedReportedAndTheServerGoesOn) {
  Sink sink;
  Options opts;
  opts.threads = 2;
  opts.documents.enabled = false;
  auto server = std::make_shared<ServerImpl>(opts, &sink);
  server->listen("127.0.0.1", 0);

  net::post(server->ioc, [] { throw std::runtime_error("boom"); });
  {
    std::unique_lock lk(sink.mu);
    ASSERT_TRUE(sink.cv.wait_for(lk, 10s, [&] { return sink.notified > 0; }));
  }
  EXPECT_EQ(server->handler_exceptions.load(), 1u);
  expect_one_warning(*server, "COLLABIO_HANDLER_EXCEPTION", "boom");

  // The thread that caught it runs handlers again: a second one still runs.
  std::promise<void> ran;
  net::post(server->ioc, [&] { ran.set_value(); });
  EXPECT_EQ(ran.get_future().wait_for(10s), std::future_status::ready);

  server->close();
  {
    std::unique_lock lk(sink.mu);
    EXPECT_TRUE(sink.cv.wait_for(lk, 10s, [&] { return sink.is_closed; }));
  }
  server->join_threads();
  EXPECT_EQ(server->forced_shutdowns.load(), 0u);  // nothing held this one
}

TEST(FailureReport, AShutdownHeldByAnOperationNothingCancelsIsStoppedReportedAndCounted) {
  Sink sink;
  Options opts;
  opts.threads = 2;
  opts.close_timeout = 200;
  opts.documents.enabled = false;
  auto server = std::make_shared<ServerImpl>(opts, &sink);
  server->listen("127.0.0.1", 0);
  // A wait of an hour that the shutdown knows nothing about: without the watchdog the I/O threads
  // would run until it fires, and "closed" would never come.
  net::steady_timer stray(server->ioc);
  stray.expires_after(1h);
  bool fired = false;
  stray.async_wait([&](boost::system::error_code) { fired = true; });

  server->close();
  {
    // Hang detection, not a timing assertion: the bound is closeTimeout + 1 s = 1.2 s.
    std::unique_lock lk(sink.mu);
    ASSERT_TRUE(sink.cv.wait_for(lk, 30s, [&] { return sink.is_closed; }));
  }
  server->join_threads();
  EXPECT_FALSE(fired);
  EXPECT_EQ(server->forced_shutdowns.load(), 1u);
  expect_one_warning(*server, "COLLABIO_SHUTDOWN_FORCED", "1200 ms");
}

}  // namespace
