// The "ceiling": the least a server on this machine must do for the benchmark's workloads.
//
// No protocol logic beyond the benchmark's events: it speaks just enough Engine.IO v4 / Socket.IO v5
// over WebSocket for the load generator (open packet, namespace CONNECT, the "fan" broadcast and the
// "req" ack), and for any other path it relays binary y-websocket messages to the other connections
// of the same document without a CRDT (answering SyncStep1 with an empty SyncStep2 so providers
// become synced).
//
// It has the best ideas of collabio's transport, so that collabio's figures are measured against a
// real lower bound, not a strawman:
// - one single-threaded io_context per thread; a connection lives on one thread and nothing in it
//   is locked; every connection of a Yjs document lives on the same thread (chosen by the
//   document's name; a connection accepted on another thread is handed over after its upgrade
//   request), so a relay never leaves the thread that read the update;
// - a broadcast is framed once and reaches each thread in one task (none for the sender's own
//   thread: it runs inline), never one post per recipient;
// - writes are batched per event batch: a frame queued for a connection marks it dirty on its
//   thread; one flush task per thread, queued behind the reads the reactor delivered together,
//   writes every dirty connection, so a connection that got several frames writes them at once;
// - a write is first tried right away (non-blocking gather write); only what the kernel does not
//   take goes to an async_write;
// - an idle connection owns no read buffer (reads wait for readability, then read into the
//   thread's buffer), and payloads are unmasked eight octets at a time.
#include <utility>  // before Boost 1.74 Asio: its awaitable.hpp uses std::exchange
#include <boost/asio.hpp>

#include <atomic>
#include <cstring>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
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
  std::vector<std::shared_ptr<Conn>> dirty;  // connections with frames queued and no write started
  void mark_dirty(std::shared_ptr<Conn> c);
  void flush();
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

  // A y-websocket connection handed over by the thread that accepted it (see on_upgrade): it joins
  // its document on this thread, answers the upgrade and goes on with any bytes already received.
  void start_moved(std::string doc, std::string response, std::string leftover) {
    upgraded_ = true;
    doc_ = std::move(doc);
    g_workers[worker_]->docs[doc_].push_back(shared_from_this());
    enqueue(std::make_shared<const std::string>(std::move(response)));
    if (!leftover.empty()) {
      std::vector<char>& rx = g_workers[worker_]->rx;
      if (rx.size() < leftover.size()) rx.resize(leftover.size());
      std::memcpy(rx.data(), leftover.data(), leftover.size());
      if (!process(rx, leftover.size())) return;
    }
    do_read();
  }

  // Queues a frame; the write starts in the thread's next flush (Worker::flush), so that frames
  // queued in the same event batch leave in one gather write.
  void enqueue(Bytes frame) {
    if (closed_) return;
    queued_bytes_ += frame->size();
    pending_.push_back(std::move(frame));
    if (queued_bytes_ > kMaxQueuedBytes) {
      // Not closed here: the caller may be iterating the room this connection is in.
      asio::post(sock_.get_executor(), [self = shared_from_this()] { self->close(); });
      return;
    }
    if (!writing_ && !dirty_) {
      dirty_ = true;
      g_workers[worker_]->mark_dirty(shared_from_this());
    }
  }

  // Worker::flush: write what is queued.
  void flushed() {
    dirty_ = false;
    do_write();
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
    if (process(rx, have + n)) do_read();
  }

  // Handles rx[0, len): the upgrade request, then frames; keeps an incomplete tail in partial_.
  // False when the connection is closed or was handed to another thread.
  bool process(std::vector<char>& rx, size_t len) {
    size_t off = 0;
    if (!upgraded_) {
      const std::string_view all(rx.data(), len);
      const size_t end = all.find("\r\n\r\n");
      if (end == all.npos) {
        if (len > 16 * 1024) {
          close();
          return false;
        }
        partial_.assign(rx.data(), len);
        return true;
      }
      off = end + 4;
      if (!on_upgrade(all.substr(0, end + 2), all.substr(off))) {
        close();
        return false;
      }
      if (moved_) return false;
    }
    while (!closed_ && off < len) {
      bool too_big = false;
      auto f = bench::parse_frame(rx.data() + off, len - off, kMaxFrame, too_big);
      if (too_big) {
        close();
        return false;
      }
      if (!f) break;
      off += f->consumed;
      on_frame(*f);
    }
    if (closed_) return false;
    partial_.assign(rx.data() + off, len - off);
    if (partial_.empty()) partial_.shrink_to_fit();
    return true;
  }

  bool on_upgrade(std::string_view head, std::string_view leftover) {
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
      // Every connection of a document lives on the document's thread, so that a relay never
      // leaves the thread that read the update. A connection accepted elsewhere moves there.
      const size_t home = std::hash<std::string_view>{}(name) % g_workers.size();
      if (home != worker_) {
        moved_ = true;
        closed_ = true;  // this object is done; the descriptor lives on in the new one
        boost::system::error_code ec;
        const int fd = sock_.release(ec);
        if (ec) return false;
        asio::post(g_workers[home]->ctx, [home, fd, doc = std::string(name), resp = std::move(resp),
                                          rest = std::string(leftover)]() mutable {
          tcp::socket s(g_workers[home]->ctx);
          boost::system::error_code aec;
          s.assign(tcp::v4(), fd, aec);
          if (aec) {
            ::close(fd);
            return;
          }
          auto c = std::make_shared<Conn>(std::move(s), home);
          c->start_moved(std::move(doc), std::move(resp), std::move(rest));
        });
        return true;
      }
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
          auto fan = [w = w.get(), frame] {
            for (auto& c : w->room) c->enqueue(frame);
          };
          if (w.get() == g_workers[worker_].get()) fan();
          else asio::post(w->ctx, fan);
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
    // Every connection of the document is on this thread (on_upgrade).
    auto frame = std::make_shared<const std::string>(bench::make_frame(bench::kBinary, p, false));
    auto& w = *g_workers[worker_];
    auto it = w.docs.find(doc_);
    if (it == w.docs.end()) return;
    for (auto& c : it->second)
      if (c.get() != this) c->enqueue(frame);
  }

  // One gather write of everything queued, tried right away; only what the kernel does not take
  // (a full send buffer) waits in an async_write.
  void do_write() {
    while (!closed_ && !writing_ && !pending_.empty()) {
      inflight_.swap(pending_);
      bufs_.clear();
      size_t total = 0;
      for (auto& b : inflight_) {
        bufs_.emplace_back(asio::buffer(*b));
        total += b->size();
      }
      boost::system::error_code ec;
      const size_t n = sock_.write_some(bufs_, ec);
      if (ec && ec != asio::error::would_block && ec != asio::error::try_again) return close();
      queued_bytes_ -= n;
      if (n < total) {
        writing_ = true;
        rest_.clear();
        size_t skip = n;
        for (auto& b : inflight_) {
          if (skip >= b->size()) {
            skip -= b->size();
            continue;
          }
          rest_.emplace_back(b->data() + skip, b->size() - skip);
          skip = 0;
        }
        asio::async_write(sock_, rest_, [self = shared_from_this()](boost::system::error_code ec2, size_t n2) {
          self->on_write(ec2, n2);
        });
        return;
      }
      inflight_.clear();
    }
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
  bool upgraded_ = false, sio_ = false, joined_ = false, closed_ = false, moved_ = false;
  bool writing_ = false, dirty_ = false;
  std::string doc_;
  std::vector<Bytes> pending_, inflight_;
  std::vector<asio::const_buffer> bufs_, rest_;
  size_t queued_bytes_ = 0;
};

void Worker::mark_dirty(std::shared_ptr<Conn> c) {
  // The first dirty connection queues the flush: behind the handlers already queued on this
  // thread (the rest of the reactor's event batch), so it writes for all of them.
  if (dirty.empty()) asio::post(ctx, [this] { flush(); });
  dirty.push_back(std::move(c));
}

void Worker::flush() {
  auto conns = std::move(dirty);
  dirty.clear();
  for (auto& c : conns) c->flushed();
}

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
