// Documents across processes (native/core/doc_replication.*) with two core::Servers on one
// redis-server of the test's own, each on several I/O threads: an update a y-websocket client
// sends to one server reaches a client of the same document on the other. Written for
// ThreadSanitizer (core_tests runs under it in CI): the replication strand, both Redis
// connections' strands, the documents' strands and the connections' strands all meet here.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "../redis/redis_server.h"
#include "core/server.h"
#include "server_fixture.h"
#include "store/store.h"

using namespace collabio::core;
using collabio::test::bytes;
using collabio::test::DocClient;
using Host = collabio::test::TestHost;  // drains events and handles none
using namespace std::chrono_literals;

namespace {

// y-websocket Update (sync message 0, type 2) of a Yjs update v1 that inserts `text` (< 64 bytes,
// ASCII) into the root text "t" as client `client` at clock 0 (the shape of yjs's own
// encodeStateAsUpdate for one insert: 1 client, 1 struct, ContentString, parent by name, empty
// delete set).
std::string y_update(int client, const std::string& text) {
  return bytes({1, 1, client, 0, 4, 1, 1, 't', static_cast<int>(text.size())}) + text + bytes({0});
}

std::string y_update_message(int client, const std::string& text) {
  const std::string u = y_update(client, text);
  return bytes({0, 2, static_cast<int>(u.size())}) + u;
}

// A SQLite store at `path` holding document `doc` as the one update `update`.
void write_store(const std::string& path, const std::string& doc, const std::string& update) {
  auto st = collabio::store::Store::open(path, collabio::store::Durability::Full);
  std::promise<std::optional<std::string>> done;
  st->append(doc, std::vector<uint8_t>(update.begin(), update.end()), [&](std::optional<std::string> e) { done.set_value(e); });
  ASSERT_FALSE(done.get_future().get().has_value());
  st->close();
}

Options cluster_options(int port) {
  Options o;
  o.threads = 3;
  o.documents.redis_url = "redis://127.0.0.1:" + std::to_string(port);
  o.documents.unload_delay_ms = 100;
  o.close_timeout = 200;  // the raw clients never answer a close frame
  return o;
}

}  // namespace

TEST(DocReplication, AnUpdateOnOneServerReachesTheOtherServersClientsAndANewcomer) {
  collabio::test::RedisServer redis;
  redis.start();
  Host a(cluster_options(redis.port()));
  Host b(cluster_options(redis.port()));
  const uint16_t pa = a.listen();
  const uint16_t pb = b.listen();

  DocClient on_b(pb, "tsan-doc");
  ASSERT_TRUE(on_b.ok());
  ASSERT_TRUE(on_b.received("HTTP/1.1 101", 10s));
  DocClient on_a(pa, "tsan-doc");
  ASSERT_TRUE(on_a.ok());
  ASSERT_TRUE(on_a.received("HTTP/1.1 101", 10s));
  // Let b's replica register with its reader before a's writes (the reader starts from the
  // position b loaded; anything later is delivered, so this only avoids a slow test).
  std::this_thread::sleep_for(200ms);

  // Writers on both servers, from several threads at once.
  std::vector<std::thread> writers;
  for (int i = 0; i < 4; ++i) {
    writers.emplace_back([&, i] {
      DocClient w(i % 2 ? pa : pb, "tsan-doc");
      if (!w.received("HTTP/1.1 101", 10s)) return;
      w.send_binary(y_update_message(10 + i, "from-writer-" + std::to_string(i)));
      w.received("never", 300ms);  // stay until it is relayed
    });
  }
  on_a.send_binary(y_update_message(7, "collabio-crosses-nodes"));
  for (auto& t : writers) t.join();

  EXPECT_TRUE(on_b.received("collabio-crosses-nodes", 10s));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(on_b.received("from-writer-" + std::to_string(i), 10s)) << i;

  // A newcomer on b (SyncStep1 with an empty state vector) gets everything as SyncStep2.
  DocClient newcomer(pb, "tsan-doc");
  ASSERT_TRUE(newcomer.received("HTTP/1.1 101", 10s));
  newcomer.send_binary(bytes({0, 0, 1, 0}));
  EXPECT_TRUE(newcomer.received("collabio-crosses-nodes", 10s));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(newcomer.received("from-writer-" + std::to_string(i), 10s)) << i;

  EXPECT_GE(a.server().stats().stream_appends, 1u);
  EXPECT_GE(b.server().stats().stream_entries_read, 5u);
  EXPECT_EQ(b.server().stats().stream_bad_entries, 0u);
  a.stop();
  b.stop();
}

// Bootstrap from persistence: each server's SQLite store holds a different version of the
// document, and both open it at once (several I/O threads each). Exactly one seed reaches Redis,
// and both servers answer with that one state.
TEST(DocReplication, TwoServersBootstrappingOneDocumentAtOnceAgreeOnOneSeed) {
  collabio::test::RedisServer redis;
  redis.start();
  const auto dir = std::filesystem::temp_directory_path() / ("collabio-seed-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  write_store((dir / "a.sqlite").string(), "seeded", y_update(21, "version-of-store-a"));
  write_store((dir / "b.sqlite").string(), "seeded", y_update(22, "version-of-store-b"));
  Options oa = cluster_options(redis.port());
  oa.documents.persistence_path = (dir / "a.sqlite").string();
  Options ob = cluster_options(redis.port());
  ob.documents.persistence_path = (dir / "b.sqlite").string();
  Host a(oa);
  Host b(ob);
  const uint16_t pa = a.listen();
  const uint16_t pb = b.listen();

  // has[i][v]: client i received version v (0: store a's, 1: store b's).
  bool has[2][2] = {};
  std::vector<std::thread> clients;
  for (int i = 0; i < 2; ++i) {
    clients.emplace_back([&, i] {
      DocClient c(i == 0 ? pa : pb, "seeded");
      if (!c.received("HTTP/1.1 101", 10s)) return;
      c.send_binary(bytes({0, 0, 1, 0}));  // SyncStep1, empty state vector
      if (!c.received("version-of-store-", 10s)) return;
      c.received("never", 300ms);  // the rest of the answer
      has[i][0] = c.received("version-of-store-a", 0ms);
      has[i][1] = c.received("version-of-store-b", 0ms);
    });
  }
  for (auto& t : clients) t.join();
  const int winner = has[0][0] ? 0 : 1;
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(has[i][winner]) << "client " << i << " has the seed";
    EXPECT_FALSE(has[i][1 - winner]) << "client " << i << " has no other version";
  }
  EXPECT_EQ(a.server().stats().stream_seeds + b.server().stats().stream_seeds, 1u);
  EXPECT_GE(a.server().stats().stream_bootstraps + b.server().stats().stream_bootstraps, 1u);
  a.stop();
  b.stop();
  std::filesystem::remove_all(dir);
}

// A trim marker naming an entry past a reader's position (what a compaction leaves when it trimmed
// entries that reader never received) makes each node reload the document, with the reader's,
// the Redis connections' and the document's strands all involved; the document goes on.
TEST(DocReplication, ATrimMarkerPastTheReadersPositionMakesTheNodeReloadAndReadOn) {
  collabio::test::RedisServer redis;
  redis.start();
  Host a(cluster_options(redis.port()));
  Host b(cluster_options(redis.port()));
  const uint16_t pa = a.listen();
  const uint16_t pb = b.listen();

  DocClient on_a(pa, "trim-doc");
  ASSERT_TRUE(on_a.received("HTTP/1.1 101", 10s));
  DocClient on_b(pb, "trim-doc");
  ASSERT_TRUE(on_b.received("HTTP/1.1 101", 10s));
  std::this_thread::sleep_for(200ms);
  on_a.send_binary(y_update_message(7, "before-the-marker"));
  ASSERT_TRUE(on_b.received("before-the-marker", 10s));

  // As if a compaction had removed entries up to a far later id than either reader holds.
  redis.cli({"XADD", "collabio:{trim-doc}:updates", "*", "t", "99999999999999-0", "n", "compactor"});
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while ((a.server().stats().stream_trimmed_reloads == 0 || b.server().stats().stream_trimmed_reloads == 0) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(a.server().stats().stream_trimmed_reloads, 1u);
  EXPECT_EQ(b.server().stats().stream_trimmed_reloads, 1u);
  EXPECT_GE(b.server().stats().stream_reloads, 1u);

  on_a.send_binary(y_update_message(8, "after-the-marker"));
  EXPECT_TRUE(on_b.received("after-the-marker", 10s));
  EXPECT_EQ(b.server().stats().stream_bad_entries, 0u) << "a marker is not a bad entry";
  a.stop();
  b.stop();
}
