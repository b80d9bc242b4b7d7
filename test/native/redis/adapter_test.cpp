// The core's Redis adapter (native/sio/redis_adapter.h) against a real redis-server, seen from
// the channels: what a server publishes for its broadcasts (classic and sharded channels, `local`
// kept home, binaries inline), what reaches the host (requests, responses, messages, and dropped
// ones counted), server counting, and adapter swaps and a close while messages pour in (run under
// TSan with the other native tests).
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "core/server.h"
#include "redis/connection.h"
#include "redis_fixture.h"
#include "socketio/redis_wire.h"

namespace core = collabio::core;
namespace redis = collabio::redis;
namespace wire = collabio::socketio::redis_wire;
using namespace collabio::test;  // RedisServer, IoThreads, options_for, url_of, run, subscribe, Inbox, kWait
using namespace std::chrono_literals;

namespace {

// A core server whose events the test waits for.
class Host : public core::EventSink {
 public:
  Host() {
    core::Options o;
    o.threads = 2;
    o.documents.enabled = false;
    server = std::make_unique<core::Server>(o, this);
    server->listen("127.0.0.1", 0);
  }
  ~Host() override { server.reset(); }

  void notify() override {
    std::lock_guard lk(mu_);
    cv_.notify_all();
  }
  void closed() override {}

  // The first event (drained so far or later) that `match` accepts, removed from the backlog.
  std::optional<core::Event> wait_for(const std::function<bool(const core::Event&)>& match) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    for (;;) {
      std::vector<core::Event> batch;
      server->drain_events(batch);
      server->events_handled();
      for (auto& e : batch) backlog_.push_back(std::move(e));
      for (auto it = backlog_.begin(); it != backlog_.end(); ++it) {
        if (match(*it)) {
          core::Event e = std::move(*it);
          backlog_.erase(it);
          return e;
        }
      }
      std::unique_lock lk(mu_);
      if (cv_.wait_until(lk, std::min(deadline, std::chrono::steady_clock::now() + 50ms)) == std::cv_status::timeout &&
          std::chrono::steady_clock::now() >= deadline) {
        return std::nullopt;
      }
    }
  }

  // Counts servers until `n` subscribers are seen (subscriptions are confirmed asynchronously).
  void until_server_count(const std::string& nsp, int n) {
    for (int64_t id = 1; id < 1000; ++id) {
      server->adapter_server_count(nsp, id);
      auto e = wait_for([id](const core::Event& ev) { return ev.kind == core::Event::kAdapterReply && ev.ack_id == id; });
      ASSERT_TRUE(e) << "no server count";
      ASSERT_EQ(e->extra, "");
      if (e->data == std::to_string(n)) return;
      std::this_thread::sleep_for(20ms);
    }
    FAIL() << "never " << n << " servers";
  }

  std::unique_ptr<core::Server> server;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<core::Event> backlog_;
};

void publish(redis::Connection& c, const char* verb, std::string channel, std::string payload) {
  EXPECT_FALSE(run(c, {verb, std::move(channel), std::move(payload)}).ec);
}

core::Server::RedisAdapterOptions adapter_options(const RedisServer& rs, bool sharded) {
  core::Server::RedisAdapterOptions o;
  o.url = url_of(rs);
  o.sharded = sharded;
  o.uid = "me";
  return o;
}

}  // namespace

TEST(RedisAdapter, ClassicBroadcastsArePublishedOnceAndLocalOnesStayHome) {
  RedisServer rs;
  rs.start();
  Inbox inbox;  // outlives the watcher, whose handler fills it
  IoThreads io;
  redis::Connection watcher(io.ioc, options_for(url_of(rs), redis::Role::Subscriber));
  watcher.on_message(inbox.handler());
  watcher.start();
  subscribe(watcher, redis::SubscriptionKind::Pattern, {"socket.io#/chat#*"});

  Host host;
  host.server->set_redis_adapter(adapter_options(rs, false));
  host.server->adapter_namespace("/chat", true);
  host.until_server_count("/chat", 1);

  host.server->broadcast("/chat", {}, {}, R"(2/chat,["hi",{"n":1}])", {}, false, true, false);
  host.server->broadcast("/chat", {"r"}, {"x"}, R"(2/chat,["to-r"])", {}, true, false, false);
  host.server->broadcast("/chat", {}, {}, R"(2/chat,["local"])", {}, false, true, true);
  host.server->broadcast("/chat", {}, {}, R"(51-/chat,["bin",{"_placeholder":true,"num":0}])", {std::string("\0\1", 2)},
                         false, true, false);

  auto m = inbox.at(0);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->channel, "socket.io#/chat#");
  wire::ClassicBroadcast b;
  std::string error;
  ASSERT_TRUE(wire::decode_classic_broadcast(m->payload, b, error)) << error;
  EXPECT_EQ(b.uid, "me");
  EXPECT_EQ(b.packet.nsp, "/chat");
  EXPECT_EQ(b.packet.data_json, R"(["hi",{"n":1}])");
  EXPECT_FALSE(b.opts.volatile_);

  m = inbox.at(1);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->channel, "socket.io#/chat#r#");  // one room: its own channel, as redis-adapter
  ASSERT_TRUE(wire::decode_classic_broadcast(m->payload, b, error)) << error;
  EXPECT_EQ(b.opts.rooms, std::vector<std::string>{"r"});
  EXPECT_EQ(b.opts.except, std::vector<std::string>{"x"});
  EXPECT_TRUE(b.opts.volatile_);
  EXPECT_EQ(b.opts.compress, std::optional<bool>(false));

  // The local broadcast was never published: the binary one comes next.
  m = inbox.at(2);
  ASSERT_TRUE(m);
  ASSERT_TRUE(wire::decode_classic_broadcast(m->payload, b, error)) << error;
  EXPECT_EQ(b.packet.data_json, R"(["bin",{"_placeholder":true,"num":0}])");
  ASSERT_EQ(b.packet.attachments.size(), 1u);
  EXPECT_EQ(b.packet.attachments[0], std::string("\0\1", 2));
}

TEST(RedisAdapter, RequestsAndResponsesReachTheHostAndBadMessagesAreCounted) {
  RedisServer rs;
  rs.start();
  Inbox inbox;  // outlives the watcher, whose handler fills it
  IoThreads io;
  redis::Connection raw(io.ioc, options_for(url_of(rs), redis::Role::Commands));
  raw.start();
  redis::Connection watcher(io.ioc, options_for(url_of(rs), redis::Role::Subscriber));
  watcher.on_message(inbox.handler());
  watcher.start();
  subscribe(watcher, redis::SubscriptionKind::Channel, {"socket.io-response#/#"});

  Host host;
  host.server->set_redis_adapter(adapter_options(rs, false));
  host.server->adapter_namespace("/", true);
  host.until_server_count("/", 1);

  publish(raw, "PUBLISH", "socket.io-request#/#", R"({"uid":"other","requestId":"q1","type":1})");
  auto e = host.wait_for([](const core::Event& ev) { return ev.kind == core::Event::kAdapterMessage; });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->extra, "request");
  EXPECT_EQ(e->nsp, "/");
  EXPECT_EQ(e->data, R"({"uid":"other","requestId":"q1","type":1})");

  // A msgpack response with a binary: JSON with a placeholder + the attachment.
  // {"type":9,"requestId":"q","packet":<bin 0xff>}
  static const char kResponse[] = "\x83\xa4type\x09\xa9requestId\xa1q\xa6packet\xc4\x01\xff";
  publish(raw, "PUBLISH", "socket.io-response#/#", std::string(kResponse, sizeof kResponse - 1));
  e = host.wait_for([](const core::Event& ev) { return ev.kind == core::Event::kAdapterMessage; });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->extra, "response");
  EXPECT_EQ(e->data, R"({"type":9,"requestId":"q","packet":{"_placeholder":true,"num":0}})");
  ASSERT_EQ(e->attachments.size(), 1u);
  EXPECT_EQ(e->attachments[0], "\xff");

  EXPECT_EQ(host.server->stats().adapter_bad_messages, 0u);
  publish(raw, "PUBLISH", "socket.io#/#", "\xc1");
  publish(raw, "PUBLISH", "socket.io-request#/#", "\x93\xa1");
  for (int i = 0; i < 2; ++i) {
    e = host.wait_for([](const core::Event& ev) { return ev.kind == core::Event::kAdapterMessage; });
    ASSERT_TRUE(e);
    EXPECT_EQ(e->extra, "bad");
  }
  EXPECT_EQ(host.server->stats().adapter_bad_messages, 2u);

  // What the host publishes: JSON as is, or notepack's msgpack with the binaries inline. The
  // response channel of the server itself is subscribed too, and seen by the watcher.
  host.server->adapter_publish("socket.io-response#/#", R"({"a":1})", {}, false);
  host.server->adapter_publish("socket.io-response#/#", R"({"a":{"_placeholder":true,"num":0}})", {"\x07"}, true);
  auto m = inbox.at(1);  // [0] is the binary response published by `raw` above
  ASSERT_TRUE(m);
  EXPECT_EQ(m->payload, R"({"a":1})");
  m = inbox.at(2);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->payload, std::string("\x81\xa1\x61\xc4\x01\x07", 6));
}

TEST(RedisAdapter, ShardedBroadcastsUseRoomChannelsAndOnlyAckedOnesReachTheHost) {
  RedisServer rs;
  rs.start();
  Inbox inbox;  // outlives the watcher, whose handler fills it
  IoThreads io;
  redis::Connection raw(io.ioc, options_for(url_of(rs), redis::Role::Commands));
  raw.start();
  redis::Connection watcher(io.ioc, options_for(url_of(rs), redis::Role::Subscriber));
  watcher.on_message(inbox.handler());
  watcher.start();
  subscribe(watcher, redis::SubscriptionKind::Shard, {"socket.io#/#", "socket.io#/#room#"});

  Host host;
  host.server->set_redis_adapter(adapter_options(rs, true));
  host.server->adapter_namespace("/", true);
  host.server->adapter_room("/", "room", true);
  host.until_server_count("/", 2);  // SHARDNUMSUB of the namespace channel: the watcher and us

  const std::string socket_id = "abcdefghij0123456789";  // 20 characters: a socket id
  host.server->broadcast("/", {"room"}, {}, R"(2["r"])", {}, false, true, false);
  host.server->broadcast("/", {socket_id}, {}, R"(2["s"])", {}, false, true, false);
  auto m = inbox.at(0);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->channel, "socket.io#/#room#");
  wire::ClusterMessage cm;
  std::string error;
  ASSERT_TRUE(wire::decode_cluster_message(m->payload, cm, error)) << error;
  EXPECT_EQ(cm.uid, "me");
  EXPECT_EQ(cm.type, wire::MessageType::Broadcast);
  m = inbox.at(1);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->channel, "socket.io#/#");  // a socket id's room goes on the namespace channel

  // From another node: a plain broadcast is fanned out in C++ (the host hears nothing of it), one
  // with acks and a FETCH_SOCKETS go to the host, our own uid is ignored.
  wire::WirePacket p;
  p.data_json = R"(["x"])";
  wire::BroadcastOpts opts;
  publish(raw, "SPUBLISH", "socket.io#/#room#", wire::encode_cluster_message(wire::make_cluster_broadcast("other", p, opts, std::nullopt)));
  publish(raw, "SPUBLISH", "socket.io#/#", R"({"type":7,"data":{"opts":{"rooms":[],"except":[]},"requestId":"f1"},"uid":"me","nsp":"/"})");
  publish(raw, "SPUBLISH", "socket.io#/#", wire::encode_cluster_message(wire::make_cluster_broadcast("other", p, opts, std::string("a1"))));
  publish(raw, "SPUBLISH", "socket.io#/#", R"({"type":7,"data":{"opts":{"rooms":[],"except":[]},"requestId":"f2"},"uid":"other","nsp":"/"})");
  auto e = host.wait_for([](const core::Event& ev) { return ev.kind == core::Event::kAdapterMessage; });
  ASSERT_TRUE(e);
  EXPECT_EQ(e->extra, "message");
  EXPECT_NE(e->data.find(R"("requestId":"a1")"), std::string::npos) << e->data;
  e = host.wait_for([](const core::Event& ev) { return ev.kind == core::Event::kAdapterMessage; });
  ASSERT_TRUE(e);
  EXPECT_NE(e->data.find(R"("requestId":"f2")"), std::string::npos) << e->data;
  EXPECT_EQ(host.server->stats().adapter_bad_messages, 0u);
}

TEST(RedisAdapter, SwapsAndCloseWhileMessagesPourIn) {
  RedisServer rs;
  rs.start();
  IoThreads io;
  redis::Connection raw(io.ioc, options_for(url_of(rs), redis::Role::Commands));
  raw.start();
  Host host;
  host.server->set_redis_adapter(adapter_options(rs, false));
  host.server->adapter_namespace("/", true);
  host.until_server_count("/", 1);

  wire::ClassicBroadcast b{"other", {}, {}};
  b.packet.data_json = R"(["flood"])";
  const std::string good = wire::encode_classic_broadcast(b);
  std::atomic<bool> stop{false};
  std::thread publisher([&] {
    for (int i = 0; i < 3000 && !stop; ++i) {
      raw.command({"PUBLISH", "socket.io#/#", i % 10 == 0 ? std::string("\xc1") : good});
      if (i % 100 == 0) std::this_thread::sleep_for(1ms);
    }
  });
  for (int i = 0; i < 20; ++i) {
    core::Server::RedisAdapterOptions local;  // empty url: back to the local adapter
    host.server->set_redis_adapter(i % 2 ? adapter_options(rs, false) : local);
    host.server->adapter_namespace("/", true);
    host.server->broadcast("/", {}, {}, R"(2["mine"])", {}, false, true, false);
    std::this_thread::sleep_for(5ms);
  }
  host.server->close();
  stop = true;
  publisher.join();
  EXPECT_LE(host.server->stats().adapter_bad_messages, 300u);
}
