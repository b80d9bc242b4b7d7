// The Redis connection against a real redis-server started by each test (redis_server.h):
// pipelining, SELECT, AUTH, pub/sub of all three kinds, reconnection with resubscription, the
// bounded queue, blocking commands on a duplicate, and TLS.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "redis/connection.h"
#include "redis_fixture.h"

namespace redis = collabio::redis;
using namespace collabio::test;  // RedisServer, IoThreads, options_for, url_of, run, subscribe, Inbox, kWait
using namespace std::chrono_literals;

namespace {

// Collects log lines and states (they arrive on the connection's strand).
struct Recorder {
  std::mutex mu;
  std::vector<std::string> lines;
  std::vector<std::pair<redis::State, std::string>> states;

  void attach(redis::Options& o) {
    o.log = [this](std::string_view l) {
      std::lock_guard lock(mu);
      lines.emplace_back(l);
    };
    o.on_state = [this](redis::State s, std::string_view d) {
      std::lock_guard lock(mu);
      states.emplace_back(s, std::string(d));
    };
  }
  std::vector<std::string> log() {
    std::lock_guard lock(mu);
    return lines;
  }
  bool saw(redis::State s) {
    std::lock_guard lock(mu);
    for (auto& [st, d] : states) {
      if (st == s) return true;
    }
    return false;
  }
};

}  // namespace

TEST(RedisConnection, PipelinedRepliesArriveInOrder) {
  RedisServer server;
  server.start();
  IoThreads io;
  redis::Connection c(io.ioc, options_for(url_of(server)));
  c.start();
  constexpr int kCount = 2000;
  std::mutex mu;
  std::vector<int64_t> seen;
  std::promise<void> all;
  for (int i = 0; i < kCount; ++i) {
    c.command({"INCR", "counter"}, [&](std::error_code ec, redis::Reply r) {
      EXPECT_FALSE(ec);
      std::lock_guard lock(mu);
      seen.push_back(r.integer);
      if (seen.size() == kCount) all.set_value();
    });
  }
  ASSERT_EQ(all.get_future().wait_for(kWait), std::future_status::ready);
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(seen[i], i + 1);
  const auto big = std::string(300000, 'x') + std::string("\0\r\n", 3);
  EXPECT_EQ(run(c, {"SET", "big", big}).reply.str, "OK");
  EXPECT_EQ(run(c, {"GET", "big"}).reply.str, big);
  EXPECT_EQ(run(c, {"GET", "missing"}).reply.type, redis::Reply::Type::Nil);
  const auto err = run(c, {"INCR", "big"});
  EXPECT_FALSE(err.ec);
  EXPECT_TRUE(err.reply.is_error());
  EXPECT_NE(err.reply.str.find("not an integer"), std::string::npos);
}

TEST(RedisConnection, SelectsTheDatabaseOfTheUrl) {
  RedisServer server;
  server.start();
  IoThreads io;
  redis::Connection db2(io.ioc, options_for(url_of(server, "", 2)));
  db2.start();
  EXPECT_EQ(run(db2, {"SET", "where", "two"}).reply.str, "OK");
  EXPECT_EQ(server.cli({"-n", "2", "GET", "where"}), "two\n");
  EXPECT_EQ(server.cli({"-n", "0", "GET", "where"}), "\n");
}

TEST(RedisConnection, RequirepassAndAclUser) {
  RedisServer server({"--requirepass", "s3cret-pw"});
  server.start();
  IoThreads io;
  {
    redis::Connection c(io.ioc, options_for(url_of(server, ":s3cret-pw@")));
    c.start();
    EXPECT_EQ(run(c, {"PING"}).reply.str, "PONG");
  }
  ASSERT_NE(server.cli({"-a", "s3cret-pw", "--no-auth-warning", "ACL", "SETUSER", "app", "on", ">app-pw", "~*", "&*", "+@all"})
                .find("OK"),
            std::string::npos);
  redis::Connection app(io.ioc, options_for(url_of(server, "app:app-pw@", 3)));
  app.start();
  EXPECT_EQ(run(app, {"ACL", "WHOAMI"}).reply.str, "app");
}

TEST(RedisConnection, WrongPasswordIsReportedOnceWithoutThePassword) {
  RedisServer server({"--requirepass", "right-pw"});
  server.start();
  IoThreads io;
  Recorder rec;
  auto o = options_for(url_of(server, "default:wrong-pw@"));
  rec.attach(o);
  redis::Connection c(io.ioc, o);
  c.start();
  const auto r = run(c, {"PING"});
  EXPECT_EQ(r.ec, redis::Errc::handshake_failed);
  // Several attempts happen meanwhile (backoff 20..200 ms); the log says it once.
  std::this_thread::sleep_for(600ms);
  const auto lines = rec.log();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("AUTH: WRONGPASS"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("redis://default:***@127.0.0.1"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[0].find("wrong-pw"), std::string::npos) << lines[0];
  EXPECT_TRUE(rec.saw(redis::State::HandshakeFailed));
  // No password at all against requirepass: PING in the handshake gets NOAUTH.
  redis::Connection none(io.ioc, options_for(url_of(server)));
  none.start();
  EXPECT_EQ(run(none, {"GET", "x"}).ec, redis::Errc::handshake_failed);
}

TEST(RedisConnection, PubSubOfAllThreeKinds) {
  RedisServer server;
  server.start();
  IoThreads io;
  auto so = options_for(url_of(server));
  so.role = redis::Role::Subscriber;
  redis::Connection sub(io.ioc, so);
  Inbox inbox;
  sub.on_message(inbox.handler());
  sub.start();
  subscribe(sub, redis::SubscriptionKind::Channel, {"plain"});
  subscribe(sub, redis::SubscriptionKind::Pattern, {"socket.io#/#*"});
  subscribe(sub, redis::SubscriptionKind::Shard, {"shard-a", "shard-b"});
  redis::Connection pub(io.ioc, options_for(url_of(server)));
  pub.start();
  const std::string binary("\x93\x00\xc4\x01\xff", 5);
  EXPECT_EQ(run(pub, {"PUBLISH", "plain", "p1"}).reply.integer, 1);
  EXPECT_EQ(run(pub, {"PUBLISH", "socket.io#/#room#", binary}).reply.integer, 1);
  EXPECT_EQ(run(pub, {"SPUBLISH", "shard-b", "s1"}).reply.integer, 1);
  ASSERT_TRUE(inbox.wait_for(3));
  EXPECT_EQ(inbox.messages[0].kind, redis::SubscriptionKind::Channel);
  EXPECT_EQ(inbox.messages[0].channel, "plain");
  EXPECT_EQ(inbox.messages[0].payload, "p1");
  EXPECT_EQ(inbox.messages[1].kind, redis::SubscriptionKind::Pattern);
  EXPECT_EQ(inbox.messages[1].pattern, "socket.io#/#*");
  EXPECT_EQ(inbox.messages[1].channel, "socket.io#/#room#");
  EXPECT_EQ(inbox.messages[1].payload, binary);
  EXPECT_EQ(inbox.messages[2].kind, redis::SubscriptionKind::Shard);
  EXPECT_EQ(inbox.messages[2].channel, "shard-b");
  EXPECT_EQ(inbox.messages[2].payload, "s1");
  // Counting subscribers as the adapters do.
  const auto numsub = run(pub, {"PUBSUB", "NUMSUB", "plain"});
  ASSERT_EQ(numsub.reply.elements.size(), 2u);
  EXPECT_EQ(numsub.reply.elements[1].integer, 1);
  const auto shardnumsub = run(pub, {"PUBSUB", "SHARDNUMSUB", "shard-a"});
  ASSERT_EQ(shardnumsub.reply.elements.size(), 2u);
  EXPECT_EQ(shardnumsub.reply.elements[1].integer, 1);
  // Unsubscribed channels stop delivering; PING works in subscriber mode.
  auto p = std::make_shared<std::promise<void>>();
  sub.unsubscribe(redis::SubscriptionKind::Channel, {"plain"}, [p](std::error_code, std::string_view) { p->set_value(); });
  ASSERT_EQ(p->get_future().wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(run(pub, {"PUBLISH", "plain", "gone"}).reply.integer, 0);
  EXPECT_EQ(run(sub, {"PING"}).reply.elements.at(0).str, "pong");
  // A Commands connection refuses subscriptions.
  auto q = std::make_shared<std::promise<std::error_code>>();
  pub.subscribe(redis::SubscriptionKind::Channel, {"x"}, [q](std::error_code ec, std::string_view) { q->set_value(ec); });
  EXPECT_EQ(q->get_future().get(), redis::Errc::wrong_role);
}

TEST(RedisConnection, ReconnectsAfterARestartAndResubscribes) {
  RedisServer server;
  server.start();
  IoThreads io;
  Recorder rec;
  auto so = options_for(url_of(server));
  so.role = redis::Role::Subscriber;
  rec.attach(so);
  redis::Connection sub(io.ioc, so);
  Inbox inbox;
  sub.on_message(inbox.handler());
  sub.start();
  subscribe(sub, redis::SubscriptionKind::Channel, {"c1"});
  subscribe(sub, redis::SubscriptionKind::Pattern, {"p*"});
  subscribe(sub, redis::SubscriptionKind::Shard, {"s1"});
  Recorder prec;
  auto po = options_for(url_of(server));
  prec.attach(po);
  redis::Connection pub(io.ioc, po);
  pub.start();
  EXPECT_EQ(run(pub, {"SET", "k", "1"}).reply.str, "OK");

  server.kill();
  // Issued once the connection knows Redis is down: queued, then run once it is back. (A command
  // written just before the connection noticed fails with connection_lost instead: at most once.)
  for (int i = 0; i < 400 && !prec.saw(redis::State::Disconnected); ++i) std::this_thread::sleep_for(10ms);
  ASSERT_TRUE(prec.saw(redis::State::Disconnected));
  auto queued = std::make_shared<std::promise<Result>>();
  pub.command({"SET", "k", "2"}, [queued](std::error_code ec, redis::Reply r) { queued->set_value({ec, std::move(r)}); });
  std::this_thread::sleep_for(500ms);  // several failed attempts
  server.start();
  auto qf = queued->get_future();
  ASSERT_EQ(qf.wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(qf.get().reply.str, "OK");
  EXPECT_EQ(run(pub, {"GET", "k"}).reply.str, "2");

  // The subscriber subscribed again to all three kinds: wait until the server counts it.
  for (int i = 0; i < 400; ++i) {
    const auto n = run(pub, {"PUBSUB", "SHARDNUMSUB", "s1"});
    const auto m = run(pub, {"PUBSUB", "NUMPAT"});
    if (n.reply.elements.size() == 2 && n.reply.elements[1].integer == 1 && m.reply.integer == 1) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(run(pub, {"PUBLISH", "c1", "a"}).reply.integer, 1);
  EXPECT_EQ(run(pub, {"PUBLISH", "p2", "b"}).reply.integer, 1);
  EXPECT_EQ(run(pub, {"SPUBLISH", "s1", "c"}).reply.integer, 1);
  ASSERT_TRUE(inbox.wait_for(3));
  EXPECT_EQ(inbox.messages[0].payload, "a");
  EXPECT_EQ(inbox.messages[1].payload, "b");
  EXPECT_EQ(inbox.messages[2].payload, "c");

  // One line when the outage starts and one when it ends, for each connection.
  for (auto* r : {&rec, &prec}) {
    const auto lines = r->log();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].rfind("redis: connection lost to redis://127.0.0.1:", 0), 0u) << lines[0];
    EXPECT_NE(lines[0].find("; reconnecting"), std::string::npos) << lines[0];
    EXPECT_EQ(lines[1].rfind("redis: reconnected to redis://127.0.0.1:", 0), 0u) << lines[1];
  }
}

TEST(RedisConnection, UnansweredCommandsFailWhenTheConnectionIsLost) {
  RedisServer server;
  server.start();
  IoThreads io;
  redis::Connection blocker(io.ioc, options_for(url_of(server)));
  blocker.start();
  EXPECT_EQ(run(blocker, {"PING"}).reply.str, "PONG");
  auto lost = std::make_shared<std::promise<std::error_code>>();
  blocker.command({"BLPOP", "never", "0"}, [lost](std::error_code ec, redis::Reply) { lost->set_value(ec); });
  std::this_thread::sleep_for(200ms);
  server.kill();
  auto f = lost->get_future();
  ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(f.get(), redis::Errc::connection_lost);
}

TEST(RedisConnection, TheQueueWhileDisconnectedIsBounded) {
  IoThreads io;
  auto o = options_for("redis://127.0.0.1:" + std::to_string(RedisServer::free_port()));
  o.max_queued = 3;
  Recorder rec;
  rec.attach(o);
  redis::Connection c(io.ioc, o);
  c.start();
  std::mutex mu;
  std::vector<std::error_code> results;
  for (int i = 0; i < 5; ++i) {
    c.command({"PING"}, [&](std::error_code ec, redis::Reply) {
      std::lock_guard lock(mu);
      results.push_back(ec);
    });
  }
  std::this_thread::sleep_for(300ms);
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(results.size(), 2u);
    EXPECT_EQ(results[0], redis::Errc::queue_full);
    EXPECT_EQ(results[1], redis::Errc::queue_full);
  }
  c.close();
  std::this_thread::sleep_for(100ms);
  std::lock_guard lock(mu);
  ASSERT_EQ(results.size(), 5u);
  for (size_t i = 2; i < 5; ++i) EXPECT_EQ(results[i], redis::Errc::closed);
  const auto lines = rec.log();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].rfind("redis: cannot connect to redis://127.0.0.1:", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find("refused"), std::string::npos) << lines[0];
}

TEST(RedisConnection, BlockingReadsGetTheirOwnConnection) {
  RedisServer server;
  server.start();
  IoThreads io;
  redis::Connection c(io.ioc, options_for(url_of(server)));
  c.start();
  auto reader = c.duplicate();
  reader->start();
  auto got = std::make_shared<std::promise<Result>>();
  reader->command({"XREAD", "BLOCK", "0", "STREAMS", "doc", "$"}, [got](std::error_code ec, redis::Reply r) {
    got->set_value({ec, std::move(r)});
  });
  auto f = got->get_future();
  // The first connection is not stalled by the blocked read.
  EXPECT_EQ(run(c, {"PING"}).reply.str, "PONG");
  EXPECT_EQ(f.wait_for(100ms), std::future_status::timeout);
  for (int i = 0; i < 400 && f.wait_for(0s) != std::future_status::ready; ++i) {
    // XREAD ... $ sees only entries added after it blocked; retry until one lands after.
    run(c, {"XADD", "doc", "*", "update", "u1"});
    f.wait_for(50ms);
  }
  ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
  const auto r = f.get().reply;
  ASSERT_EQ(r.type, redis::Reply::Type::Array);
  EXPECT_EQ(r.elements.at(0).elements.at(0).str, "doc");
  EXPECT_EQ(r.elements.at(0).elements.at(1).elements.at(0).elements.at(1).elements.at(1).str, "u1");
}

TEST(RedisConnection, TlsWithVerification) {
  RedisServer server;
  const std::string ca = server.enable_tls();
  server.start();
  IoThreads io;
  const std::string tls_url = "rediss://localhost:" + std::to_string(server.tls_port());
  {
    auto o = options_for(tls_url);
    o.tls.ca_file = ca;
    redis::Connection c(io.ioc, o);
    c.start();
    EXPECT_EQ(run(c, {"SET", "over", "tls"}).reply.str, "OK");
    EXPECT_EQ(server.cli({"GET", "over"}), "tls\n");
  }
  {
    // By IP: the certificate names 127.0.0.1 too.
    auto o = options_for("rediss://127.0.0.1:" + std::to_string(server.tls_port()));
    o.tls.ca_file = ca;
    redis::Connection c(io.ioc, o);
    c.start();
    EXPECT_EQ(run(c, {"PING"}).reply.str, "PONG");
  }
  {
    // Without the test CA the self-signed chain is refused, and the log says why.
    Recorder rec;
    auto o = options_for(tls_url);
    rec.attach(o);
    o.max_queued = 0;
    redis::Connection c(io.ioc, o);
    c.start();
    for (int i = 0; i < 400 && rec.log().empty(); ++i) std::this_thread::sleep_for(50ms);
    const auto lines = rec.log();
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("TLS handshake failed"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("certificate verify failed"), std::string::npos) << lines[0];
  }
  {
    // A name the certificate does not hold is refused.
    Recorder rec;
    auto o = options_for(tls_url);
    o.tls.ca_file = ca;
    o.tls.server_name = "other.example";
    rec.attach(o);
    redis::Connection c(io.ioc, o);
    c.start();
    for (int i = 0; i < 400 && rec.log().empty(); ++i) std::this_thread::sleep_for(50ms);
    ASSERT_EQ(rec.log().size(), 1u);
    EXPECT_NE(rec.log()[0].find("TLS handshake failed"), std::string::npos);
  }
  {
    // verify = false accepts it (documented as for tests only).
    auto o = options_for(tls_url);
    o.tls.verify = false;
    redis::Connection c(io.ioc, o);
    c.start();
    EXPECT_EQ(run(c, {"PING"}).reply.str, "PONG");
  }
  {
    // A CA file that cannot be read is a clear error, not a retry loop.
    Recorder rec;
    auto o = options_for(tls_url);
    o.tls.ca_file = server.dir() + "/no-such-ca.pem";
    rec.attach(o);
    redis::Connection c(io.ioc, o);
    c.start();
    EXPECT_EQ(run(c, {"PING"}).ec, redis::Errc::handshake_failed);
    ASSERT_EQ(rec.log().size(), 1u);
    EXPECT_NE(rec.log()[0].find("TLS setup failed"), std::string::npos) << rec.log()[0];
  }
}
