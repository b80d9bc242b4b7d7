// InboundBudget (native/core/inbound_budget.h): when a connection is over its share, and when it
// is resumed.
#include "core/inbound_budget.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>

namespace {

using collabio::core::InboundBudget;

std::shared_ptr<InboundBudget> budget(uint64_t bytes, uint64_t events, uint64_t total) {
  return std::make_shared<InboundBudget>(InboundBudget::Limits{bytes, events, total});
}

// pause_if_over's make_resume for the resume callback `fn`.
template <class F>
InboundBudget::MakeResume Resume(F fn) {
  return [fn] { return std::function<void()>(fn); };
}

TEST(InboundBudget, AConnectionWithNothingWaitingIsNeverPaused) {
  auto b = budget(100, 10, 150);
  int resumed = 0;
  EXPECT_FALSE(b->pause_if_over(1, Resume([&] { ++resumed; })));
  b->charge(1, 99);
  EXPECT_FALSE(b->pause_if_over(1, Resume([&] { ++resumed; })));
  EXPECT_EQ(resumed, 0);
  EXPECT_EQ(b->stats().pauses, 0u);
}

TEST(InboundBudget, OverItsBytesAConnectionPausesUntilReleasedUnderTheLimit) {
  auto b = budget(100, 10, 0);
  int resumed = 0;
  b->charge(1, 60);
  b->charge(1, 60);
  ASSERT_TRUE(b->pause_if_over(1, Resume([&] { ++resumed; })));
  EXPECT_EQ(b->stats().paused, 1u);
  b->release(1, 10);  // 110: still over
  EXPECT_EQ(resumed, 0);
  b->release(1, 60);  // 50
  EXPECT_EQ(resumed, 1);
  EXPECT_EQ(b->stats().paused, 0u);
  EXPECT_EQ(b->stats().pauses, 1u);
  b->release(1, 50);
  EXPECT_EQ(resumed, 1);  // once only
  EXPECT_EQ(b->stats().bytes, 0u);
  EXPECT_EQ(b->stats().events, 0u);
}

TEST(InboundBudget, OverItsEventsAConnectionPauses) {
  auto b = budget(0, 3, 0);
  int resumed = 0;
  for (int i = 0; i < 3; ++i) b->charge(7, 1);
  ASSERT_TRUE(b->pause_if_over(7, Resume([&] { ++resumed; })));
  b->release(7, 1, 1);
  EXPECT_EQ(resumed, 1);
}

TEST(InboundBudget, TheTotalPausesOnlyConnectionsWithSomethingWaiting) {
  auto b = budget(100, 10, 150);
  int resumed1 = 0, resumed2 = 0;
  b->charge(1, 90);
  b->charge(2, 70);  // total 160
  ASSERT_TRUE(b->pause_if_over(1, Resume([&] { ++resumed1; })));
  ASSERT_TRUE(b->pause_if_over(2, Resume([&] { ++resumed2; })));
  // Connection 3 has nothing waiting: it may still read (a quiet client's ack is answered).
  EXPECT_FALSE(b->pause_if_over(3, Resume([] {})));
  EXPECT_EQ(b->stats().paused, 2u);
  // Releasing connection 1 brings the total under the limit: both resume.
  b->release(1, 90);
  EXPECT_EQ(resumed1, 1);
  EXPECT_EQ(resumed2, 1);
  EXPECT_EQ(b->stats().paused, 0u);
}

TEST(InboundBudget, ConnectionZeroCountsInTheTotalOnly) {
  auto b = budget(100, 10, 150);
  b->charge(0, 200);
  EXPECT_EQ(b->stats().bytes, 200u);
  EXPECT_FALSE(b->pause_if_over(0, Resume([] {})));
  b->charge(1, 1);
  int resumed = 0;
  ASSERT_TRUE(b->pause_if_over(1, Resume([&] { ++resumed; })));  // the total is over and 1 has bytes waiting
  b->release(0, 200);
  EXPECT_EQ(resumed, 1);
}

TEST(InboundBudget, AHoldReleasesWhenItGoesAway) {
  auto b = budget(100, 10, 0);
  int resumed = 0;
  auto h = b->hold(4, 150);
  EXPECT_TRUE(h);  // a handle tests true: holders keep it with `if (hold)` (Event::hold)
  EXPECT_EQ(b->stats().bytes, 150u);
  ASSERT_TRUE(b->pause_if_over(4, Resume([&] { ++resumed; })));
  h.reset();
  EXPECT_EQ(resumed, 1);
  EXPECT_EQ(b->stats().bytes, 0u);
}

TEST(InboundBudget, APausedConnectionIsNotPausedTwice) {
  auto b = budget(10, 10, 0);
  b->charge(1, 20);
  int first = 0, second = 0;
  ASSERT_TRUE(b->pause_if_over(1, Resume([&] { ++first; })));
  EXPECT_FALSE(b->pause_if_over(1, Resume([&] { ++second; })));
  b->release(1, 20);
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 0);
}

TEST(InboundBudget, AConnectionThatReadsOnMakesNoResumeCallback) {
  auto b = budget(100, 10, 150);
  int made = 0;
  const InboundBudget::MakeResume counting = [&] {
    ++made;
    return std::function<void()>([] {});
  };
  b->charge(1, 50);
  EXPECT_FALSE(b->pause_if_over(1, counting));
  EXPECT_EQ(made, 0) << "under its share: nothing to resume";
  b->charge(1, 60);
  ASSERT_TRUE(b->pause_if_over(1, counting));
  EXPECT_EQ(made, 1);
}

TEST(InboundBudget, EntriesReusedAfterReleaseStartBlank) {
  // A connection's entry goes when it has nothing waiting, and its map node serves the next one.
  auto b = budget(100, 2, 0);
  for (uint64_t conn = 1; conn <= 1000; ++conn) {
    b->charge(conn, 10);
    EXPECT_FALSE(b->pause_if_over(conn, Resume([] {}))) << conn;
    b->release(conn, 10);
  }
  EXPECT_EQ(b->stats().bytes, 0u);
  EXPECT_EQ(b->stats().events, 0u);
  b->charge(7, 10);
  b->charge(7, 10);
  int resumed = 0;
  ASSERT_TRUE(b->pause_if_over(7, Resume([&] { ++resumed; }))) << "two events reach the limit of 2, no more";
  b->release(7, 10);
  EXPECT_EQ(resumed, 1);
}

}  // namespace
