// Awareness across nodes (native/core/doc_cluster_awareness.*): two core::Servers on one
// redis-server of the test's own, each on several I/O threads, with y-websocket clients over plain
// sockets. Written for ThreadSanitizer (core_tests runs under it in CI): the Subscriber's strand
// (messages, reconnects), the publisher's strand, the documents' strands and the shutdown path all
// meet here. The raw clients never renew their states, so whatever arrives after the first
// exchange was carried by the mechanism under test (a removal at shutdown, a re-query after a
// reconnect), not by a client's renewal.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../redis/redis_server.h"
#include "core/doc_cluster_awareness.h"
#include "core/server.h"
#include "server_fixture.h"

using namespace collabio::core;
using collabio::test::bytes;
using collabio::test::DocClient;
using Host = collabio::test::TestHost;  // drains events and handles none
using namespace std::chrono_literals;

namespace {

// One awareness entry as y-protocols encodes it: client (< 128), clock (< 128), JSON state.
std::string entry(int client, int clock, const std::string& state) {
  return bytes({client, clock, static_cast<int>(state.size())}) + state;
}

// y-websocket awareness message (type 1) carrying one entry.
std::string awareness_message(int client, int clock, const std::string& state) {
  std::string update = bytes({1});  // appended: GCC 12 warns -Wrestrict, falsely, on `bytes({1}) + ...`
  update += entry(client, clock, state);
  return bytes({1, static_cast<int>(update.size())}) + update;
}

Options cluster_options(int port) {
  Options o;
  o.threads = 3;
  o.documents.redis_url = "redis://127.0.0.1:" + std::to_string(port);
  o.documents.unload_delay_ms = 100;
  o.close_timeout = 200;  // the raw clients never answer a close frame
  return o;
}

// A client of `port` on document `doc`, upgraded.
std::unique_ptr<DocClient> connect(uint16_t port, const std::string& doc) {
  auto c = std::make_unique<DocClient>(port, doc);
  EXPECT_TRUE(c->ok());
  EXPECT_TRUE(c->received("HTTP/1.1 101", 10s));
  return c;
}

}  // namespace

TEST(AnswerLimiter, AnswersAtOnceThenOncePerIntervalAndCoalescesTheRest) {
  AnswerLimiter l(1000);
  using V = AnswerLimiter::Verdict;
  EXPECT_EQ(l.on_query(0).verdict, V::Now);
  l.answered(0);
  const auto later = l.on_query(10);
  EXPECT_EQ(later.verdict, V::Later);
  EXPECT_EQ(later.at_ms, 1000);
  EXPECT_EQ(l.on_query(20).verdict, V::Coalesced);
  EXPECT_EQ(l.on_query(999).verdict, V::Coalesced);
  l.answered(1000);
  // The interval counts from the last answer, whichever kind it was.
  const auto next = l.on_query(1500);
  EXPECT_EQ(next.verdict, V::Later);
  EXPECT_EQ(next.at_ms, 2000);
  l.answered(2000);
  EXPECT_EQ(l.on_query(3000).verdict, V::Now);
  l.answered(3000);
  // A cancelled answer (the document unloaded) does not hold later Queries back forever.
  EXPECT_EQ(l.on_query(3100).verdict, V::Later);
  l.cancel();
  EXPECT_EQ(l.on_query(3200).verdict, V::Later);
}

TEST(AnswerLimiter, AFloodCostsOneAnswerPerIntervalAndEveryQueryIsCovered) {
  AnswerLimiter l(1000);
  int answers = 0, coalesced = 0;
  int64_t scheduled = -1;  // when the pending answer goes out
  for (int64_t t = 0; t < 10000; t += 7) {
    if (scheduled >= 0 && t >= scheduled) {
      l.answered(scheduled);
      ++answers;
      scheduled = -1;
    }
    const auto d = l.on_query(t);
    if (d.verdict == AnswerLimiter::Verdict::Now) {
      l.answered(t);
      ++answers;
    } else if (d.verdict == AnswerLimiter::Verdict::Later) {
      EXPECT_GT(d.at_ms, t);  // an answer after the Query: it sees what the Query asked for
      scheduled = d.at_ms;
    } else {
      ++coalesced;
      EXPECT_GE(scheduled, 0);  // only ever coalesced into an answer still to come
    }
  }
  EXPECT_LE(answers, 11);  // 10 s of Queries every 7 ms: one answer per second, plus the first
  EXPECT_GE(answers, 10);
  EXPECT_EQ(answers + coalesced + (scheduled >= 0 ? 1 : 0), (10000 + 6) / 7);
}

TEST(DocClusterAwareness, AStateCrossesNodesAndAGracefulCloseRemovesItOnTheOtherNode) {
  collabio::test::RedisServer redis;
  redis.start();
  Host a(cluster_options(redis.port()));
  Host b(cluster_options(redis.port()));
  const uint16_t pa = a.listen();
  const uint16_t pb = b.listen();

  auto on_a = connect(pa, "aw-close");
  auto on_b = connect(pb, "aw-close");
  // Clients on both nodes set states from their threads at once.
  std::thread ta([&] { on_a->send_binary(awareness_message(77, 1, R"({"u":"ada"})")); });
  std::thread tb([&] { on_b->send_binary(awareness_message(88, 1, R"({"u":"bob"})")); });
  ta.join();
  tb.join();
  // Each document may load before or after the other node's client set its state: the first
  // client's state arrives either as an Update or as the answer to the other node's Query.
  ASSERT_TRUE(on_b->received(R"({"u":"ada"})", 10s));
  ASSERT_TRUE(on_a->received(R"({"u":"bob"})", 10s));

  // Node A shuts down (io.close()): B's client is told that ada is gone (client 77, state null at
  // the same clock), long before the 30 s outdated timeout could say so.
  const auto closed_at = std::chrono::steady_clock::now();
  a.stop();
  EXPECT_TRUE(on_b->received(entry(77, 1, "null"), 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - closed_at, 15s);
  EXPECT_EQ(b.server().stats().cluster_awareness_dropped, 0u);
  b.stop();
}

TEST(DocClusterAwareness, AfterItsSubscriberReconnectsANodeQueriesAgainAndGetsWhatItMissed) {
  collabio::test::RedisServer redis;
  redis.start();
  Host a(cluster_options(redis.port()));
  Host b(cluster_options(redis.port()));
  const uint16_t pa = a.listen();
  const uint16_t pb = b.listen();

  auto on_a = connect(pa, "aw-resync");
  auto on_b = connect(pb, "aw-resync");
  on_a->send_binary(awareness_message(77, 1, R"({"u":"ada-1"})"));
  ASSERT_TRUE(on_b->received(R"({"u":"ada-1"})", 10s));
  const auto resyncs_before = b.server().stats().cluster_awareness_resyncs;

  // Both nodes' Subscribers lose their connection and cannot come back (new connections as the
  // default user are refused with NOAUTH; connections already open stay), so what A publishes
  // now reaches nobody. An `admin` user of the test's own runs the commands meanwhile.
  redis.cli({"ACL", "SETUSER", "admin", "on", ">pw", "~*", "&*", "+@all"});
  const std::vector<std::string> admin = {"--no-auth-warning", "--user", "admin", "--pass", "pw"};
  auto as_admin = [&](std::vector<std::string> args) {
    args.insert(args.begin(), admin.begin(), admin.end());
    return redis.cli(args);
  };
  ASSERT_NE(as_admin({"ACL", "SETUSER", "default", "off"}).find("OK"), std::string::npos);
  ASSERT_NE(as_admin({"CLIENT", "KILL", "TYPE", "pubsub"}).find("2"), std::string::npos);  // A's and B's
  on_a->send_binary(awareness_message(77, 2, R"({"u":"ada-2"})"));
  ASSERT_TRUE(on_a->received(R"({"u":"ada-2"})", 10s));  // A took it (its echo)
  EXPECT_FALSE(on_b->received(R"({"u":"ada-2"})", 1500ms)) << "B was subscribed: this test proves nothing";

  // The Subscribers come back: B queries again, and A answers with ada's current state.
  ASSERT_NE(as_admin({"ACL", "SETUSER", "default", "on"}).find("OK"), std::string::npos);
  EXPECT_TRUE(on_b->received(R"({"u":"ada-2"})", 15s));
  EXPECT_GT(b.server().stats().cluster_awareness_resyncs, resyncs_before);
  EXPECT_GE(a.server().stats().cluster_awareness_answers, 1u);
  a.stop();
  b.stop();
}

TEST(DocClusterAwareness, AQueryFloodIsAnsweredAtABoundedRate) {
  collabio::test::RedisServer redis;
  redis.start();
  Host a(cluster_options(redis.port()));
  const uint16_t pa = a.listen();
  auto on_a = connect(pa, "aw-flood");
  on_a->send_binary(awareness_message(77, 1, R"({"u":"ada"})"));
  ASSERT_TRUE(on_a->received(R"({"u":"ada"})", 10s));
  // A is subscribed once the channel has a subscriber.
  const std::string channel = "collabio:{aw-flood}:awareness";
  for (int i = 0; i < 100 && redis.cli({"PUBSUB", "NUMSUB", channel}).find("\n1") == std::string::npos; ++i)
    std::this_thread::sleep_for(100ms);

  // 2000 Queries from a node "evil" (awareness_wire: 01 01 varString(node)), in one burst
  // (RedisServer::cli quotes each argument in '...': the script uses double quotes).
  constexpr int kQueries = 2000;
  const auto before = a.server().stats();
  const auto start = std::chrono::steady_clock::now();
  redis.cli({"EVAL", R"(for i = 1, tonumber(ARGV[2]) do redis.call("PUBLISH", KEYS[1], ARGV[1]) end)", "1", channel,
             bytes({1, 1, 4}) + "evil", std::to_string(kQueries)});
  // Every Query is either answered or shares an answer; wait until all are accounted for.
  uint64_t answers = 0, coalesced = 0;
  for (int i = 0; i < 200; ++i) {
    const auto s = a.server().stats();
    answers = s.cluster_awareness_answers - before.cluster_awareness_answers;
    coalesced = s.cluster_awareness_queries_coalesced - before.cluster_awareness_queries_coalesced;
    if (answers + coalesced >= kQueries) break;
    std::this_thread::sleep_for(100ms);
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(elapsed).count();
  EXPECT_EQ(answers + coalesced, uint64_t{kQueries});
  EXPECT_GE(answers, 1u);
  // One answer per second at most, plus the first (at once) and the last (at the interval's end).
  EXPECT_LE(answers, static_cast<uint64_t>(seconds) + 2);
  EXPECT_EQ(a.server().stats().cluster_awareness_dropped, 0u);
  a.stop();
}
