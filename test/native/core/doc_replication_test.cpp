// Documents across processes (native/core/doc_replication.*) with two core::Servers on one
// redis-server of the test's own, each on several I/O threads: an update a y-websocket client
// sends to one server reaches a client of the same document on the other. Written for
// ThreadSanitizer (core_tests runs under it in CI): the replication strand, both Redis
// connections' strands, the documents' strands and the connections' strands all meet here.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../redis/redis_server.h"
#include "core/server.h"

using namespace collabio::core;
using namespace std::chrono_literals;

namespace {

// A host that drains events and handles none (documents need no answer without authorize or
// application persistence).
class Host : public EventSink {
 public:
  explicit Host(Options opts) : server_(std::move(opts), this) {}
  ~Host() override { stop(); }

  uint16_t listen() {
    const auto a = server_.listen("127.0.0.1", 0);
    thread_ = std::thread([this] { loop(); });
    return a.port;
  }
  void stop() {
    if (stopped_) return;
    stopped_ = true;
    server_.close();
    {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, 10s, [&] { return closed_; });
      quit_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  Server& server() { return server_; }

  void notify() override {
    {
      std::lock_guard lk(mu_);
      pending_ = true;
    }
    cv_.notify_all();
  }
  void closed() override {
    {
      std::lock_guard lk(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

 private:
  void loop() {
    std::vector<Event> batch;
    for (;;) {
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return pending_ || quit_; });
        if (quit_) return;
        pending_ = false;
      }
      batch.clear();
      const bool more = server_.drain_events(batch);
      server_.events_handled();
      if (more) {
        std::lock_guard lk(mu_);
        pending_ = true;
      }
    }
  }

  std::thread thread_;
  bool stopped_ = false;  // owner: the test thread
  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;  // guarded by mu_
  bool closed_ = false;   // guarded by mu_
  bool quit_ = false;     // guarded by mu_
  Server server_;         // last: its threads are joined before the members above go away
};

// A y-websocket client over a plain socket: upgrade, masked binary frames out, whatever arrives in.
class DocClient {
 public:
  DocClient(uint16_t port, const std::string& doc) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{0, 100000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;  // sockaddr_in as sockaddr
    ok_ = ok_ && send_all("GET /" + doc + " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  }
  ~DocClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return ok_; }

  void send_binary(const std::string& payload) {
    std::string f(1, static_cast<char>(0x82));
    f.push_back(static_cast<char>(0x80 | payload.size()));  // < 126 bytes here
    const char mask[4] = {1, 2, 3, 4};
    f.append(mask, 4);
    for (size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i & 3]));
    send_all(f);
  }
  // Reads for up to `limit`; true once everything received contains `needle`.
  bool received(const std::string& needle, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (buf_.find(needle) == std::string::npos) {
      if (std::chrono::steady_clock::now() > end) return false;
      char tmp[4096];
      const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n > 0) buf_.append(tmp, static_cast<size_t>(n));
      if (n == 0) return false;
    }
    return true;
  }

 private:
  bool send_all(std::string_view s) {
    while (!s.empty()) {
      const ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  int fd_ = -1;
  bool ok_ = false;
  std::string buf_;
};

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

// y-websocket Update (sync message 0, type 2) of a Yjs update v1 that inserts `text` (< 64 bytes,
// ASCII) into the root text "t" as client `client` at clock 0 (the shape of yjs's own
// encodeStateAsUpdate for one insert: 1 client, 1 struct, ContentString, parent by name, empty
// delete set).
std::string y_update_message(int client, const std::string& text) {
  std::string u = bytes({1, 1, client, 0, 4, 1, 1, 't', static_cast<int>(text.size())}) + text + bytes({0});
  return bytes({0, 2, static_cast<int>(u.size())}) + u;
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
