#include "core/doc_replication.h"

#include <boost/asio/post.hpp>
#include <random>
#include <stdexcept>

#include "redis/cluster.h"
#include "redis/slots.h"

namespace collabio::core {

namespace {

// Reads the snapshot and every entry after it in one step (scripts run atomically), so a
// compaction cannot trim between the two reads. Reply: {ms, seq, state, entries} ('' when there is
// no snapshot).
constexpr const char* kLoadScript = R"lua(
local s = redis.call('HMGET', KEYS[1], 'ms', 'seq', 'state')
local from = '-'
if s[1] then from = '(' .. s[1] .. '-' .. s[2] end
return {s[1] or '', s[2] or '', s[3] or '', redis.call('XRANGE', KEYS[2], from, '+')}
)lua";

// Writes the snapshot when it is newer than the stored one, then trims the stream below ARGV[4]
// (the snapshot's id minus the safety window; never 0-0) and, when that removed entries, appends
// the trim marker (`t`: the last removed id). Either way it gives back the lease (KEYS[3]) if this
// node (ARGV[5]) still holds it. 1: written, 0: a newer snapshot is stored. Ids compare as (ms,
// seq); both fit a Lua number exactly (ms < 2^53). `(` ranges need Redis 6.2.
constexpr const char* kCompactScript = R"lua(
if redis.call('GET', KEYS[3]) == ARGV[5] then redis.call('DEL', KEYS[3]) end
local cur = redis.call('HMGET', KEYS[1], 'ms', 'seq')
if cur[1] then
  local ms, seq = tonumber(cur[1]), tonumber(cur[2])
  local nms, nseq = tonumber(ARGV[1]), tonumber(ARGV[2])
  if ms > nms or (ms == nms and seq >= nseq) then return 0 end
end
redis.call('HSET', KEYS[1], 'ms', ARGV[1], 'seq', ARGV[2], 'state', ARGV[3])
local last = redis.call('XREVRANGE', KEYS[2], '(' .. ARGV[4], '-', 'COUNT', 1)
if last[1] then
  redis.call('XTRIM', KEYS[2], 'MINID', ARGV[4])
  redis.call('XADD', KEYS[2], '*', 't', last[1][1], 'n', ARGV[5])
end
return 1
)lua";

// Commands other than appends that may wait on the commands connection while Redis is
// unreachable (loads, compactions, wake-ups): its queue holds max_queued appends plus these.
constexpr size_t kOtherQueued = 1024;

// Bootstrap (Replication::seed): writes ARGV[1] as the snapshot at 0-0 only if there is neither a
// snapshot nor a stream entry, then answers like kLoadScript, plus 1 when it wrote the snapshot.
// Every stream id is above 0-0, so the entries appended after the seed are read from it.
constexpr const char* kSeedScript = R"lua(
local seeded = 0
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('XLEN', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[1], 'ms', '0', 'seq', '0', 'state', ARGV[1])
  seeded = 1
end
local s = redis.call('HMGET', KEYS[1], 'ms', 'seq', 'state')
return {s[1], s[2], s[3], redis.call('XRANGE', KEYS[2], '(' .. s[1] .. '-' .. s[2], '+'), seeded}
)lua";

constexpr uint64_t kReadCount = 1000;  // entries per stream per XREAD

std::string random_node_id() {
  std::random_device rd;
  std::uniform_int_distribution<uint64_t> dist;
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(dist(rd)));
  return buf;
}

ReplicaEntry to_entry(redis::StreamEntry&& e) {
  ReplicaEntry out;
  out.id = e.id;
  for (auto& [field, value] : e.fields) {
    if (field == "u") {
      out.update = std::move(value);
    } else if (field == "n") {
      out.node = std::move(value);
    } else if (field == "t") {
      redis::StreamId id;
      if (redis::parse_stream_id(value, id)) out.trimmed = id;
    }
  }
  if (!out.update.empty()) out.trimmed.reset();  // an update is never a marker
  return out;
}

// kLoadScript's reply (4 elements) or kSeedScript's (5: the last one is ignored here).
bool parse_load(const redis::Reply& r, ReplicaLoad& out) {
  if (r.type != redis::Reply::Type::Array || r.elements.size() < 4) return false;
  for (int i = 0; i < 3; ++i)
    if (!r.elements[i].is_string()) return false;
  if (!r.elements[0].str.empty()) {
    if (!redis::parse_stream_id(r.elements[0].str + "-" + r.elements[1].str, out.position)) return false;
    out.snapshot = r.elements[2].str;
    out.found = true;
  }
  std::vector<redis::StreamEntry> entries;
  if (!redis::parse_entries(r.elements[3], entries)) return false;
  for (auto& e : entries) out.entries.push_back(to_entry(std::move(e)));
  if (!out.entries.empty()) {
    out.position = out.entries.back().id;
    out.found = true;
  }
  return true;
}

std::string describe(std::error_code ec, const redis::Reply& r) {
  if (ec) return "redis: " + ec.message();
  if (r.is_error()) return "redis: " + r.str;
  return "redis: unexpected reply";
}

}  // namespace

Replication::Replication(ServerImpl& server, ReplicationOptions options)
    : server_(server), opts_(std::move(options)), node_id_(random_node_id()), strand_(net::make_strand(server.ioc)) {
  std::string error;
  if (!redis::parse_url(opts_.url, redis_options_.endpoint, error)) throw std::invalid_argument("documents.redis.url: " + error);
  redis_options_.tls = opts_.tls;
  redis_options_.max_queued = opts_.max_queued + kOtherQueued;
  redis_options_.client_name = "collabio-docs-" + node_id_;
  if (opts_.cluster) {
    redis::ClusterOptions co;
    co.node = redis_options_;
    for (const auto& url : opts_.more_urls) {
      redis::Endpoint e;
      if (!redis::parse_url(url, e, error)) throw std::invalid_argument("documents.redis.nodes: " + error);
      co.more_seeds.push_back(std::move(e));
    }
    cmd_ = std::make_unique<redis::ClusterClient>(server.ioc, std::move(co));
  } else {
    cmd_ = std::make_unique<redis::Connection>(server.ioc, redis_options_);
    readers_[kSingleReader] = make_reader(kSingleReader);
  }
}

Replication::~Replication() = default;

std::string Replication::stream_key(const std::string& name) const { return opts_.prefix + ":{" + name + "}:updates"; }
std::string Replication::snapshot_key(const std::string& name) const { return opts_.prefix + ":{" + name + "}:snapshot"; }
std::string Replication::lease_key(const std::string& name) const { return opts_.prefix + ":{" + name + "}:lease"; }

int Replication::reader_group(const std::string& stream_key) const {
  return opts_.cluster ? redis::key_slot(stream_key) : kSingleReader;
}

// A reader with a connection of its own (blocking reads stall it). Cluster: a sibling of cmd_,
// sharing its slot map; the wake stream lives in the reader's slot.
std::shared_ptr<Replication::Reader> Replication::make_reader(int group) {
  auto r = std::make_shared<Reader>();
  if (opts_.cluster) {
    r->conn = static_cast<redis::ClusterClient&>(*cmd_).sibling();
    r->wake_key = opts_.prefix + ":wake:" + node_id_ + ":{" + redis::hash_tag_for_slot(static_cast<uint16_t>(group)) + "}";
  } else {
    r->conn = static_cast<redis::Connection&>(*cmd_).duplicate(redis::Role::Commands);
    r->wake_key = opts_.prefix + ":wake:" + node_id_;
  }
  return r;
}

void Replication::start() {
  cmd_->start();
  // Cluster mode starts each reader when its slot gets its first watch.
  if (auto it = readers_.find(kSingleReader); it != readers_.end()) {
    it->second->conn->start();
    cmd_->command({"DEL", it->second->wake_key});
  }
}

void Replication::close(std::chrono::milliseconds grace) {
  auto self = shared_from_this();
  auto deadline = std::chrono::steady_clock::now() + grace;
  // Polls every 20 ms until no append waits for its answer (or the grace is over): appends are
  // answered in order, so this is at most one round trip after the last one was sent.
  auto timer = std::make_shared<net::steady_timer>(strand_);
  auto step = std::make_shared<std::function<void()>>();
  *step = [self, deadline, timer, step] {
    if (self->pending_appends_.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      timer->expires_after(std::chrono::milliseconds(20));
      timer->async_wait([step](boost::system::error_code) { (*step)(); });
      return;
    }
    self->closed_ = true;
    for (auto& [group, r] : self->readers_) {
      r->closed = true;
      r->watches.clear();
      r->conn->close();
    }
    self->readers_.clear();
    self->cmd_->close();
    *step = nullptr;  // breaks the cycle step -> lambda -> step
  };
  net::post(strand_, [step] { (*step)(); });
}

Replication::AppendSlot& Replication::AppendSlot::operator=(AppendSlot&& o) noexcept {
  if (this != &o) {
    release();
    owner_ = std::move(o.owner_);
  }
  return *this;
}

void Replication::AppendSlot::release() {
  if (owner_) owner_->pending_appends_.fetch_sub(1);
  owner_.reset();
}

Replication::AppendSlot Replication::reserve_append() {
  uint64_t n = pending_appends_.load();
  do {
    if (n >= opts_.max_queued) {
      appends_refused.fetch_add(1, std::memory_order_relaxed);
      return {};
    }
  } while (!pending_appends_.compare_exchange_weak(n, n + 1));
  return AppendSlot(shared_from_this());
}

std::string Replication::refusal() const {
  return "edit refused: " + std::to_string(opts_.max_queued) + " appends wait for Redis (documents.redis.maxQueued)";
}

void Replication::append(AppendSlot slot, const std::string& name, std::string update, AppendDone done) {
  std::vector<std::string> args = {"XADD", stream_key(name), "*", "u", std::move(update), "n", node_id_};
  // The slot's place is now this append's, given back when Redis answers (send_append).
  if (slot) slot.owner_.reset();
  else pending_appends_.fetch_add(1);
  send_append(std::move(args), std::move(done), false);
}

void Replication::send_append(std::vector<std::string> args, AppendDone done, bool retried) {
  auto copy = retried ? std::vector<std::string>{} : args;
  cmd_->command(std::move(args), [self = shared_from_this(), copy = std::move(copy), done = std::move(done),
                                  retried](std::error_code ec, redis::Reply r) mutable {
    if (ec == redis::Errc::connection_lost && !retried) {
      // Written, unanswered: it may have been stored. Once more (queued until reconnected).
      self->send_append(std::move(copy), std::move(done), true);
      return;
    }
    self->pending_appends_.fetch_sub(1);
    redis::StreamId id;
    if (!ec && redis::parse_stream_id(r, id)) {
      self->appends.fetch_add(1, std::memory_order_relaxed);
      done({}, id);
      return;
    }
    self->appends_refused.fetch_add(1, std::memory_order_relaxed);
    done(describe(ec, r), {});
  });
}

void Replication::load(const std::string& name, LoadDone done) {
  cmd_->command({"EVAL", kLoadScript, "2", snapshot_key(name), stream_key(name)},
                [done = std::move(done)](std::error_code ec, redis::Reply r) {
                  ReplicaLoad load;
                  if (ec || !parse_load(r, load)) {
                    done(describe(ec, r), {});
                    return;
                  }
                  done({}, std::move(load));
                });
}

void Replication::seed(const std::string& name, std::string state, LoadDone done) {
  cmd_->command({"EVAL", kSeedScript, "2", snapshot_key(name), stream_key(name), std::move(state)},
                [self = shared_from_this(), done = std::move(done)](std::error_code ec, redis::Reply r) {
                  ReplicaLoad load;
                  if (ec || !parse_load(r, load) || r.elements.size() != 5 ||
                      r.elements[4].type != redis::Reply::Type::Integer) {
                    done(describe(ec, r), {});
                    return;
                  }
                  if (r.elements[4].integer == 1) self->seeds.fetch_add(1, std::memory_order_relaxed);
                  done({}, std::move(load));
                });
}

void Replication::watch(const std::string& name, const void* owner, redis::StreamId after, Sink sink, ReloadSink reload) {
  net::post(strand_, [self = shared_from_this(), name, owner, after, sink = std::move(sink), reload = std::move(reload)]() mutable {
    if (self->closed_) return;
    const std::string key = self->stream_key(name);
    const int group = self->reader_group(key);
    auto& reader = self->readers_[group];
    if (!reader) {
      reader = self->make_reader(group);
      reader->conn->start();
      // A wake stream left by an earlier reader of this slot (same node id) only wakes it once.
      reader->conn->command({"DEL", reader->wake_key});
    }
    reader->watches[key] = Watch{name, owner, after, after, std::move(sink), std::move(reload)};
    reader->reloads_due.erase(key);
    if (reader->reading) self->wake(*reader);
    else self->do_read(reader);
  });
}

void Replication::unwatch(const std::string& name, const void* owner) {
  net::post(strand_, [self = shared_from_this(), key = stream_key(name), owner] {
    auto rit = self->readers_.find(self->reader_group(key));
    if (rit == self->readers_.end()) return;
    auto& reader = rit->second;
    auto it = reader->watches.find(key);
    if (it != reader->watches.end() && it->second.owner == owner) reader->watches.erase(it);
    // Cluster: a slot with nothing left to read closes its reader (and its blocked XREAD).
    if (self->opts_.cluster && reader->watches.empty()) {
      reader->closed = true;
      reader->conn->close();
      self->cmd_->command({"DEL", reader->wake_key});
      self->readers_.erase(rit);
    }
  });
}

// An entry on this node's wake stream ends the XREAD in flight, so the next one includes a
// document that was just added. (Its id is tracked like a document's, so a wake that reaches
// Redis before the XREAD does is still seen.)
void Replication::wake(const Reader& r) {
  cmd_->command({"XADD", r.wake_key, "MAXLEN", "~", "16", "*", "w", "1"});
}

void Replication::do_read(const std::shared_ptr<Reader>& r) {
  if (closed_ || r->closed || r->reading || r->watches.empty()) return;
  if (!r->reloads_due.empty()) {
    do_reload(r);
    return;
  }
  r->reading = true;
  std::vector<std::pair<std::string, std::string>> streams;
  streams.reserve(r->watches.size() + 1);
  streams.emplace_back(r->wake_key, r->wake_id);
  for (const auto& [key, w] : r->watches) streams.emplace_back(key, w.after.to_string());
  r->conn->command(redis::xread_block(opts_.block_ms, streams, kReadCount),
                   [self = shared_from_this(), r](std::error_code ec, redis::Reply reply) {
                     net::post(self->strand_, [self, r, ec, reply = std::move(reply)]() mutable {
                       self->on_read(r, ec, std::move(reply));
                     });
                   });
}

void Replication::on_read(const std::shared_ptr<Reader>& r, std::error_code ec, redis::Reply reply) {
  r->reading = false;
  if (closed_ || r->closed || ec == redis::Errc::closed) return;
  std::vector<redis::StreamBatch> batches;
  if (ec || !redis::parse_xread(reply, batches)) {
    // Lost with its connection (Redis restarted, network): what was trimmed meanwhile is in the
    // snapshot, so reload every document before reading on. Other failures (an error reply, a
    // refused handshake) wait a little, then read again from the same ids.
    if (ec == redis::Errc::connection_lost) {
      for (const auto& [key, w] : r->watches) r->reloads_due[key] = ReloadCause::ConnectionLost;
      do_read(r);
      return;
    }
    auto timer = std::make_shared<net::steady_timer>(strand_);
    timer->expires_after(std::chrono::milliseconds(500));
    timer->async_wait([self = shared_from_this(), timer, r](boost::system::error_code) { self->do_read(r); });
    return;
  }
  for (auto& batch : batches) {
    if (batch.entries.empty()) continue;
    if (batch.key == r->wake_key) {
      r->wake_id = batch.entries.back().id.to_string();
      continue;
    }
    auto it = r->watches.find(batch.key);
    if (it == r->watches.end()) continue;  // unwatched meanwhile
    Watch& w = it->second;
    std::vector<ReplicaEntry> entries;
    entries.reserve(batch.entries.size());
    bool trimmed = false;
    for (auto& e : batch.entries) {
      entries.push_back(to_entry(std::move(e)));
      // A marker whose last removed entry lies past the start of this run of full replies: that
      // entry may never have reached this reader (see the header).
      if (entries.back().trimmed && *entries.back().trimmed > w.run_start) trimmed = true;
    }
    w.after = entries.back().id;
    // A reply shorter than COUNT reached the end of the stream: everything up to `after` arrived.
    if (entries.size() < kReadCount) w.run_start = w.after;
    if (trimmed) r->reloads_due.emplace(batch.key, ReloadCause::PositionTrimmed);
    remote_entries.fetch_add(entries.size(), std::memory_order_relaxed);
    w.sink(std::move(entries));
  }
  do_read(r);
}

// Reads the snapshot and the stream after it again for every document in r->reloads_due, on the
// reader's connection, then reads on from where each load ended.
void Replication::do_reload(const std::shared_ptr<Reader>& r) {
  auto due = std::move(r->reloads_due);
  r->reloads_due.clear();
  r->reading = true;  // no XREAD until every reload has answered
  auto left = std::make_shared<size_t>(due.size());
  for (auto& [key, cause] : due) {
    auto w = r->watches.find(key);
    if (w == r->watches.end()) {
      --*left;
      continue;
    }
    r->conn->command({"EVAL", kLoadScript, "2", snapshot_key(w->second.name), key},
                     [self = shared_from_this(), r, key = key, cause = cause, left](std::error_code ec, redis::Reply reply) {
                       net::post(self->strand_, [self, r, key, cause, left, ec, reply = std::move(reply)] {
                         ReplicaLoad load;
                         auto it = r->watches.find(key);
                         if (it == r->watches.end() || r->closed) {
                           // unwatched meanwhile
                         } else if (ec || !parse_load(reply, load)) {
                           r->reloads_due.emplace(key, cause);  // try again on the next round
                         } else {
                           self->reloads.fetch_add(1, std::memory_order_relaxed);
                           if (cause == ReloadCause::PositionTrimmed)
                             self->trimmed_reloads.fetch_add(1, std::memory_order_relaxed);
                           // The load read up to the stream's end: it leaves no gap behind.
                           it->second.after = load.position;
                           it->second.run_start = load.position;
                           it->second.reload(std::move(load));
                         }
                         if (--*left == 0) {
                           r->reading = false;
                           if (!r->reloads_due.empty()) {
                             // Still unreachable: the next attempt waits for the reconnection
                             // (commands queue on the connection meanwhile).
                             auto timer = std::make_shared<net::steady_timer>(self->strand_);
                             timer->expires_after(std::chrono::milliseconds(200));
                             timer->async_wait([self, timer, r](boost::system::error_code) { self->do_read(r); });
                           } else {
                             self->do_read(r);
                           }
                         }
                       });
                     });
  }
  if (*left == 0) {  // every one was unwatched meanwhile
    r->reading = false;
    do_read(r);
  }
}

void Replication::compact(const std::string& name, std::string state, redis::StreamId upto, CompactDone done) {
  auto self = shared_from_this();
  cmd_->command(redis::set_nx_px(lease_key(name), node_id_, opts_.lease_ms),
                [self, name, state = std::move(state), upto, done = std::move(done)](std::error_code ec,
                                                                                     redis::Reply r) mutable {
                  bool taken = false;
                  if (ec || !redis::parse_set_nx(r, taken)) {
                    done(describe(ec, r), false);
                    return;
                  }
                  if (!taken) {
                    done({}, false);
                    return;
                  }
                  redis::StreamId trim = upto;
                  trim.ms = upto.ms > self->opts_.trim_window_ms ? upto.ms - self->opts_.trim_window_ms : 0;
                  trim.seq = trim.ms == 0 ? 1 : 0;  // not 0-0: `(0-0` is not a valid range end
                  self->cmd_->command({"EVAL", kCompactScript, "3", self->snapshot_key(name), self->stream_key(name),
                                       self->lease_key(name), std::to_string(upto.ms), std::to_string(upto.seq),
                                       std::move(state), trim.to_string(), self->node_id_},
                                      [self, done = std::move(done)](std::error_code ec, redis::Reply r) {
                                        if (ec || r.type != redis::Reply::Type::Integer) {
                                          done(describe(ec, r), false);
                                          return;
                                        }
                                        if (r.integer == 1) self->compactions.fetch_add(1, std::memory_order_relaxed);
                                        done({}, r.integer == 1);
                                      });
                });
}

}  // namespace collabio::core
