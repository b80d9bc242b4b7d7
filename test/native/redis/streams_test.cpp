// Stream and lease helpers (redis/streams.h) against a real redis-server: XADD / XRANGE /
// XREAD BLOCK on a reader of its own / XTRIM MINID / SET NX PX.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <thread>

#include "redis/connection.h"
#include "redis/streams.h"
#include "redis_server.h"

namespace redis = collabio::redis;
using collabio::test::RedisServer;
using namespace std::chrono_literals;

namespace {

class IoThread {
 public:
  IoThread() : guard_(ioc.get_executor()), thread_([this] { ioc.run(); }) {}
  ~IoThread() {
    guard_.reset();
    ioc.stop();
    thread_.join();
  }
  boost::asio::io_context ioc;

 private:
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

redis::Reply run(redis::Connection& c, std::vector<std::string> args) {
  auto p = std::make_shared<std::promise<redis::Reply>>();
  auto f = p->get_future();
  c.command(std::move(args), [p](std::error_code ec, redis::Reply r) {
    if (ec) {
      r.type = redis::Reply::Type::Error;
      r.str = ec.message();
    }
    p->set_value(std::move(r));
  });
  if (f.wait_for(20s) != std::future_status::ready) {
    ADD_FAILURE() << "no reply";
    return {};
  }
  return f.get();
}

std::unique_ptr<redis::Connection> connect(IoThread& io, const RedisServer& s) {
  redis::Options o;
  std::string error;
  EXPECT_TRUE(redis::parse_url("redis://127.0.0.1:" + std::to_string(s.port()), o.endpoint, error));
  auto c = std::make_unique<redis::Connection>(io.ioc, o);
  c->start();
  return c;
}

}  // namespace

TEST(RedisStreamId, ParsesAndOrders) {
  redis::StreamId a;
  ASSERT_TRUE(redis::parse_stream_id("1700000000000-3", a));
  EXPECT_EQ(a.ms, 1700000000000u);
  EXPECT_EQ(a.seq, 3u);
  EXPECT_EQ(a.to_string(), "1700000000000-3");
  redis::StreamId b;
  ASSERT_TRUE(redis::parse_stream_id("1700000000000", b));
  EXPECT_LT(b, a);
  EXPECT_LT(a, (redis::StreamId{1700000000001, 0}));
  for (const char* bad : {"", "-", "1-", "-1", "x-1", "1-2-3", "18446744073709551616-0"}) {
    EXPECT_FALSE(redis::parse_stream_id(bad, a)) << bad;
  }
}

TEST(RedisStreams, AppendRangeReadTrim) {
  RedisServer server;
  server.start();
  IoThread io;
  auto c = connect(io, server);
  const std::string key = "collabio:{doc-1}:updates";
  std::vector<redis::StreamId> ids;
  for (int i = 0; i < 5; ++i) {
    const auto r = run(*c, redis::xadd(key, {{"u", "update-" + std::to_string(i)}, {"origin", "node-a"}}));
    redis::StreamId id;
    ASSERT_TRUE(redis::parse_stream_id(r, id)) << r.str;
    if (!ids.empty()) {
      EXPECT_LT(ids.back(), id);
    }
    ids.push_back(id);
  }
  std::vector<redis::StreamEntry> entries;
  ASSERT_TRUE(redis::parse_entries(run(*c, redis::xrange(key, "-", "+")), entries));
  ASSERT_EQ(entries.size(), 5u);
  EXPECT_EQ(entries[2].id, ids[2]);
  ASSERT_EQ(entries[2].fields.size(), 2u);
  EXPECT_EQ(entries[2].fields[0], (std::pair<std::string, std::string>{"u", "update-2"}));
  EXPECT_EQ(entries[2].fields[1], (std::pair<std::string, std::string>{"origin", "node-a"}));
  // Exclusive start and COUNT: what a reader resuming after ids[1] asks for.
  ASSERT_TRUE(redis::parse_entries(run(*c, redis::xrange(key, "(" + ids[1].to_string(), "+", 2)), entries));
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].id, ids[2]);

  // A non-blocking XREAD from an id gives the entries after it.
  std::vector<redis::StreamBatch> batches;
  ASSERT_TRUE(redis::parse_xread(run(*c, redis::xread_block(1, {{key, ids[3].to_string()}})), batches));
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].key, key);
  ASSERT_EQ(batches[0].entries.size(), 1u);
  EXPECT_EQ(batches[0].entries[0].id, ids[4]);
  // Nothing new within the block time: nil, an empty list.
  ASSERT_TRUE(redis::parse_xread(run(*c, redis::xread_block(1, {{key, ids[4].to_string()}})), batches));
  EXPECT_TRUE(batches.empty());

  // XTRIM MINID drops the entries older than the id (exact form).
  const auto trimmed = run(*c, redis::xtrim_minid(key, ids[3]));
  EXPECT_EQ(trimmed.type, redis::Reply::Type::Integer);
  EXPECT_EQ(trimmed.integer, 3);
  ASSERT_TRUE(redis::parse_entries(run(*c, redis::xrange(key, "-", "+")), entries));
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].id, ids[3]);
  // A reader positioned before the trim point can tell: the first id left is past its position.
  EXPECT_LT(ids[1], entries[0].id);
  // The approximate form is accepted too.
  EXPECT_EQ(run(*c, redis::xtrim_minid(key, ids[4], true)).type, redis::Reply::Type::Integer);
  // XADD with MAXLEN ~ keeps the stream bounded.
  redis::StreamId id;
  EXPECT_TRUE(redis::parse_stream_id(run(*c, redis::xadd(key, {{"u", "x"}}, 1000)), id));
}

TEST(RedisStreams, BlockingReadOnItsOwnConnectionWakesOnAppend) {
  RedisServer server;
  server.start();
  IoThread io;
  auto c = connect(io, server);
  auto reader = c->duplicate();
  reader->start();
  const std::string key = "collabio:{doc-2}:updates";
  redis::StreamId first;
  ASSERT_TRUE(redis::parse_stream_id(run(*c, redis::xadd(key, {{"u", "a"}})), first));
  auto got = std::make_shared<std::promise<redis::Reply>>();
  reader->command(redis::xread_block(0, {{key, first.to_string()}, {"collabio:{doc-3}:updates", "$"}}),
                  [got](std::error_code, redis::Reply r) { got->set_value(std::move(r)); });
  auto f = got->get_future();
  EXPECT_EQ(f.wait_for(100ms), std::future_status::timeout);  // blocked: nothing after `first`
  EXPECT_EQ(run(*c, {"PING"}).str, "PONG");                   // the other connection is free
  redis::StreamId second;
  ASSERT_TRUE(redis::parse_stream_id(run(*c, redis::xadd(key, {{"u", "b"}})), second));
  ASSERT_EQ(f.wait_for(20s), std::future_status::ready);
  std::vector<redis::StreamBatch> batches;
  ASSERT_TRUE(redis::parse_xread(f.get(), batches));
  ASSERT_EQ(batches.size(), 1u);
  ASSERT_EQ(batches[0].entries.size(), 1u);
  EXPECT_EQ(batches[0].entries[0].id, second);
  EXPECT_EQ(batches[0].entries[0].fields.at(0).second, "b");
}

TEST(RedisLease, SetNxPxIsHeldUntilItExpires) {
  RedisServer server;
  server.start();
  IoThread io;
  auto c = connect(io, server);
  const std::string key = "collabio:{doc-1}:compactor";
  bool taken = false;
  ASSERT_TRUE(redis::parse_set_nx(run(*c, redis::set_nx_px(key, "node-a", 200)), taken));
  EXPECT_TRUE(taken);
  ASSERT_TRUE(redis::parse_set_nx(run(*c, redis::set_nx_px(key, "node-b", 200)), taken));
  EXPECT_FALSE(taken);
  const auto ttl = run(*c, {"PTTL", key});
  EXPECT_GT(ttl.integer, 0);
  EXPECT_LE(ttl.integer, 200);
  // Once it expires, another node takes it.
  for (int i = 0; i < 200 && !taken; ++i) {
    std::this_thread::sleep_for(20ms);
    ASSERT_TRUE(redis::parse_set_nx(run(*c, redis::set_nx_px(key, "node-b", 200)), taken));
  }
  EXPECT_TRUE(taken);
  EXPECT_EQ(run(*c, {"GET", key}).str, "node-b");
}

TEST(RedisStreams, MalformedRepliesAreRefused) {
  redis::Reply r;
  std::vector<redis::StreamEntry> entries;
  std::vector<redis::StreamBatch> batches;
  bool taken;
  r.type = redis::Reply::Type::Integer;
  EXPECT_FALSE(redis::parse_entries(r, entries));
  EXPECT_FALSE(redis::parse_xread(r, batches));
  EXPECT_FALSE(redis::parse_set_nx(r, taken));
  r.type = redis::Reply::Type::Array;
  r.elements.resize(1);
  r.elements[0].type = redis::Reply::Type::Array;
  r.elements[0].elements.resize(2);
  r.elements[0].elements[0].type = redis::Reply::Type::String;
  r.elements[0].elements[0].str = "1-1";
  r.elements[0].elements[1].type = redis::Reply::Type::Array;
  r.elements[0].elements[1].elements.resize(1);  // an odd field list
  r.elements[0].elements[1].elements[0].type = redis::Reply::Type::String;
  EXPECT_FALSE(redis::parse_entries(r, entries));
  r.elements[0].elements[0].str = "not-an-id";
  r.elements[0].elements[1].elements.clear();
  EXPECT_FALSE(redis::parse_entries(r, entries));
}
