// Load generator for the Socket.IO workloads: speaks Engine.IO v4 / Socket.IO v5 over WebSocket by
// hand (as socket.io-client 4 does with transports: ['websocket']), on several threads, so that the
// generator costs far less CPU than the server it measures.
//
// Modes:
//   fanout  N clients in the server's room "r"; client 0 emits 42["fan","<seq>|<t_ns>|<sender>|pad"]
//           and every client (sender included) receives the broadcast. --rate R messages/s (0: as
//           fast as the window of --window messages in flight allows; a message leaves the window
//           when all N copies arrived).
//           Several nodes (bench/cluster.js): --port P1,P2,... spreads the clients round robin over
//           the ports (client i on node i % nodes); --senders S makes clients 0..S-1 senders (so
//           one sender per node when S = nodes), each at R / S messages/s and with its own window.
//           Latency is also reported for "cross" deliveries alone (sender and receiver on
//           different nodes: the copies that went through the cluster adapter).
//   ack     N clients each keep --depth requests 42<id>["req","<t_ns>|pad"] in flight and wait for
//           43<id>[...] (the server's handler answers with its argument).
//   idle    N clients connect, print {"event":"ready"} and hold until --hold seconds pass or stdin
//           closes; pings are answered.
//   yjs     y-websocket: --docs D documents at <--doc-prefix><d>, --clients per document, the first
//           --writers of each send pre-encoded Yjs updates from --updates FILE (made by
//           bench/clients/make-updates.js) at --rate updates/s each; a 16-digit timestamp field
//           "T0000000000000000" in each update is patched before sending, and every client that
//           receives a relayed update reads it back (edit-to-remote latency).
// Server CPU is the sum of /proc/<--server-pid>/task/*/schedstat (nanoseconds on a CPU, per
// thread; see bench/lib/proc.js) at the start and end of the measured window; --server-pid may list
// several processes (P1,P2,...: a fleet), whose CPU is summed. --aux-pid names one more process
// (redis-server) whose CPU over the same window is reported apart (aux_cpu_s). The window lasts at
// least --duration seconds and until the server has used --min-server-cpu CPU seconds, at most
// --max-duration seconds, so that a figure per unit rests on enough CPU. A server thread that
// exits during the window takes its time with it: the result says so (lost_threads) and the
// harness refuses the run. The generator's own CPU comes from getrusage.
// Prints one JSON object on stdout at the end. Every loop is bounded in time.
#include <utility>  // before Boost 1.74 Asio: its awaitable.hpp uses std::exchange
#include <boost/asio.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <dirent.h>
#include <map>
#include <sys/resource.h>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "ws_wire.h"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::vector<uint16_t> ports;  // fanout over several nodes: client i connects to ports[i % size]
  int senders = 1;
  std::string mode = "fanout";
  std::string path = "/socket.io/?EIO=4&transport=websocket";
  int clients = 1000;
  int threads = 2;
  double warmup = 2, duration = 5, hold = 30, connect_timeout = 120;
  double min_server_cpu = 0, max_duration = 120;
  double rate = 0;  // fanout messages/s, 0 = window-limited
  int window = 16;
  int size = 100;
  int depth = 1;
  int connect_concurrency = 64;  // handshakes in flight per thread
  std::vector<int> server_pids;  // summed
  int aux_pid = 0;
  int docs = 10, writers = 1;
  std::string updates_file, doc_prefix = "/bench-";
};
Options g_opt;

std::atomic<uint64_t> g_t_start{UINT64_MAX}, g_t_end{UINT64_MAX};
std::atomic<bool> g_stop_sending{false};
std::atomic<int> g_connected{0}, g_failed{0};
std::atomic<uint64_t> g_sent{0};
std::atomic<uint64_t> g_sent_in_window{0};  // fanout: broadcasts sent inside the measured window
// fanout: every copy received by any client; a message is complete when all --clients copies
// arrived, so messages in flight = sent - received / clients (the window that bounds the queues).
std::atomic<uint64_t> g_fan_received{0};
// The same per sender (index = sender): each sender's own window.
std::unique_ptr<std::atomic<uint64_t>[]> g_fan_received_from;
// yjs: pre-encoded y-websocket messages per writer stream, and where each one's timestamp field is.
std::vector<std::vector<std::string>> g_streams;
std::vector<std::vector<size_t>> g_stamp_at;
std::unique_ptr<std::atomic<uint64_t>[]> g_sent_per_doc;

bool load_updates(const std::string& file) {
  std::ifstream f(file, std::ios::binary);
  auto u32 = [&f]() {
    unsigned char b[4] = {};
    f.read(reinterpret_cast<char*>(b), 4);  // bytes of a little-endian u32
    return uint32_t(b[0]) | (uint32_t(b[1]) << 8) | (uint32_t(b[2]) << 16) | (uint32_t(b[3]) << 24);
  };
  const uint32_t writers = u32(), count = u32();
  if (!f || writers == 0 || writers > 10000 || count > 10000000) return false;
  g_streams.assign(writers, {});
  g_stamp_at.assign(writers, {});
  for (uint32_t w = 0; w < writers; ++w) {
    for (uint32_t i = 0; i < count; ++i) {
      const uint32_t len = u32();
      if (!f || len > (1u << 20)) return false;
      std::string m(len, '\0');
      f.read(m.data(), len);
      const size_t at = m.find("T0000000000000000");
      if (!f || at == m.npos) return false;
      g_streams[w].push_back(std::move(m));
      g_stamp_at[w].push_back(at + 1);
    }
  }
  return true;
}

// Per-thread counters; written by that worker's thread only, read by main after the threads join.
struct Stats {
  uint64_t deliveries = 0;      // fanout: broadcasts received inside the window
  uint64_t round_trips = 0;     // ack: replies received inside the window
  uint64_t all_received = 0;    // including warmup/drain
  std::vector<uint32_t> lat_us; // latency samples inside the window
  std::vector<uint32_t> cross_lat_us; // fanout over several nodes: sender on another node
};

class Client;
struct Worker {
  asio::io_context ctx{1};
  Stats stats;
  std::vector<std::shared_ptr<Client>> to_connect;  // owner: this worker's thread
  size_t next_connect = 0;
  int connecting = 0;
  void connect_more();
};
std::vector<std::unique_ptr<Worker>> g_workers;
// fanout: clients 0..senders-1 (client k on worker k % threads); set before sending starts.
std::vector<std::shared_ptr<Client>> g_senders;

std::string pad_to(std::string s, size_t n) {
  while (s.size() < n) s.push_back('x');
  return s;
}

uint64_t parse_u64(std::string_view s, size_t& pos) {
  uint64_t v = 0;
  while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') v = v * 10 + uint64_t(s[pos++] - '0');
  return v;
}

// A client connection; owned by its worker's thread.
class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(Worker& w, int index, std::string path)
      : w_(w), sock_(w.ctx), index_(index), port_(g_opt.ports[size_t(index) % g_opt.ports.size()]), timer_(w.ctx),
        path_(std::move(path)) {
    buf_.resize(64 * 1024);
  }

  // yjs: this client writes stream `stream` into document `doc` at --rate updates/s.
  void start_yjs_writer(size_t stream, size_t doc) {
    stream_ = stream;
    doc_ = doc;
    tick_start_ = bench::now_ns();
    do_yjs_tick();
  }

  void connect() {
    tcp::endpoint ep(asio::ip::make_address(g_opt.host), port_);
    sock_.async_connect(ep, [self = shared_from_this()](boost::system::error_code ec) { self->on_connect(ec); });
  }

  void start_fanout_sender() {
    if (g_opt.rate > 0) {
      // Senders take turns: sender k starts k / rate seconds after sender 0, so that the
      // broadcasts are evenly spaced in time rather than sent in bursts of one per sender (which
      // one node could deliver in one write per connection and a fleet could not).
      tick_start_ = bench::now_ns() + uint64_t(double(index_) * 1e9 / g_opt.rate);
      do_tick();
    } else {
      fill_window();
    }
  }

  void start_acks() {
    for (int i = 0; i < g_opt.depth; ++i) send_req();
  }

  void shutdown() {
    boost::system::error_code ignored;
    timer_.cancel();
    sock_.close(ignored);
  }

 private:
  void on_connect(boost::system::error_code ec) {
    if (ec) return fail();
    sock_.set_option(tcp::no_delay(true));
    std::string req = "GET " + path_ + " HTTP/1.1\r\nHost: " + g_opt.host + ":" + std::to_string(port_) +
                      "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n";
    send_raw(std::move(req));
    do_read();
  }

  void fail() {
    if (!done_handshake_) {
      done_handshake_ = true;
      ++g_failed;
      --w_.connecting;
      w_.connect_more();
    }
    shutdown();
  }

  void send_raw(std::string bytes) {
    pending_ += bytes;
    do_write();
  }
  void send_text(std::string_view payload) {
    bench::append_frame(pending_, bench::kText, payload, true);
    do_write();
  }

  void do_write() {
    if (writing_ || pending_.empty()) return;
    writing_ = true;
    inflight_.swap(pending_);
    asio::async_write(sock_, asio::buffer(inflight_), [self = shared_from_this()](boost::system::error_code ec, size_t) {
      self->writing_ = false;
      self->inflight_.clear();
      if (ec) return;
      self->do_write();
    });
  }

  void do_read() {
    if (rlen_ == buf_.size()) buf_.resize(buf_.size() * 2);
    sock_.async_read_some(asio::buffer(buf_.data() + rlen_, buf_.size() - rlen_),
                          [self = shared_from_this()](boost::system::error_code ec, size_t n) { self->on_read(ec, n); });
  }

  void on_read(boost::system::error_code ec, size_t n) {
    if (ec) return fail();
    rlen_ += n;
    size_t off = 0;
    if (!upgraded_) {
      const std::string_view all(buf_.data(), rlen_);
      const size_t end = all.find("\r\n\r\n");
      if (end == all.npos) return do_read();
      if (all.substr(0, 12).find("101") == all.npos) return fail();
      upgraded_ = true;
      off = end + 4;
      if (g_opt.mode == "yjs") {
        done_handshake_ = true;
        ++g_connected;
        --w_.connecting;
        w_.connect_more();
      }
    }
    const uint64_t now = bench::now_ns();
    while (off < rlen_) {
      bool too_big = false;
      auto f = bench::parse_frame(buf_.data() + off, rlen_ - off, 64 << 20, too_big);
      if (too_big) return fail();
      if (!f) break;
      off += f->consumed;
      if (f->opcode == bench::kText) on_packet(f->payload, now);
      else if (f->opcode == bench::kBinary) on_yjs(f->payload, now);
      else if (f->opcode == bench::kClose) return fail();
    }
    if (off > 0) {
      std::memmove(buf_.data(), buf_.data() + off, rlen_ - off);
      rlen_ -= off;
    }
    do_read();
  }

  // y-websocket: the server answers the connection with SyncStep1 etc.; this client needs nothing
  // from it. Yjs connections count as connected once upgraded. Relayed updates (sync 0,2 or a
  // SyncStep2 0,1) carry timestamp fields: each one found is one delivered update.
  void on_yjs(std::string_view p, uint64_t now) {
    if (p.size() < 2 || p[0] != 0 || (p[1] != 2 && p[1] != 1)) return;
    const bool in_window = now >= g_t_start.load(std::memory_order_relaxed) && now < g_t_end.load(std::memory_order_relaxed);
    size_t pos = 0;
    while ((pos = p.find('T', pos)) != p.npos) {
      ++pos;
      if (pos + 16 > p.size()) break;
      uint64_t ts = 0;
      bool digits = true;
      for (size_t k = 0; k < 16 && digits; ++k) {
        const char c = p[pos + k];
        digits = c >= '0' && c <= '9';
        ts = ts * 10 + uint64_t(c - '0');
      }
      if (!digits || ts == 0) continue;
      pos += 16;
      ++w_.stats.all_received;
      if (in_window) {
        ++w_.stats.deliveries;
        const uint64_t now_us = now / 1000;
        w_.stats.lat_us.push_back(uint32_t(now_us > ts ? std::min<uint64_t>(now_us - ts, UINT32_MAX) : 0));
      }
    }
  }

  void do_yjs_tick() {
    if (g_stop_sending.load(std::memory_order_relaxed)) return;
    const auto& stream = g_streams[stream_];
    const uint64_t due = std::min<uint64_t>(uint64_t(double(bench::now_ns() - tick_start_) / 1e9 * g_opt.rate), stream.size());
    while (sent_by_tick_ < due) {
      std::string m = stream[sent_by_tick_];
      const std::string ts = std::to_string(bench::now_ns() / 1000);
      std::memcpy(m.data() + g_stamp_at[stream_][sent_by_tick_] + (16 - ts.size()), ts.data(), ts.size());
      bench::append_frame(pending_, bench::kBinary, m, true);
      ++sent_by_tick_;
      ++g_sent;
      ++g_sent_per_doc[doc_];
    }
    do_write();
    if (sent_by_tick_ >= stream.size()) return;  // the pre-encoded stream is used up
    timer_.expires_after(std::chrono::milliseconds(1));
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->do_yjs_tick();
    });
  }

  void on_packet(std::string_view p, uint64_t now) {
    if (p.empty()) return;
    switch (p[0]) {
      case '0':  // Engine.IO open -> Socket.IO CONNECT to "/"
        send_text("40");
        return;
      case '2':  // ping -> pong
        send_text("3");
        return;
      case '4':
        break;
      default:
        return;
    }
    if (p.size() < 2) return;
    if (p[1] == '0') {
      if (!done_handshake_) {
        done_handshake_ = true;
        ++g_connected;
        --w_.connecting;
        w_.connect_more();
      }
      return;
    }
    const bool in_window = now >= g_t_start.load(std::memory_order_relaxed) && now < g_t_end.load(std::memory_order_relaxed);
    if (p[1] == '2') {  // 42["fan","<seq>|<ts>|<sender>|..."]
      constexpr std::string_view prefix = "42[\"fan\",\"";
      if (!p.starts_with(prefix)) return;
      size_t pos = prefix.size();
      parse_u64(p, pos);
      ++pos;
      const uint64_t ts = parse_u64(p, pos);
      ++pos;
      const uint64_t sender = parse_u64(p, pos);
      if (sender >= g_senders.size()) return;
      ++w_.stats.all_received;
      if (in_window) {
        ++w_.stats.deliveries;
        const uint32_t us = uint32_t(std::min<uint64_t>((now - ts) / 1000, UINT32_MAX));
        w_.stats.lat_us.push_back(us);
        if (sender % g_opt.ports.size() != size_t(index_) % g_opt.ports.size()) w_.stats.cross_lat_us.push_back(us);
      }
      g_fan_received.fetch_add(1, std::memory_order_relaxed);
      const uint64_t got = g_fan_received_from[sender].fetch_add(1, std::memory_order_relaxed) + 1;
      if (got % uint64_t(g_opt.clients) == 0 && g_opt.rate <= 0) {
        // A message completed: let its sender refill its window (on the sender's own thread).
        auto s = g_senders[sender];
        asio::post(g_workers[sender % g_workers.size()]->ctx, [s] { s->fill_window(); });
      }
      return;
    }
    if (p[1] == '3') {  // 43<id>["<ts>|..."]
      size_t pos = 2;
      parse_u64(p, pos);
      pos += 2;  // ["
      const uint64_t ts = parse_u64(p, pos);
      ++w_.stats.all_received;
      if (in_window) {
        ++w_.stats.round_trips;
        w_.stats.lat_us.push_back(uint32_t(std::min<uint64_t>((now - ts) / 1000, UINT32_MAX)));
      }
      if (!g_stop_sending.load(std::memory_order_relaxed)) send_req();
      return;
    }
  }

  void send_fan() {
    const uint64_t seq = g_sent.fetch_add(1, std::memory_order_relaxed);
    const uint64_t now = bench::now_ns();
    if (now >= g_t_start.load(std::memory_order_relaxed) && now < g_t_end.load(std::memory_order_relaxed))
      g_sent_in_window.fetch_add(1, std::memory_order_relaxed);
    std::string body = std::to_string(seq) + "|" + std::to_string(now) + "|" + std::to_string(index_) + "|";
    // The whole Socket.IO packet 42["fan","..."] is about --size bytes.
    body = pad_to(std::move(body), size_t(std::max(0, g_opt.size - 12)));
    send_text("42[\"fan\",\"" + body + "\"]");
    ++sent_msgs_;
  }

 public:
  int64_t inflight_msgs() const {
    return int64_t(sent_msgs_) - int64_t(g_fan_received_from[size_t(index_)].load(std::memory_order_relaxed) / uint64_t(g_opt.clients));
  }
  void fill_window() {
    while (!g_stop_sending.load(std::memory_order_relaxed) && inflight_msgs() < g_opt.window) send_fan();
  }

 private:

  // Paced sending: every millisecond, send what the schedule says is due (capped by the window).
  void do_tick() {
    if (g_stop_sending.load(std::memory_order_relaxed)) return;
    const uint64_t now = bench::now_ns();
    const uint64_t due = now < tick_start_ ? 0 : uint64_t(double(now - tick_start_) / 1e9 * g_opt.rate / double(g_senders.size()));
    while (sent_by_tick_ < due && inflight_msgs() < g_opt.window) {
      send_fan();
      ++sent_by_tick_;
    }
    if (sent_by_tick_ < due) sent_by_tick_ = due;  // behind: skip rather than burst (counted as missed)
    timer_.expires_after(std::chrono::milliseconds(1));
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->do_tick();
    });
  }

  void send_req() {
    ++g_sent;
    std::string body = std::to_string(bench::now_ns()) + "|";
    body = pad_to(std::move(body), size_t(std::max(0, g_opt.size - 20)));
    send_text("42" + std::to_string(next_ack_++) + "[\"req\",\"" + body + "\"]");
  }

  Worker& w_;
  tcp::socket sock_;
  const int index_;
  const uint16_t port_;
  asio::steady_timer timer_;
  std::vector<char> buf_;
  size_t rlen_ = 0;
  bool upgraded_ = false, done_handshake_ = false, writing_ = false;
  std::string pending_, inflight_;
  uint64_t sent_msgs_ = 0;  // fanout sender
  std::string path_;
  size_t stream_ = 0, doc_ = 0;  // yjs writer
  uint64_t next_ack_ = 0, tick_start_ = 0, sent_by_tick_ = 0;
};

void Worker::connect_more() {
  while (connecting < g_opt.connect_concurrency && next_connect < to_connect.size()) {
    ++connecting;
    to_connect[next_connect++]->connect();
  }
}

// CPU seconds of a process: per thread from schedstat (ns), plus the tick totals of /proc/<pid>/stat.
struct Cpu {
  std::map<std::string, uint64_t> ns;  // tid -> ns on a CPU
  double ticks_user_s = 0, ticks_sys_s = 0;
};

Cpu read_cpu(int pid) {
  Cpu c;
  const std::string base = "/proc/" + std::to_string(pid);
  if (DIR* d = opendir((base + "/task").c_str())) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream f(base + "/task/" + e->d_name + "/schedstat");
      uint64_t v = 0;
      if (f >> v) c.ns[e->d_name] = v;
    }
    closedir(d);
  }
  std::ifstream f(base + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t rp = s.rfind(')');
  if (rp == s.npos) return c;
  // Fields after ")": state(3) ... utime(14) stime(15); index 0 here is field 3.
  std::vector<std::string> fields;
  size_t i = rp + 2;
  while (i < s.size() && fields.size() < 14) {
    const size_t j = s.find(' ', i);
    fields.push_back(s.substr(i, j - i));
    if (j == s.npos) break;
    i = j + 1;
  }
  if (fields.size() < 13) return c;
  const double tck = double(sysconf(_SC_CLK_TCK));
  c.ticks_user_s = std::stod(fields[11]) / tck;
  c.ticks_sys_s = std::stod(fields[12]) / tck;
  return c;
}

// CPU between two samples; threads born in the window count from zero, threads gone are counted.
struct CpuDelta {
  double seconds = 0, ticks_user_s = 0, ticks_sys_s = 0;
  int lost_threads = 0;
};
CpuDelta cpu_between(const Cpu& a, const Cpu& b) {
  CpuDelta d;
  uint64_t ns = 0;
  for (const auto& [tid, v] : b.ns) {
    auto it = a.ns.find(tid);
    ns += v - (it == a.ns.end() ? 0 : it->second);
  }
  for (const auto& [tid, v] : a.ns) d.lost_threads += b.ns.count(tid) ? 0 : 1;
  d.seconds = double(ns) / 1e9;
  d.ticks_user_s = b.ticks_user_s - a.ticks_user_s;
  d.ticks_sys_s = b.ticks_sys_s - a.ticks_sys_s;
  return d;
}

double self_cpu_s() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// The summed CPU of several processes (a fleet); thread ids are unique across processes.
Cpu read_server_cpu(const std::vector<int>& pids) {
  Cpu sum;
  for (const int pid : pids) {
    Cpu c = read_cpu(pid);
    sum.ns.insert(c.ns.begin(), c.ns.end());
    sum.ticks_user_s += c.ticks_user_s;
    sum.ticks_sys_s += c.ticks_sys_s;
  }
  return sum;
}

std::vector<int> parse_list(const std::string& v) {
  std::vector<int> out;
  size_t i = 0;
  while (i <= v.size()) {
    const size_t j = std::min(v.find(',', i), v.size());
    if (j > i) out.push_back(std::stoi(v.substr(i, j - i)));
    i = j + 1;
  }
  return out;
}

long read_rss_kb(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

double pct(std::vector<uint32_t>& v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, size_t(q * double(v.size())));
  std::nth_element(v.begin(), v.begin() + long(k), v.end());
  return v[k] / 1000.0;  // ms
}

void sleep_s(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--host") g_opt.host = v;
    else if (a == "--port") {
      for (const int p : parse_list(v)) g_opt.ports.push_back(uint16_t(p));
    } else if (a == "--senders") g_opt.senders = std::max(1, std::stoi(v));
    else if (a == "--mode") g_opt.mode = v;
    else if (a == "--path") g_opt.path = v;
    else if (a == "--clients") g_opt.clients = std::stoi(v);
    else if (a == "--threads") g_opt.threads = std::max(1, std::stoi(v));
    else if (a == "--warmup") g_opt.warmup = std::stod(v);
    else if (a == "--duration") g_opt.duration = std::stod(v);
    else if (a == "--min-server-cpu") g_opt.min_server_cpu = std::stod(v);
    else if (a == "--max-duration") g_opt.max_duration = std::stod(v);
    else if (a == "--hold") g_opt.hold = std::stod(v);
    else if (a == "--rate") g_opt.rate = std::stod(v);
    else if (a == "--window") g_opt.window = std::stoi(v);
    else if (a == "--size") g_opt.size = std::stoi(v);
    else if (a == "--depth") g_opt.depth = std::stoi(v);
    else if (a == "--connect-concurrency") g_opt.connect_concurrency = std::stoi(v);
    else if (a == "--server-pid") g_opt.server_pids = parse_list(v);
    else if (a == "--aux-pid") g_opt.aux_pid = std::stoi(v);
    else if (a == "--docs") g_opt.docs = std::stoi(v);
    else if (a == "--writers") g_opt.writers = std::stoi(v);
    else if (a == "--updates") g_opt.updates_file = v;
    else if (a == "--doc-prefix") g_opt.doc_prefix = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (g_opt.host != "127.0.0.1" && g_opt.host != "localhost") {
    std::fprintf(stderr, "loadgen only targets 127.0.0.1\n");
    return 2;
  }
  if (g_opt.ports.empty()) {
    std::fprintf(stderr, "loadgen: --port is required\n");
    return 2;
  }
  if (g_opt.senders > g_opt.clients) g_opt.senders = g_opt.clients;
  g_fan_received_from = std::make_unique<std::atomic<uint64_t>[]>(size_t(g_opt.senders));
  std::signal(SIGPIPE, SIG_IGN);
  for (int i = 0; i < g_opt.threads; ++i) g_workers.push_back(std::make_unique<Worker>());
  std::vector<std::shared_ptr<Client>> clients;
  const bool yjs = g_opt.mode == "yjs";
  if (yjs) {
    if (!load_updates(g_opt.updates_file) || g_opt.writers > int(g_streams.size())) {
      std::fprintf(stderr, "loadgen: cannot read --updates %s (or fewer streams than --writers)\n", g_opt.updates_file.c_str());
      return 2;
    }
    g_sent_per_doc = std::make_unique<std::atomic<uint64_t>[]>(size_t(g_opt.docs));
  }
  const int per_doc = g_opt.clients;
  if (yjs) g_opt.clients = per_doc * g_opt.docs;
  for (int i = 0; i < g_opt.clients; ++i) {
    auto& w = *g_workers[size_t(i % g_opt.threads)];
    const std::string path = yjs ? g_opt.doc_prefix + std::to_string(i / per_doc) : g_opt.path;
    clients.push_back(std::make_shared<Client>(w, i, path));
    w.to_connect.push_back(clients.back());
  }
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& w : g_workers) guards.push_back(asio::make_work_guard(w->ctx));
  std::vector<std::thread> pool;
  for (auto& w : g_workers) {
    asio::post(w->ctx, [w = w.get()] { w->connect_more(); });
    pool.emplace_back([w = w.get()] { w->ctx.run(); });
  }

  const uint64_t t0 = bench::now_ns();
  while (g_connected + g_failed < g_opt.clients && double(bench::now_ns() - t0) / 1e9 < g_opt.connect_timeout) sleep_s(0.01);
  const double connect_s = double(bench::now_ns() - t0) / 1e9;
  std::fprintf(stderr, "loadgen: %d connected, %d failed in %.2fs\n", g_connected.load(), g_failed.load(), connect_s);

  std::string extra;
  auto sent_per_doc = [&] {
    std::string a = ",\"sent_per_doc\":[";
    for (int d = 0; d < g_opt.docs; ++d) a += (d ? "," : "") + std::to_string(g_sent_per_doc[size_t(d)].load());
    return a + "]";
  };
  Cpu srv0, srv1, aux0, aux1;
  double me0 = 0, me1 = 0;
  double window_s = 0;
  if (g_opt.mode == "idle") {
    std::printf("{\"event\":\"ready\",\"connected\":%d}\n", g_connected.load());
    std::fflush(stdout);
    // Hold until stdin closes (the harness says "done") or --hold seconds pass.
    std::atomic<bool> stdin_closed{false};
    std::thread reader([&] {
      std::string line;
      while (std::getline(std::cin, line)) {
        if (line == "done") break;
      }
      stdin_closed = true;
    });
    reader.detach();
    const uint64_t h0 = bench::now_ns();
    while (!stdin_closed && double(bench::now_ns() - h0) / 1e9 < g_opt.hold) sleep_s(0.05);
  } else if (g_connected > 0) {
    if (g_opt.mode == "fanout") {
      for (int k = 0; k < g_opt.senders; ++k) g_senders.push_back(clients[size_t(k)]);
      for (size_t k = 0; k < g_senders.size(); ++k)
        asio::post(g_workers[k % g_workers.size()]->ctx, [s = g_senders[k]] { s->start_fanout_sender(); });
    } else if (yjs) {
      for (size_t i = 0; i < clients.size(); ++i) {
        const int k = int(i) % per_doc;
        if (k < g_opt.writers) {
          auto c = clients[i];
          asio::post(g_workers[i % g_workers.size()]->ctx, [c, k, d = i / size_t(per_doc)] { c->start_yjs_writer(size_t(k), d); });
        }
      }
    } else if (g_opt.mode == "ack") {
      for (auto& c : clients) asio::post(g_workers[size_t(&c - &clients[0]) % g_workers.size()]->ctx, [c] { c->start_acks(); });
    }
    sleep_s(g_opt.warmup);
    srv0 = read_server_cpu(g_opt.server_pids);
    if (g_opt.aux_pid > 0) aux0 = read_cpu(g_opt.aux_pid);
    me0 = self_cpu_s();
    const uint64_t ts = bench::now_ns();
    g_t_start = ts;
    for (;;) {
      sleep_s(0.1);
      const double elapsed = double(bench::now_ns() - ts) / 1e9;
      if (elapsed >= g_opt.max_duration) break;
      if (elapsed >= g_opt.duration &&
          cpu_between(srv0, read_server_cpu(g_opt.server_pids)).seconds >= g_opt.min_server_cpu)
        break;
    }
    const uint64_t te = bench::now_ns();
    g_t_end = te;
    srv1 = read_server_cpu(g_opt.server_pids);
    if (g_opt.aux_pid > 0) aux1 = read_cpu(g_opt.aux_pid);
    me1 = self_cpu_s();
    g_stop_sending = true;
    window_s = double(te - ts) / 1e9;
    sleep_s(0.5);  // let replies in flight arrive (they are outside the window and not counted)
  }

  long rss_kb = g_opt.server_pids.empty() ? -1 : 0;
  for (const int pid : g_opt.server_pids) rss_kb += read_rss_kb(pid);
  for (size_t i = 0; i < clients.size(); ++i)
    asio::post(g_workers[i % g_workers.size()]->ctx, [c = clients[i]] { c->shutdown(); });
  guards.clear();
  for (auto& w : g_workers) {
    asio::post(w->ctx, [w = w.get()] { w->ctx.stop(); });
  }
  for (auto& t : pool) t.join();

  Stats total;
  for (auto& w : g_workers) {
    total.deliveries += w->stats.deliveries;
    total.round_trips += w->stats.round_trips;
    total.all_received += w->stats.all_received;
    total.lat_us.insert(total.lat_us.end(), w->stats.lat_us.begin(), w->stats.lat_us.end());
    total.cross_lat_us.insert(total.cross_lat_us.end(), w->stats.cross_lat_us.begin(), w->stats.cross_lat_us.end());
  }
  if (g_opt.mode == "fanout") {
    const CpuDelta aux = cpu_between(aux0, aux1);
    char b[320];
    std::snprintf(b, sizeof b,
                  ",\"nodes\":%zu,\"senders\":%zu,\"sent_in_window\":%llu,\"cross_units\":%zu,\"cross_p50_ms\":%.3f,"
                  "\"cross_p99_ms\":%.3f,\"aux_cpu_s\":%.6f,\"aux_lost_threads\":%d",
                  g_opt.ports.size(), g_senders.size(), (unsigned long long)g_sent_in_window.load(), total.cross_lat_us.size(),
                  pct(total.cross_lat_us, 0.5), pct(total.cross_lat_us, 0.99), g_opt.aux_pid > 0 ? aux.seconds : 0.0,
                  aux.lost_threads);
    extra += b;
  }
  if (yjs) extra = sent_per_doc();
  const double units = double(g_opt.mode == "ack" ? total.round_trips : total.deliveries);
  const CpuDelta srv = cpu_between(srv0, srv1);
  const double srv_cpu = srv.seconds;
  const double me_cpu = me1 - me0;
  std::printf(
      "{\"mode\":\"%s\",\"clients\":%d,\"connected\":%d,\"failed\":%d,\"connect_s\":%.3f,\"window_s\":%.3f,"
      "\"sent\":%llu,\"units\":%.0f,\"per_s\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,"
      "\"server_cpu_s\":%.6f,\"server_ticks_user_s\":%.3f,\"server_ticks_sys_s\":%.3f,\"lost_threads\":%d,"
      "\"server_cpu_us_per_unit\":%.4f,"
      "\"server_cpu_util\":%.4f,\"loadgen_cpu_s\":%.4f,\"loadgen_cpu_util\":%.4f,\"server_rss_kb\":%ld%s}\n",
      g_opt.mode.c_str(), g_opt.clients, g_connected.load(), g_failed.load(), connect_s, window_s,
      (unsigned long long)g_sent.load(), units, window_s > 0 ? units / window_s : 0.0, pct(total.lat_us, 0.5),
      pct(total.lat_us, 0.99), pct(total.lat_us, 0.999), srv_cpu, srv.ticks_user_s, srv.ticks_sys_s, srv.lost_threads,
      units > 0 ? srv_cpu / units * 1e6 : 0.0, window_s > 0 ? srv_cpu / window_s : 0.0, me_cpu,
      window_s > 0 ? me_cpu / window_s : 0.0, rss_kb, extra.c_str());
  return g_connected > 0 ? 0 : 1;
}
