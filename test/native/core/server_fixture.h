// What the end-to-end core tests share (server_test, doc_replication_test,
// doc_cluster_awareness_test): a host that runs a core::Server and drains its events on a thread of
// its own as the addon does, and a blocking client over a plain loopback socket that writes
// WebSocket frames by hand.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/server.h"

namespace collabio::test {

// ---- the host: a core::Server whose events a thread of the test drains ----
//
// Drains as the addon does (native/addon/addon.cpp, Deliver): one batch at a time, the commands
// of a whole batch handed to the I/O threads at once (Server::CommandBatch), events_handled() after
// each batch. handle() sees every event; this class handles none (documents need no answer without
// authorize or application persistence).
class TestHost : public core::EventSink {
 public:
  explicit TestHost(core::Options opts) : server_(std::move(opts), this) {}
  // A subclass that overrides handle() calls stop() in its own destructor: the host thread must be
  // gone before the subclass's members are.
  ~TestHost() override { stop(); }
  TestHost(const TestHost&) = delete;
  TestHost& operator=(const TestHost&) = delete;

  // Listens on an ephemeral loopback port, starts the host thread, returns the port.
  uint16_t listen() {
    const auto a = server_.listen("127.0.0.1", 0);
    thread_ = std::thread([this] { loop(); });
    return a.port;
  }

  // Server::close(), then waits (10 s at most) for EventSink::closed() and stops the host thread.
  // Safe to call twice.
  void stop() {
    if (stopped_) return;
    stopped_ = true;
    server_.close();
    {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::seconds(10), [&] { return closed_; });
      quit_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  core::Server& server() { return server_; }

  // While held, the host drains nothing (a JavaScript thread that is busy).
  void hold(bool on) {
    {
      std::lock_guard lk(mu_);
      held_ = on;
    }
    cv_.notify_all();
  }

  // At most `bytes` per batch, the rest in the next one, as the addon slices. Call before listen().
  void drain_in_slices(uint64_t bytes) { slice_bytes_ = bytes; }

  // ---- EventSink (I/O threads) ----
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

 protected:
  // One event, on the host thread, inside the batch's Server::CommandBatch.
  virtual void handle(core::Event&) {}

 private:
  void loop() {
    std::vector<core::Event> batch;
    for (;;) {
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return (pending_ && !held_) || quit_; });
        if (quit_) return;
        pending_ = false;
      }
      batch.clear();
      // drain_events does not notify for what it leaves behind: the host comes back for it.
      const bool more = server_.drain_events(batch, slice_bytes_);
      {
        core::Server::CommandBatch commands(server_);
        for (auto& ev : batch) handle(ev);
      }
      server_.events_handled();  // as the addon does once JavaScript ran the batch
      if (more) {
        std::lock_guard lk(mu_);
        pending_ = true;
      }
    }
  }

  std::thread thread_;
  uint64_t slice_bytes_ = UINT64_MAX;  // set before listen(), read by the host thread only
  bool stopped_ = false;               // owner: the test thread

  std::mutex mu_;
  std::condition_variable cv_;
  bool pending_ = false;  // guarded by mu_
  bool closed_ = false;   // guarded by mu_
  bool quit_ = false;     // guarded by mu_
  bool held_ = false;     // guarded by mu_

  // Last: destroyed first, so its I/O threads are joined before the sink's members go away (an I/O
  // thread may still be inside closed() when stop() returns).
  core::Server server_;
};

// ---- a blocking client over a plain loopback socket ----
class RawClient {
 public:
  explicit RawClient(uint16_t port, bool small_receive_buffer = false) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (small_receive_buffer) {
      int sz = 4096;
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    }
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;  // sockaddr_in as sockaddr
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }

  bool send_all(std::string_view s) {
    while (!s.empty()) {
      const ssize_t n = ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Asks for a WebSocket upgrade of `target` ("/socket.io/?EIO=4&transport=websocket", "/doc");
  // the answer is read with read_head() or received(). `headers`: more header lines, each ending
  // in "\r\n" (a Sec-WebSocket-Extensions offer).
  bool send_upgrade(std::string_view target, std::string_view headers = {}) {
    return send_all("GET " + std::string(target) +
                    " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
                    std::string(headers) + "\r\n");
  }

  // Reads until the end of the HTTP response head; returns it (empty on EOF/timeout).
  std::string read_head() {
    while (buf_.find("\r\n\r\n") == std::string::npos) {
      if (!fill()) return {};
    }
    const size_t end = buf_.find("\r\n\r\n") + 4;
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end);
    return head;
  }

  // Whatever the server sends until it closes (for a refusal's body).
  std::string read_to_eof() {
    while (fill()) {
    }
    return std::exchange(buf_, {});
  }

  // Reads for up to `limit`; true once everything received so far contains `needle` (nothing is
  // consumed: a later call searches the same bytes). False at once on EOF.
  bool received(const std::string& needle, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (buf_.find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;  // timed out (or EINTR): recheck
      if (!fill()) return false;
    }
    return true;
  }

  // Opens an Engine.IO session over WebSocket and CONNECTs "/"; true when both answers arrived.
  // `headers` as for send_upgrade; the response head is kept in head().
  bool open_socketio(std::string_view headers = {}) {
    if (!send_upgrade("/socket.io/?EIO=4&transport=websocket", headers)) return false;
    head_ = read_head();
    if (head_.rfind("HTTP/1.1 101", 0) != 0) return false;
    auto open = read_frame();
    if (!open || open->rfind("0{", 0) != 0) return false;
    send_text("40");
    auto reply = read_frame();
    return reply && reply->rfind("40{", 0) == 0;
  }

  // The response head of open_socketio()'s upgrade.
  const std::string& head() const { return head_; }

  void send_text(std::string_view payload) { send_frame(0x81, payload); }
  void send_binary(std::string_view payload) { send_frame(0x82, payload); }

  // One masked frame (first byte `first`: FIN, RSV and opcode) of up to 65535 bytes.
  void send_frame(uint8_t first, std::string_view payload) { send_all(frame(first, payload)); }
  static std::string frame(uint8_t first, std::string_view payload) {
    std::string f(1, static_cast<char>(first));
    const size_t n = payload.size();
    if (n < 126) {
      f.push_back(static_cast<char>(0x80 | n));
    } else {
      f.push_back(static_cast<char>(0x80 | 126));
      f.push_back(static_cast<char>(n >> 8));
      f.push_back(static_cast<char>(n & 0xFF));
    }
    const char mask[4] = {1, 2, 3, 4};
    f.append(mask, 4);
    for (size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i & 3]));
    return f;
  }

  // The next data frame's payload, answering Engine.IO pings ("2") on the way; nullopt on close,
  // EOF or timeout. `opcode` receives the frame's opcode.
  std::optional<std::string> read_frame(uint8_t* opcode = nullptr) {
    for (;;) {
      while (buf_.size() < 2)
        if (!fill()) return std::nullopt;
      const uint8_t b0 = static_cast<uint8_t>(buf_[0]);
      uint64_t len = static_cast<uint8_t>(buf_[1]) & 0x7F;
      size_t h = 2;
      if (len == 126) h = 4;
      if (len == 127) h = 10;
      while (buf_.size() < h)
        if (!fill()) return std::nullopt;
      if (len == 126) len = (uint64_t(uint8_t(buf_[2])) << 8) | uint8_t(buf_[3]);
      if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | uint8_t(buf_[2 + i]);
      }
      while (buf_.size() < h + len)
        if (!fill()) return std::nullopt;
      std::string payload = buf_.substr(h, len);
      buf_.erase(0, h + len);
      const uint8_t op = b0 & 0x0F;
      if (op == 0x8) {
        close_payload_ = payload;
        return std::nullopt;
      }
      if (op == 0x1 && payload == "2") {
        send_text("3");
        continue;
      }
      if (opcode) *opcode = op;
      return payload;
    }
  }

  const std::string& close_payload() const { return close_payload_; }

 private:
  // One read (blocking up to the 10 s receive timeout); false on EOF, error or timeout.
  bool fill() {
    char tmp[16384];
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
  std::string close_payload_;
  std::string head_;
};

// A y-websocket client of document `doc`: its upgrade request is sent; ok() when that worked.
class DocClient : public RawClient {
 public:
  // `headers` as for send_upgrade (a Sec-WebSocket-Extensions offer).
  DocClient(uint16_t port, const std::string& doc, std::string_view headers = {}) : RawClient(port) {
    std::string target = "/";  // appended: GCC 12 warns -Wrestrict, falsely, on `"/" + doc` here
    target += doc;
    ok_ = connected() && send_upgrade(target, headers);
  }
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
};

inline std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

}  // namespace collabio::test
