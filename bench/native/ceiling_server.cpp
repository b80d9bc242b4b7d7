// The "ceiling": the least a server on this machine must do for the benchmark's workloads.
//
// No protocol logic beyond the benchmark's events: it speaks just enough Engine.IO v4 / Socket.IO v5
// over WebSocket for the load generator (open packet, namespace CONNECT, the "fan" broadcast and the
// "req" ack), and for any other path it relays binary y-websocket messages to the other connections
// of the same document without a CRDT (answering SyncStep1 with an empty SyncStep2 so providers
// become synced). Frames are encoded once, shared by every recipient, and whatever is queued for a
// connection leaves in one gather write.
//
// Usage: ceiling_server [--port N] [--threads T]    prints {"port":N} on stdout when listening.
#include <utility>  // before Boost 1.74 Asio: its awaitable.hpp uses std::exchange
#include <boost/asio.hpp>

#include <atomic>
#include <cstring>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "ws_wire.h"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Bytes = std::shared_ptr<const std::string>;

namespace {

constexpr size_t kMaxFrame = 16 << 20;
constexpr size_t kMaxQueuedBytes = 64 << 20;  // a consumer this far behind is disconnected

class Conn;

// One per thread. Everything in it is owned by that thread (touched only by handlers on `ctx`).
struct Worker {
  asio::io_context ctx{1};
  std::vector<std::shared_ptr<Conn>> room;                                      // the Socket.IO room
  std::unordered_map<std::string, std::vector<std::shared_ptr<Conn>>> docs;  // doc name -> conns
  std::vector<char> rx;  // receive buffer shared by this thread's connections, one read at a time
};

std::vector<std::unique_ptr<Worker>> g_workers;  // fixed after start
std::atomic<uint64_t> g_next_id{1};

void erase_one(std::vector<std::shared_ptr<Conn>>& v, const Conn* c) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i].get() == c) {
      v[i] = std::move(v.back());
      v.pop_back();
      return;
    }
  }
}

// A connection; owned by its worker's thread.
class Conn : public std::enable_shared_from_this<Conn> {
 public:
  Conn(tcp::socket s, size_t worker) : sock_(std::move(s)), worker_(worker), id_(g_next_id++) {
    sock_.non_blocking(true);
  }

  void start() { do_read(); }

  // Queues a frame; the write starts after the current handler so that frames queued together leave
  // in one gather write.
  void enqueue(Bytes frame) {
    if (closed_) return;
    queued_bytes_ += frame->size();
    pending_.push_back(std::move(frame));
    if (queued_bytes_ > kMaxQueuedBytes) {
      // Not closed here: the caller may be iterating the room this connection is in.
      asio::post(sock_.get_executor(), [self = shared_from_this()] { self->close(); });
      return;
    }
    if (!writing_ && !flush_posted_) {
      flush_posted_ = true;
      asio::post(sock_.get_executor(), [self = shared_from_this()] {
        self->flush_posted_ = false;
        self->do_write();
      });
    }
  }

  const std::string& doc() const { return doc_; }

 private:
  // Reads go into the worker's shared receive buffer once the socket is readable; only the tail of
  // a partly received frame stays with the connection. An idle connection thus holds no read buffer.
  void do_read() {
    sock_.async_wait(tcp::socket::wait_read,
                     [self = shared_from_this()](boost::system::error_code ec) { self->on_readable(ec); });
  }

  void on_readable(boost::system::error_code ec) {
    if (ec || closed_) return close();
    std::vector<char>& rx = g_workers[worker_]->rx;
    const size_t have = partial_.size();
    if (rx.size() < have + 64 * 1024) rx.resize(have + 64 * 1024);
    std::memcpy(rx.data(), partial_.data(), have);
    boost::system::error_code rec;
    const size_t n = sock_.read_some(asio::buffer(rx.data() + have, rx.size() - have), rec);
    if (rec == asio::error::would_block || rec == asio::error::try_again) return do_read();
    if (rec) return close();
    const size_t len = have + n;
    size_t off = 0;
    if (!upgraded_) {
      const std::string_view all(rx.data(), len);
      const size_t end = all.find("\r\n\r\n");
      if (end == all.npos) {
        if (len > 16 * 1024) return close();
        partial_.assign(rx.data(), len);
        return do_read();
      }
      if (!on_upgrade(all.substr(0, end + 2))) return close();
      off = end + 4;
    }
    while (!closed_ && off < len) {
      bool too_big = false;
      auto f = bench::parse_frame(rx.data() + off, len - off, kMaxFrame, too_big);
      if (too_big) return close();
      if (!f) break;
      off += f->consumed;
      on_frame(*f);
    }
    if (closed_) return;
    partial_.assign(rx.data() + off, len - off);
    if (partial_.empty()) partial_.shrink_to_fit();
    do_read();
  }

  bool on_upgrade(std::string_view head) {
    const size_t sp1 = head.find(' ');
    const size_t sp2 = head.find(' ', sp1 + 1);
    if (sp1 == head.npos || sp2 == head.npos) return false;
    const std::string_view target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view key = bench::header_value(head, "Sec-WebSocket-Key");
    if (key.empty()) return false;
    std::string resp =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";
    resp += bench::ws_accept_key(key);
    resp += "\r\n\r\n";
    upgraded_ = true;
    if (target.starts_with("/socket.io/")) {
      sio_ = true;
      resp += bench::make_frame(bench::kText,
                                "0{\"sid\":\"c" + std::to_string(id_) +
                                    "\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}",
                                false);
    } else {
      std::string_view name = target.substr(1);
      if (const size_t q = name.find('?'); q != name.npos) name = name.substr(0, q);
      doc_ = std::string(name);
      g_workers[worker_]->docs[doc_].push_back(shared_from_this());
    }
    enqueue(std::make_shared<const std::string>(std::move(resp)));
    return true;
  }

  void on_frame(const bench::Frame& f) {
    switch (f.opcode) {
      case bench::kClose:
        return close();
      case bench::kPing:
        return enqueue(std::make_shared<const std::string>(bench::make_frame(bench::kPong, f.payload, false)));
      case bench::kText:
        if (sio_) on_engineio(f.payload);
        return;
      case bench::kBinary:
        if (!sio_) on_yjs(f.payload);
        return;
      default:
        return;
    }
  }

  // Engine.IO packet types: 1 close, 2 ping, 3 pong, 4 message; Socket.IO inside 4: 0 CONNECT,
  // 2 EVENT, 3 ACK.
  void on_engineio(std::string_view p) {
    if (p.empty()) return;
    if (p[0] == '1') return close();
    if (p[0] == '2') return enqueue(std::make_shared<const std::string>(bench::make_frame(bench::kText, "3", false)));
    if (p[0] != '4' || p.size() < 2) return;
    if (p[1] == '0') {
      if (joined_) return;
      joined_ = true;
      g_workers[worker_]->room.push_back(shared_from_this());
      enqueue(std::make_shared<const std::string>(
          bench::make_frame(bench::kText, "40{\"sid\":\"s" + std::to_string(id_) + "\"}", false)));
      return;
    }
    if (p[1] != '2') return;
    std::string_view rest = p.substr(2);
    size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 0) {
      // 42["fan",...]: every member of the room gets the same packet; encode the frame once.
      if (rest.starts_with("[\"fan\"")) {
        auto frame = std::make_shared<const std::string>(bench::make_frame(bench::kText, p, false));
        for (auto& w : g_workers) {
          asio::post(w->ctx, [w = w.get(), frame] {
            for (auto& c : w->room) c->enqueue(frame);
          });
        }
      }
      return;
    }
    // 42<id>["req",X] -> 43<id>[X]
    const std::string_view id = rest.substr(0, digits);
    const std::string_view args = rest.substr(digits);
    if (!args.starts_with("[\"req\",") || args.back() != ']') return;
    std::string reply = "43";
    reply += id;
    reply += '[';
    reply += args.substr(7);  // X]
    enqueue(std::make_shared<const std::string>(bench::make_frame(bench::kText, reply, false)));
  }

  // y-websocket: relay every message to the other connections of the document; answer SyncStep1
  // (0,0,...) with an empty SyncStep2 (0,1, update of length 2: no structs, empty delete set).
  void on_yjs(std::string_view p) {
    if (p.size() >= 2 && p[0] == 0 && p[1] == 0) {
      static const std::string empty_step2{'\0', '\1', '\2', '\0', '\0'};
      enqueue(std::make_shared<const std::string>(bench::make_frame(bench::kBinary, empty_step2, false)));
    }
    if (!p.empty() && p[0] == 3) return;  // query awareness: nothing to answer with
    auto frame = std::make_shared<const std::string>(bench::make_frame(bench::kBinary, p, false));
    const Conn* sender = this;
    for (auto& w : g_workers) {
      asio::post(w->ctx, [w = w.get(), frame, sender, doc = doc_] {
        auto it = w->docs.find(doc);
        if (it == w->docs.end()) return;
        for (auto& c : it->second)
          if (c.get() != sender) c->enqueue(frame);
      });
    }
  }

  void do_write() {
    if (closed_ || writing_ || pending_.empty()) return;
    writing_ = true;
    inflight_.swap(pending_);
    bufs_.clear();
    for (auto& b : inflight_) bufs_.emplace_back(asio::buffer(*b));
    asio::async_write(sock_, bufs_, [self = shared_from_this()](boost::system::error_code ec, size_t n) {
      self->on_write(ec, n);
    });
  }

  void on_write(boost::system::error_code ec, size_t n) {
    writing_ = false;
    queued_bytes_ -= n;
    inflight_.clear();
    if (ec) return close();
    do_write();
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    sock_.close(ignored);
    auto& w = *g_workers[worker_];
    if (joined_) erase_one(w.room, this);
    if (!doc_.empty()) {
      auto it = w.docs.find(doc_);
      if (it != w.docs.end()) {
        erase_one(it->second, this);
        if (it->second.empty()) w.docs.erase(it);
      }
    }
    pending_.clear();
  }

  tcp::socket sock_;
  const size_t worker_;
  const uint64_t id_;
  std::string partial_;  // bytes of a frame not yet complete
  bool upgraded_ = false, sio_ = false, joined_ = false, closed_ = false;
  bool writing_ = false, flush_posted_ = false;
  std::string doc_;
  std::vector<Bytes> pending_, inflight_;
  std::vector<asio::const_buffer> bufs_;
  size_t queued_bytes_ = 0;
};

class Listener {
 public:
  Listener(asio::io_context& ctx, uint16_t port) : acceptor_(ctx, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port)) {}
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void do_accept() {
    const size_t w = next_++ % g_workers.size();
    acceptor_.async_accept(g_workers[w]->ctx, [this, w](boost::system::error_code ec, tcp::socket s) {
      if (!ec) {
        s.set_option(tcp::no_delay(true));
        auto c = std::make_shared<Conn>(std::move(s), w);
        asio::post(g_workers[w]->ctx, [c] { c->start(); });
      }
      do_accept();
    });
  }

 private:
  tcp::acceptor acceptor_;
  size_t next_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  uint16_t port = 0;
  size_t threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--port") port = uint16_t(std::stoi(argv[i + 1]));
    else if (a == "--threads") threads = std::max(1, std::stoi(argv[i + 1]));
  }
  std::signal(SIGPIPE, SIG_IGN);
  for (size_t i = 0; i < threads; ++i) g_workers.push_back(std::make_unique<Worker>());
  Listener listener(g_workers[0]->ctx, port);
  listener.do_accept();
  std::printf("{\"port\":%u}\n", unsigned(listener.port()));
  std::fflush(stdout);

  asio::signal_set signals(g_workers[0]->ctx, SIGINT, SIGTERM);
  signals.async_wait([](boost::system::error_code, int) {
    for (auto& w : g_workers) w->ctx.stop();
  });
  std::vector<std::thread> pool;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& w : g_workers) guards.push_back(asio::make_work_guard(w->ctx));
  for (size_t i = 1; i < threads; ++i) pool.emplace_back([i] { g_workers[i]->ctx.run(); });
  g_workers[0]->ctx.run();
  for (auto& w : g_workers) w->ctx.stop();
  for (auto& t : pool) t.join();
  return 0;
}
