// redis::ClusterClient against a real three-master Redis Cluster (redis-server --cluster-enabled,
// joined by redis-cli --cluster create): commands reach the master of their key's slot, a moved
// slot is followed (MOVED), a key that left during a migration is followed (ASK), and commands
// issued before the slot map is known wait for it. Run under TSan with the other native tests.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <thread>

#include "redis/cluster.h"
#include "redis/slots.h"
#include "redis_fixture.h"
#include "redis_server.h"

namespace redis = collabio::redis;
using collabio::test::IoThreads;
using collabio::test::kWait;
using collabio::test::RedisServer;
using namespace std::chrono_literals;

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// Three masters, no replicas, every slot assigned.
class Cluster {
 public:
  Cluster() {
    for (int i = 0; i < 3; ++i) {
      // The bus port is given: the default (port + 10000) may be taken, or past 65535.
      servers.push_back(std::make_unique<RedisServer>(std::vector<std::string>{
          "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000",
          "--cluster-port", std::to_string(RedisServer::free_port())}));
      servers.back()->start();
    }
    std::vector<std::string> create = {"--cluster", "create"};
    for (auto& s : servers) create.push_back("127.0.0.1:" + std::to_string(s->port()));
    create.insert(create.end(), {"--cluster-replicas", "0", "--cluster-yes"});
    const std::string out = servers[0]->cli(create);
    if (out.find("All 16384 slots covered") == std::string::npos) throw std::runtime_error("cluster create failed:\n" + out);
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    for (;;) {
      bool ok = true;
      for (auto& s : servers) ok = ok && s->cli({"CLUSTER", "INFO"}).find("cluster_state:ok") != std::string::npos;
      if (ok) break;
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("the cluster did not become ready");
      std::this_thread::sleep_for(50ms);
    }
    for (auto& s : servers) ids.push_back(trim(s->cli({"CLUSTER", "MYID"})));
  }

  // The index of the master serving `slot`: the one that does not answer a key of it with MOVED.
  int owner(uint16_t slot) {
    const std::string key = "{" + redis::hash_tag_for_slot(slot) + "}";
    for (size_t i = 0; i < servers.size(); ++i) {
      if (servers[i]->cli({"GET", key}).rfind("MOVED", 0) != 0) return static_cast<int>(i);
    }
    return -1;
  }

  std::vector<std::unique_ptr<RedisServer>> servers;
  std::vector<std::string> ids;
};

redis::ClusterOptions options_for(const RedisServer& seed) {
  redis::ClusterOptions o;
  std::string error;
  EXPECT_TRUE(redis::parse_url("redis://127.0.0.1:" + std::to_string(seed.port()), o.node.endpoint, error)) << error;
  o.node.backoff_min = 20ms;
  o.node.backoff_max = 200ms;
  return o;
}

redis::Reply run(redis::Client& c, std::vector<std::string> args) {
  auto p = std::make_shared<std::promise<std::pair<std::error_code, redis::Reply>>>();
  auto f = p->get_future();
  c.command(std::move(args), [p](std::error_code ec, redis::Reply r) { p->set_value({ec, std::move(r)}); });
  if (f.wait_for(kWait) != std::future_status::ready) throw std::runtime_error("no reply");
  auto [ec, r] = f.get();
  EXPECT_FALSE(ec) << ec.message();
  return r;
}

// "k<i>". Built by append: GCC 12 warns -Wrestrict, falsely, on `key_of(i)`.
std::string key_of(int i) {
  std::string k = "k";
  k += std::to_string(i);
  return k;
}

}  // namespace

TEST(ClusterClient, EachKeyGoesToTheMasterOfItsSlot) {
  Cluster cluster;
  IoThreads io;
  redis::ClusterClient client(io.ioc, options_for(*cluster.servers[1]));
  client.start();
  // Issued at once: they wait for the slot map, then go out.
  std::vector<std::future<void>> done;
  for (int i = 0; i < 60; ++i) {
    auto p = std::make_shared<std::promise<void>>();
    done.push_back(p->get_future());
    client.command({"SET", key_of(i), std::to_string(i)}, [p](std::error_code ec, redis::Reply r) {
      EXPECT_FALSE(ec);
      EXPECT_EQ(r.str, "OK");
      p->set_value();
    });
  }
  for (auto& f : done) ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
  int total = 0;
  for (auto& s : cluster.servers) {
    const int n = std::stoi(trim(s->cli({"DBSIZE"})));
    EXPECT_GT(n, 0) << "every master holds some of the keys";
    total += n;
  }
  EXPECT_EQ(total, 60);
  for (int i = 0; i < 60; ++i) EXPECT_EQ(run(client, {"GET", key_of(i)}).str, std::to_string(i));
  // A script whose keys share a hash tag runs on that tag's master.
  run(client, {"SET", "{t}a", "x"});
  run(client, {"SET", "{t}b", "y"});
  EXPECT_EQ(run(client, {"EVAL", "return redis.call('GET', KEYS[1]) .. redis.call('GET', KEYS[2])", "2", "{t}a", "{t}b"}).str, "xy");
}

TEST(ClusterClient, FollowsAskDuringAMigrationAndMovedAfterIt) {
  Cluster cluster;
  IoThreads io;
  redis::ClusterClient client(io.ioc, options_for(*cluster.servers[0]));
  client.start();
  const std::string a = "{doc}:a", b = "{doc}:b";
  ASSERT_EQ(run(client, {"SET", a, "1"}).str, "OK");
  ASSERT_EQ(run(client, {"SET", b, "2"}).str, "OK");
  const uint16_t slot = redis::key_slot(a);
  const int from = cluster.owner(slot);
  ASSERT_GE(from, 0);
  const int to = (from + 1) % 3;
  auto& src = *cluster.servers[from];
  auto& dst = *cluster.servers[to];
  dst.cli({"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", cluster.ids[from]});
  src.cli({"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", cluster.ids[to]});
  src.cli({"MIGRATE", "127.0.0.1", std::to_string(dst.port()), "", "0", "5000", "KEYS", a});
  // `a` left: its GET is answered ASK and followed; `b` is still on the source.
  EXPECT_EQ(run(client, {"GET", a}).str, "1");
  EXPECT_EQ(run(client, {"GET", b}).str, "2");
  // A new key of the migrating slot is created on the importing master (ASK).
  EXPECT_EQ(run(client, {"SET", "{doc}:c", "3"}).str, "OK");
  EXPECT_EQ(trim(dst.cli({"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)})), "2");
  src.cli({"MIGRATE", "127.0.0.1", std::to_string(dst.port()), "", "0", "5000", "KEYS", b});
  for (auto& s : cluster.servers) s->cli({"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", cluster.ids[to]});
  // The client's map still names the source: MOVED, then the map follows.
  EXPECT_EQ(run(client, {"GET", b}).str, "2");
  EXPECT_EQ(run(client, {"GET", "{doc}:c"}).str, "3");
  EXPECT_EQ(cluster.owner(slot), to);
  // A sibling shares the map it learned, and blocks on a connection of its own.
  auto reader = client.sibling();
  reader->start();
  auto p = std::make_shared<std::promise<redis::Reply>>();
  auto f = p->get_future();
  // From 0-0 on a stream that does not exist yet: it blocks, or answers at once if the XADD won.
  reader->command({"XREAD", "BLOCK", "0", "STREAMS", "{doc}:s", "0-0"}, [p](std::error_code, redis::Reply r) { p->set_value(std::move(r)); });
  run(client, {"XADD", "{doc}:s", "*", "f", "v"});
  ASSERT_EQ(f.wait_for(kWait), std::future_status::ready);
  const auto xr = f.get();
  ASSERT_EQ(xr.type, redis::Reply::Type::Array) << xr.str;
  EXPECT_EQ(xr.elements.at(0).elements.at(0).str, "{doc}:s");
}
