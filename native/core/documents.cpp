#include "core/documents.h"

#include <algorithm>
#include <boost/asio/post.hpp>

#include "core/ws_connection.h"


namespace collabio::core {

namespace {

std::string to_string(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Peer ids start at 1 (connection ids); JavaScript's writes use 0.
constexpr uint64_t kNoPeer = ~uint64_t{0};

// Awareness states not renewed for this long are dropped (y-protocols outdatedTimeout is 30 s).
constexpr int kAwarenessCheckMs = 10000;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Document

Document::Document(DocumentManager& manager, std::string name)
    : manager_(manager),
      name_(std::move(name)),
      strand_(net::make_strand(manager.server.ioc)),
      unload_timer_(strand_),
      awareness_timer_(strand_),
      answer_timer_(strand_),
      relay_timer_(strand_),
      js_timer_(strand_) {}

void Document::start_loading() {
  if (Replication* rep = manager_.replication()) {
    rep->load(name_, [self = shared_from_this()](std::string error, ReplicaLoad load) {
      net::post(self->strand_, [self, error = std::move(error), load = std::move(load)]() mutable {
        self->on_replica_loaded(std::move(error), std::move(load));
      });
    });
    return;
  }
  if (manager_.opts.host_persistence) {
    manager_.server.push_event(Event::doc_load(name_));
    return;
  }
  store::Store* st = manager_.store();
  if (!st) {
    // Nothing to read, but connections may already be waiting (see DocumentManager::acquire).
    on_loaded(store::StoredDoc{});
    return;
  }
  st->load(name_, [self = shared_from_this()](std::variant<store::StoredDoc, std::string> result) {
    net::post(self->strand_, [self, result = std::move(result)]() mutable { self->on_loaded(std::move(result)); });
  });
}

void Document::on_loaded(std::variant<store::StoredDoc, std::string> result) {
  if (auto* err = std::get_if<std::string>(&result)) {
    fail("document could not be loaded: " + *err);
    return;
  }
  auto& stored = std::get<store::StoredDoc>(result);
  try {
    for (const auto& u : stored.updates) doc_.applyUpdate(u);
  } catch (const std::exception& e) {
    // The stored bytes are kept as they are: nothing is written back for a failed document.
    fail(std::string("stored document is corrupt: ") + e.what());
    return;
  }
  log_entries_ = stored.log_entries;
  state_ = State::Ready;
  // [cluster awareness] subscribe to the other nodes' awareness for this document.
  if (auto* ca = manager_.cluster_awareness()) {
    ca->join(name_);
    cluster_joined_ = true;
  }
  auto waiting = std::move(waiting_ready_);
  waiting_ready_.clear();
  for (auto& fn : waiting) fn();
  maybe_compact(false);
}

void Document::host_loaded(std::string state, std::string error) {
  if (state_ != State::Loading) return;
  if (manager_.replication()) {
    std::vector<std::vector<uint8_t>> updates;
    if (!state.empty()) updates.emplace_back(state.begin(), state.end());
    if (bootstrapping_) seed(std::move(error), std::move(updates));
    return;
  }
  if (!error.empty()) {
    on_loaded(std::move(error));
    return;
  }
  store::StoredDoc stored;
  if (!state.empty()) stored.updates.emplace_back(state.begin(), state.end());
  on_loaded(std::move(stored));
}

void Document::fail(const std::string& reason, uint16_t code) {
  state_ = State::Failed;
  failure_ = reason;
  auto waiting = std::move(waiting_ready_);
  waiting_ready_.clear();
  for (auto& fn : waiting) fn();  // each sees Failed and reports it
  auto peers = std::move(peers_);
  peers_.clear();
  for (auto& [id, peer] : peers) peer.p->close_peer(code, reason);
  // Forget the failed instance so that a later connection tries to load again.
  maybe_schedule_unload();
}

// ---- cluster mode ----

bool Document::apply_entry(const ReplicaEntry& e, std::vector<uint8_t>& relay) {
  if (e.trimmed) return false;  // a trim marker: for the reader (doc_replication.h)
  try {
    if (e.update.empty()) throw std::runtime_error("no update field");
    auto r = doc_.applyUpdate(bytes(e.update));
    relay = std::move(r.relay);
    return !relay.empty();
  } catch (const std::exception& ex) {
    // Written by something that is not a collabio node (or a bug): the document is unchanged.
    manager_.server.report_failure(manager_.server.bad_stream_entries, "COLLABIO_BAD_STREAM_ENTRY",
                                   "document \"" + name_ + "\": stream entry " + e.id.to_string() +
                                       " dropped: " + ex.what());
    return false;
  }
}

void Document::on_replica_loaded(std::string error, ReplicaLoad load) {
  if (!error.empty()) {
    fail("document could not be loaded: " + error, ws::kTryAgainLater);
    return;
  }
  if (!load.found && !bootstrapping_ && (manager_.opts.host_persistence || manager_.store())) {
    bootstrap();
    return;
  }
  if (!load.snapshot.empty()) {
    try {
      doc_.applyUpdate(bytes(load.snapshot));
    } catch (const std::exception& e) {
      fail(std::string("stored snapshot is corrupt: ") + e.what());
      return;
    }
  }
  std::vector<uint8_t> relay;
  for (const auto& e : load.entries) apply_entry(e, relay);
  stream_pos_ = load.position;
  stream_entries_ = std::count_if(load.entries.begin(), load.entries.end(), [](const ReplicaEntry& e) { return !e.trimmed; });
  watching_ = true;
  std::weak_ptr<Document> weak = weak_from_this();
  manager_.replication()->watch(
      name_, this, stream_pos_,
      [weak](std::vector<ReplicaEntry> entries) {
        if (auto self = weak.lock())
          net::post(self->strand_, [self, entries = std::move(entries)]() mutable { self->remote_entries(std::move(entries)); });
      },
      [weak](ReplicaLoad load) {
        if (auto self = weak.lock())
          net::post(self->strand_, [self, load = std::move(load)]() mutable { self->reload(std::move(load)); });
      });
  on_loaded(store::StoredDoc{});
}

// Bootstrap from persistence (doc_replication.h, seed()): a user moving from one node to a
// cluster, or whose Redis lost its data, gets the document back from where single-node mode kept
// it. Persistence is read at most once per load, and only while Redis has nothing for the
// document: once seeded, Redis is the source.
void Document::bootstrap() {
  bootstrapping_ = true;
  manager_.replication()->bootstraps.fetch_add(1, std::memory_order_relaxed);
  if (manager_.opts.host_persistence) {
    manager_.server.push_event(Event::doc_load(name_));  // answered by host_loaded
    return;
  }
  manager_.store()->load(name_, [self = shared_from_this()](std::variant<store::StoredDoc, std::string> result) {
    net::post(self->strand_, [self, result = std::move(result)]() mutable {
      if (auto* err = std::get_if<std::string>(&result)) self->seed(std::move(*err), {});
      else self->seed({}, std::move(std::get<store::StoredDoc>(result).updates));
    });
  });
}

// `updates`: the document as persistence holds it (the store's state and log, or what
// persistence.load gave). Merged into one state in a scratch document, not in this replica: the
// replica's state comes from Redis, which may hold another node's seed instead.
void Document::seed(std::string error, std::vector<std::vector<uint8_t>> updates) {
  if (!error.empty()) {
    fail("document could not be loaded: " + error);
    return;
  }
  std::string state;
  if (!updates.empty()) {
    yjs::Doc merged;
    try {
      for (const auto& u : updates) merged.applyUpdate(u);
    } catch (const std::exception& e) {
      // Refused before it reaches Redis, where every node would fail on it.
      fail(std::string("stored document is corrupt: ") + e.what());
      return;
    }
    state = to_string(merged.encodeStateAsUpdate());
  }
  manager_.replication()->seed(name_, std::move(state), [self = shared_from_this()](std::string error, ReplicaLoad load) {
    net::post(self->strand_, [self, error = std::move(error), load = std::move(load)]() mutable {
      self->on_replica_loaded(std::move(error), std::move(load));
    });
  });
}

void Document::remote_entries(std::vector<ReplicaEntry> entries) {
  if (state_ != State::Ready) return;
  Replication* rep = manager_.replication();
  for (const auto& e : entries) {
    if (e.id <= stream_pos_) continue;  // already held (read by load, or delivered twice)
    stream_pos_ = e.id;
    if (e.trimmed) continue;  // a trim marker: for the reader
    ++stream_entries_;
    if (e.node == rep->node_id()) continue;  // integrated when it was accepted here
    std::vector<uint8_t> relay;
    if (!apply_entry(e, relay)) continue;
    if (subscribed_) to_js(to_string(relay));
    send_update_to_all(std::move(relay), 0);
  }
  maybe_compact_stream(false);
}

// What the snapshot and the stream hold that this replica lacks (entries a trim took from under
// the reader, or that arrived while its connection was lost) is merged into the replica and goes
// to the peers and to JavaScript. When the replica holds structs Redis lacks (Redis restarted
// without its data, or lost its last writes with `appendfsync everysec`), they go back into the
// stream as one entry: every node that held the document does so, and the duplicates are harmless
// (the same structs, so Yjs merges them). This node's own appends still queued on the commands
// connection count as lacking too: they may then be stored twice, which is as harmless.
void Document::reload(ReplicaLoad load) {
  if (state_ != State::Ready) return;
  std::vector<uint8_t> relay;
  auto deliver = [this](std::vector<uint8_t> update) {
    if (subscribed_) to_js(to_string(update));
    send_update_to_all(std::move(update), 0);
  };
  yjs::Doc held;  // Redis's state, to compare state vectors
  auto hold = [&held](const std::string& update) {
    try {
      held.applyUpdate(bytes(update));
    } catch (const std::exception&) {
      // a bad entry: apply_entry reports it
    }
  };
  if (!load.snapshot.empty()) {
    hold(load.snapshot);
    ReplicaEntry snapshot{load.position, {}, std::move(load.snapshot), {}};
    if (apply_entry(snapshot, relay)) deliver(std::move(relay));
  }
  for (const auto& e : load.entries) {
    if (e.trimmed) continue;  // a trim marker
    hold(e.update);
    if (apply_entry(e, relay)) deliver(std::move(relay));
  }
  stream_pos_ = load.position;
  const auto redis_sv = held.encodeStateVector();
  if (redis_sv == doc_.encodeStateVector()) return;
  manager_.replication()->restored.fetch_add(1, std::memory_order_relaxed);
  append_to_stream(kNoPeer, doc_.encodeStateAsUpdate(redis_sv));
}

// Durable before relayed, across nodes: the update goes to the stream, and to this node's peers
// once Redis acknowledged it. Its place among the appends waiting for Redis was reserved before
// integration (write(), applyUpdate), so an edit past the queue bound was refused before it
// changed anything. An append that fails anyway (an error reply, the connection's own queue full,
// lost twice) fails the document: this replica holds an update no other node will see, so every
// peer is closed (1013) and the replica dropped; clients reconnect, the document is read again
// from Redis, and they send what it lacks.
void Document::append_to_stream(uint64_t from, std::vector<uint8_t> update) {
  ++pending_durable_;
  std::string data = to_string(update);
  manager_.replication()->append(
      std::move(append_slot_), name_, std::move(data),
      [self = shared_from_this(), from, update = std::move(update), hold = input_hold_](std::string error,
                                                                                       redis::StreamId) mutable {
        net::post(self->strand_, [self, from, update = std::move(update), error = std::move(error),
                                  hold = std::move(hold)]() mutable {
          if (self->state_ == State::Ready) {
            if (!error.empty()) {
              self->fail("document log unavailable: " + error, ws::kTryAgainLater);
            } else {
              if (self->subscribed_) self->to_js(to_string(update), std::move(hold));
              self->send_update_to_all(std::move(update), from);
            }
          }
          self->append_settled();
        });
      });
}

// One compactor at a time per document, across nodes: whoever takes the lease writes the
// snapshot (every entry up to stream_pos_ is integrated here) and trims the stream.
void Document::maybe_compact_stream(bool force) {
  Replication* rep = manager_.replication();
  if (state_ != State::Ready || compacting_ || stream_entries_ == 0 || stream_pos_ == redis::StreamId{}) return;
  if (!force && stream_entries_ < manager_.opts.compact_after_entries) return;
  compacting_ = true;
  const size_t entries = stream_entries_;
  stream_entries_ = 0;
  auto state = doc_.encodeStateAsUpdate();
  // With a store (documents.persistence { dir | path }), the snapshot also replaces the stored
  // state, so the store can bootstrap Redis again should Redis lose its data.
  std::shared_ptr<std::vector<uint8_t>> kept;
  if (manager_.store()) kept = std::make_shared<std::vector<uint8_t>>(state);
  rep->compact(name_, to_string(state), stream_pos_,
               [self = shared_from_this(), entries, kept](std::string error, bool compacted) {
                 net::post(self->strand_, [self, entries, compacted, kept, error = std::move(error)] {
                   self->compacting_ = false;
                   if (error.empty()) {
                     if (compacted && kept) {
                       self->manager_.store()->compact(self->name_, std::move(*kept), [self](std::optional<std::string> err) {
                         if (err)
                           self->manager_.server.report_failure(self->manager_.server.compaction_errors,
                                                                "COLLABIO_COMPACTION_FAILED",
                                                                "storing the snapshot of document \"" + self->name_ +
                                                                    "\" failed: " + *err);
                       });
                     }
                     // Application persistence (persistence.store) in cluster mode: the compactor
                     // stores, once per snapshot, not every node on every change. An empty update
                     // (`00 00`) marks the document changed for the host, which then stores the
                     // state of this replica (a superset of the snapshot).
                     if (compacted && self->manager_.opts.host_persistence) self->to_js(std::string("\0\0", 2));
                     return;
                   }
                   self->stream_entries_ += entries;
                   self->manager_.server.report_failure(self->manager_.server.compaction_errors,
                                                        "COLLABIO_COMPACTION_FAILED",
                                                        "compacting document \"" + self->name_ + "\" failed: " + error);
                 });
               });
}

void Document::when_ready(std::function<void()> fn) {
  if (state_ == State::Loading) {
    waiting_ready_.push_back(std::move(fn));
  } else {
    fn();
  }
}

void Document::when_durable(std::function<void()> fn) {
  if (pending_durable_ == 0) {
    fn();
  } else {
    waiting_durable_.push_back(std::move(fn));
  }
}

void Document::append_settled() {
  if (--pending_durable_ > 0) return;
  auto waiting = std::move(waiting_durable_);
  waiting_durable_.clear();
  for (auto& fn : waiting) fn();
}

void Document::add_peer(std::shared_ptr<DocPeer> peer, bool read_only) {
  unload_generation_++;  // cancels a scheduled unload
  when_ready([self = shared_from_this(), peer = std::move(peer), read_only] {
    if (self->state_ == State::Failed) {
      peer->close_peer(ws::kInternalError, self->failure_);
      return;
    }
    self->peers_[peer->peer_id()] = Peer{peer, read_only};
    peer->joined(self->doc_.encodeStateVector(), self->awareness_.encode_all());
    if (!self->awareness_timer_running_) {
      self->awareness_timer_running_ = true;
      self->expire_awareness();
    }
  });
}

void Document::remove_peer(uint64_t peer) {
  if (!peers_.erase(peer)) return;
  auto gone = awareness_.remove_connection(peer);
  // [cluster awareness] the other nodes drop the leaving peer's states too.
  if (!gone.empty() && !awareness_withdrawn_)
    if (auto* ca = manager_.cluster_awareness()) ca->publish_update(name_, peer, gone);
  if (!gone.empty()) send_awareness_to_all(std::move(gone));
  if (peers_.empty()) {
    awareness_timer_.cancel();  // nothing to expire; a pending wait would also delay shutdown
    manager_.server.push_event(Event::doc_idle(name_));
  }
  maybe_schedule_unload();
}

void Document::close_peer(uint64_t peer, uint16_t code, const std::string& reason) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  auto p = it->second.p;
  remove_peer(peer);
  p->close_peer(code, reason);
}

void Document::send_update_to_all(std::vector<uint8_t> update, uint64_t except) {
  if (peers_.empty()) return;
  relay_batch_.push_back(PendingRelay{except, std::move(update)});
  if (relay_flush_scheduled_) return;
  relay_flush_scheduled_ = true;
  const auto next = last_relay_ + std::chrono::milliseconds(manager_.opts.relay_interval_ms);
  if (std::chrono::steady_clock::now() >= next) {
    // Quiet until now: out as soon as the messages already handed to this strand are handled.
    net::post(strand_, [self = shared_from_this()] { self->flush_relay(); });
    return;
  }
  relay_timer_.expires_at(next);
  relay_timer_.async_wait([self = shared_from_this()](boost::system::error_code) { self->flush_relay(); });
}

// One update goes to everyone but its sender, as before batching. Several are merged
// (Y.mergeUpdates) into one message for every peer, their senders included: a peer integrates
// what it already has as a no-op (yjs skips known structs), and one merge plus one frame per
// protocol costs the server less than a merge per sender, while each client integrates one
// message per burst instead of one per remote edit. Hocuspocus 4 does the same (its Document
// merges an event-loop turn's updates and broadcasts them to every connection).
void Document::flush_relay() {
  relay_flush_scheduled_ = false;
  last_relay_ = std::chrono::steady_clock::now();
  auto batch = std::move(relay_batch_);
  relay_batch_.clear();
  if (batch.empty() || peers_.empty()) return;
  uint64_t except = batch.front().from;
  std::vector<uint8_t> update;
  if (batch.size() == 1) {
    update = std::move(batch.front().update);
  } else {
    std::vector<std::span<const uint8_t>> parts;
    parts.reserve(batch.size());
    for (const auto& b : batch) {
      parts.emplace_back(b.update);
      if (b.from != except) except = kNoPeer;
    }
    try {
      update = yjs::mergeUpdates(parts);
    } catch (const std::exception&) {
      // Our own integrated updates always merge; should one not, each goes out as it came.
      for (auto& b : batch) {
        const SharedMessage m(std::move(b.update));
        for (auto& [id, peer] : peers_)
          if (id != b.from) peer.p->deliver_update(m);
      }
      return;
    }
  }
  const SharedMessage m(std::move(update));
  for (auto& [id, peer] : peers_)
    if (id != except) peer.p->deliver_update(m);
}

// Echoed to everyone, the sender included, as the reference server does: it keeps idle clients'
// 30 s timeout from firing.
void Document::send_awareness_to_all(std::vector<uint8_t> update) {
  if (peers_.empty()) return;
  const SharedMessage m(std::move(update));
  for (auto& [id, peer] : peers_) peer.p->deliver_awareness(m);
}

void Document::acknowledge_when_durable(uint64_t peer, bool saved) {
  when_durable([self = shared_from_this(), peer, saved] {
    auto it = self->peers_.find(peer);
    if (it != self->peers_.end()) it->second.p->write_acknowledged(saved);
  });
}

void Document::on_message(uint64_t peer, std::string message, size_t offset, Decode decode,
                          std::shared_ptr<void> hold) {
  if (state_ == State::Loading) {
    // Kept in arrival order behind the peer's own add_peer (queued the same way).
    waiting_ready_.push_back([self = shared_from_this(), peer, message = std::move(message), offset, decode,
                              hold = std::move(hold)]() mutable {
      self->on_message(peer, std::move(message), offset, decode, std::move(hold));
    });
    return;
  }
  if (state_ != State::Ready) return;  // a failed document has no peers
  if (!peers_.count(peer)) return;
  input_hold_ = std::move(hold);
  decode(*this, peer, bytes(message).subspan(std::min(offset, message.size())));
  input_hold_.reset();
  // A large message (a document pushed in one update) leaves its copies in malloc's free lists;
  // they go back to the system when such messages stop coming.
  if (message.size() >= kTrimAfterBytes) {
    std::string().swap(message);
    manager_.server.large_buffer_freed();
  }
}

void Document::sync_step1(uint64_t peer, std::span<const uint8_t> state_vector) {
  std::vector<uint8_t> sv(state_vector.begin(), state_vector.end());
  // Answer from durable state only: wait for earlier updates to be committed.
  when_durable([self = shared_from_this(), peer, sv = std::move(sv)] {
    auto it = self->peers_.find(peer);
    if (it == self->peers_.end()) return;
    std::vector<uint8_t> diff;
    try {
      diff = self->doc_.encodeStateAsUpdate(sv);
    } catch (const std::exception& e) {
      self->close_peer(peer, ws::kInvalidPayload, std::string("invalid state vector: ") + e.what());
      return;
    }
    it->second.p->answer_sync_step1(self->doc_.encodeStateVector(), std::move(diff));
  });
}

void Document::write(uint64_t peer, std::span<const uint8_t> update) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  if (it->second.read_only) {
    // Read-only peers may not write; Hocuspocus tells its client whether the document already
    // holds what it sent. Exactly for the empty update (no structs, no deletes: `00 00`), which is
    // what a read-only client with nothing new answers our SyncStep1 with; anything else "not saved".
    const bool empty = update.size() == 2 && update[0] == 0 && update[1] == 0;
    it->second.p->write_acknowledged(empty);
    return;
  }
  // Cluster mode: a place among the appends waiting for Redis, before anything changes. Past the
  // bound only this sender is refused (not acknowledged, closed 1013); its client still holds
  // the edit and sends it again with its next sync.
  if (Replication* rep = manager_.replication()) {
    append_slot_ = rep->reserve_append();
    if (!append_slot_) {
      close_peer(peer, ws::kTryAgainLater, rep->refusal());
      return;
    }
  }
  bool failed = false;
  integrate(peer, update, [this, peer, &failed](const std::string& error) {
    failed = true;
    close_peer(peer, ws::kInvalidPayload, "invalid update: " + error);
  });
  append_slot_ = {};  // unused (nothing new, or invalid): the place goes back
  if (!failed) acknowledge_when_durable(peer, true);
}

void Document::awareness(uint64_t peer, std::span<const uint8_t> update) {
  try {
    auto applied = awareness_.apply(peer, update, now_ms());
    if (applied.broadcast.empty()) return;
    // [cluster awareness] what changed goes to the other nodes (the accepted entries only).
    if (auto* ca = manager_.cluster_awareness(); ca && !awareness_withdrawn_)
      ca->publish_update(name_, peer, applied.broadcast);
    send_awareness_to_all(std::move(applied.broadcast));
  } catch (const std::exception& e) {
    close_peer(peer, ws::kInvalidPayload, std::string("invalid awareness update: ") + e.what());
  }
}

void Document::query_awareness(uint64_t peer) {
  auto it = peers_.find(peer);
  if (it == peers_.end()) return;
  const auto states = awareness_.encode_all();
  if (!states.empty()) it->second.p->answer_query_awareness(states);
}

void Document::stateless(uint64_t peer, std::string_view payload) {
  manager_.server.push_event(Event::doc_stateless(peer, name_, std::string(payload)));
}

void Document::send_stateless(uint64_t peer, const std::string& payload) {
  if (peer != 0) {
    auto it = peers_.find(peer);
    if (it != peers_.end()) it->second.p->deliver_stateless(payload);
    return;
  }
  for (auto& [id, p] : peers_) p.p->deliver_stateless(payload);
}

// ---- cluster awareness (doc_cluster_awareness.h) ----

bool Document::remote_awareness(const std::string& node, uint64_t peer, std::span<const uint8_t> update) {
  if (state_ != State::Ready) return true;
  const auto key = std::make_pair(node, peer);
  auto it = remote_peers_.find(key);
  if (it == remote_peers_.end()) {
    if (remote_peers_.size() >= DocClusterAwareness::kMaxRemotePeers) return false;
    it = remote_peers_.emplace(key, next_remote_connection_++).first;
  }
  const uint64_t conn = it->second;
  yjs::awareness::Registry::Applied applied;
  try {
    applied = awareness_.apply(conn, update, now_ms());
  } catch (const std::exception&) {
    if (awareness_.clients_of(conn).empty()) remote_peers_.erase(it);
    return false;
  }
  if (awareness_.clients_of(conn).empty()) remote_peers_.erase(it);  // removed (the peer left)
  if (!applied.broadcast.empty()) send_awareness_to_all(std::move(applied.broadcast));
  if (!peers_.empty() && !awareness_timer_running_) {
    awareness_timer_running_ = true;
    expire_awareness();
  }
  return applied.rejected == 0;
}

void Document::awareness_query() {
  auto* ca = manager_.cluster_awareness();
  if (!ca || state_ != State::Ready || awareness_withdrawn_) return;
  const auto decision = answer_limit_.on_query(now_ms());
  switch (decision.verdict) {
    case AnswerLimiter::Verdict::Now:
      publish_awareness_states();
      return;
    case AnswerLimiter::Verdict::Coalesced:
      ca->queries_coalesced.fetch_add(1, std::memory_order_relaxed);
      return;
    case AnswerLimiter::Verdict::Later:
      answer_timer_.expires_after(std::chrono::milliseconds(std::max<int64_t>(0, decision.at_ms - now_ms())));
      answer_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (ec) return;  // cancelled: unloaded or shutting down (the limiter was told)
        self->publish_awareness_states();
      });
      return;
  }
}

void Document::publish_awareness_states() {
  answer_limit_.answered(now_ms());
  auto* ca = manager_.cluster_awareness();
  if (!ca || state_ != State::Ready || awareness_withdrawn_) return;
  ca->answers.fetch_add(1, std::memory_order_relaxed);
  for (const auto& [id, peer] : peers_) {
    std::vector<yjs::awareness::Entry> entries;
    for (uint64_t client : awareness_.clients_of(id)) {
      auto state = awareness_.state(client);
      auto clock = awareness_.clock(client);
      if (state && clock) entries.push_back({client, *clock, std::string(*state)});
    }
    if (!entries.empty()) ca->publish_update(name_, id, yjs::awareness::encode_update(entries));
  }
}

void Document::withdraw_awareness() {
  auto* ca = manager_.cluster_awareness();
  if (!ca || awareness_withdrawn_) return;
  awareness_withdrawn_ = true;
  answer_timer_.cancel();
  answer_limit_.cancel();
  if (state_ != State::Ready) return;
  // A removal at the same clock is accepted by every registry that holds the state (awareness.h),
  // as when the peer leaves; the local registry is left as it is (its peers are closing).
  for (const auto& [id, peer] : peers_) {
    std::vector<yjs::awareness::Entry> entries;
    for (uint64_t client : awareness_.clients_of(id)) {
      auto clock = awareness_.clock(client);
      if (awareness_.state(client) && clock) entries.push_back({client, *clock, "null"});
    }
    if (!entries.empty()) ca->publish_update(name_, id, yjs::awareness::encode_update(entries));
  }
}

// Integrates `update` (from connection `from`, or 0 for JavaScript). On a decode error the
// document is unchanged and `on_error` is called; otherwise what was new is persisted and relayed.
void Document::integrate(uint64_t from, std::span<const uint8_t> update, std::function<void(std::string)> on_error) {
  yjs::Doc::ApplyResult r;
  try {
    r = doc_.applyUpdate(update);
  } catch (const std::exception& e) {
    on_error(e.what());
    return;
  }
  // Decoding left several times the update's size in malloc's free lists (struct refs, strings).
  if (update.size() >= kTrimAfterBytes) manager_.server.large_buffer_freed();
  if (r.relay.empty()) return;
  relay(from, std::move(r.relay));
}

void Document::relay(uint64_t from, std::vector<uint8_t> update) {
  if (manager_.replication()) {
    append_to_stream(from, std::move(update));
    return;
  }
  store::Store* st = manager_.store();
  if (!st) {
    if (subscribed_ || manager_.opts.host_persistence) to_js(to_string(update), input_hold_);  // the host stores what changes
    send_update_to_all(std::move(update), from);
    return;
  }
  // Durable before relayed: the store commits (group commit), then the strand relays, in order.
  ++pending_durable_;
  ++log_entries_;
  log_bytes_ += update.size();
  auto copy = update;
  // The sender's inbound hold rides with the append: a client that sends faster than the store
  // commits is paused (inbound backpressure) until its updates are durable, and, when JavaScript
  // sees them, until JavaScript has run them.
  st->append(name_, std::move(copy),
             [self = shared_from_this(), from, update = std::move(update),
              hold = input_hold_](std::optional<std::string> err) mutable {
               net::post(self->strand_, [self, from, update = std::move(update), err = std::move(err),
                                         hold = std::move(hold)]() mutable {
                 if (err) {
                   // Not durable: do not relay what could be lost; the sender is told by a close.
                   self->close_peer(from, ws::kInternalError, "could not store the update: " + *err);
                 } else {
                   if (self->subscribed_ || self->manager_.opts.host_persistence)
                     self->to_js(to_string(update), std::move(hold));
                   self->send_update_to_all(std::move(update), from);
                 }
                 self->append_settled();
               });
             });
  maybe_compact(false);
}

void Document::maybe_compact(bool force) {
  store::Store* st = manager_.store();
  if (!st || state_ != State::Ready || log_entries_ == 0) return;
  if (!force && log_entries_ < manager_.opts.compact_after_entries && log_bytes_ < manager_.opts.compact_after_bytes)
    return;
  // The state includes every update appended so far (same strand), as Store::compact requires.
  // The counters restart now (appends from here on are not in this state); a failed compaction
  // gives back what it was to cover, so the next append tries again.
  const size_t entries = log_entries_;
  const uint64_t bytes = log_bytes_;
  log_entries_ = 0;
  log_bytes_ = 0;
  st->compact(name_, doc_.encodeStateAsUpdate(),
              [self = shared_from_this(), entries, bytes](std::optional<std::string> err) {
                if (!err) return;
                self->manager_.server.report_failure(self->manager_.server.compaction_errors, "COLLABIO_COMPACTION_FAILED",
                                                     "compacting document \"" + self->name_ + "\" failed: " + *err);
                net::post(self->strand_, [self, entries, bytes] {
                  self->log_entries_ += entries;
                  self->log_bytes_ += bytes;
                });
              });
}

void Document::to_js(std::string update, std::shared_ptr<void> hold) {
  js_bytes_ += update.size();
  js_updates_.push_back(std::move(update));
  if (hold) js_holds_.push_back(std::move(hold));
  flush_js_updates();
  // The senders stay paused while their updates wait here and in JavaScript: a batch that holds
  // half a connection's share leaves now rather than at the end of the debounce, so that a fast
  // sender is slowed by JavaScript's pace, not by update_debounce_ms. (A cancelled wait flushes.)
  const Options& o = manager_.server.opts;
  if ((o.max_inbound_bytes != 0 && js_bytes_ >= o.max_inbound_bytes / 2) ||
      (o.max_inbound_events != 0 && js_holds_.size() >= o.max_inbound_events / 2))
    js_timer_.cancel();
}

void Document::flush_js_updates() {
  if (js_flush_scheduled_) return;
  js_flush_scheduled_ = true;
  js_timer_.expires_after(std::chrono::milliseconds(manager_.opts.update_debounce_ms));
  // Also run, at once, when the wait is cancelled (to_js, unload): the updates always leave.
  js_timer_.async_wait([self = shared_from_this()](boost::system::error_code) {
    self->js_flush_scheduled_ = false;
    if (self->js_updates_.empty()) return;
    Event ev = Event::doc_update(self->name_, std::move(self->js_updates_));
    self->js_updates_.clear();
    self->js_bytes_ = 0;
    if (!self->js_holds_.empty()) {
      ev.hold = std::make_shared<std::vector<std::shared_ptr<void>>>(std::move(self->js_holds_));
      self->js_holds_.clear();
    }
    self->manager_.server.push_event(std::move(ev));
  });
}

void Document::expire_awareness() {
  if (peers_.empty()) {
    awareness_timer_running_ = false;
    return;
  }
  awareness_timer_.expires_after(std::chrono::milliseconds(kAwarenessCheckMs));
  awareness_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec) {
      self->awareness_timer_running_ = false;
      return;
    }
    auto gone = self->awareness_.expire(now_ms());
    if (!gone.empty()) self->send_awareness_to_all(std::move(gone));
    // [cluster awareness] remote peers left with no states (their node died or went quiet).
    std::erase_if(self->remote_peers_, [&](const auto& e) { return self->awareness_.clients_of(e.second).empty(); });
    self->expire_awareness();
  });
}

void Document::maybe_schedule_unload() {
  if (!peers_.empty()) return;
  const uint64_t gen = ++unload_generation_;
  const bool now = manager_.server.closing() || state_ == State::Failed;
  unload_timer_.expires_after(std::chrono::milliseconds(now ? 0 : manager_.opts.unload_delay_ms));
  unload_timer_.async_wait([self = shared_from_this(), gen](boost::system::error_code ec) {
    if (ec || gen != self->unload_generation_ || !self->peers_.empty()) return;
    // Leave a compact state behind so the next load is quick.
    if (self->state_ == State::Ready) self->maybe_compact(true);
    if (self->state_ == State::Ready && self->manager_.replication() && !self->manager_.server.closing())
      self->maybe_compact_stream(true);
    if (self->manager_.try_unload(self)) {
      if (self->watching_) self->manager_.replication()->unwatch(self->name_, self.get());
      self->awareness_timer_.cancel();
      self->answer_timer_.cancel();
      self->answer_limit_.cancel();
      self->js_timer_.cancel();
      // [cluster awareness] no more interest in the other nodes' awareness.
      if (self->cluster_joined_) self->manager_.cluster_awareness()->leave(self->name_);
      self->cluster_joined_ = false;
    }
  });
}

void Document::request(const std::string& op, std::string arg, Reply reply) {
  when_ready([self = shared_from_this(), op, arg = std::move(arg), reply = std::move(reply)]() mutable {
    if (self->state_ == State::Failed) {
      reply(self->failure_, {}, {});
      return;
    }
    if (op == "applyUpdate") {
      if (Replication* rep = self->manager_.replication()) {
        self->append_slot_ = rep->reserve_append();
        if (!self->append_slot_) {
          reply(rep->refusal(), {}, {});
          return;
        }
      }
      std::string error;
      self->integrate(0, bytes(arg), [&error](std::string e) { error = "invalid update: " + e; });
      self->append_slot_ = {};
      if (!error.empty()) {
        reply(error, {}, {});
        return;
      }
      // Resolves once the update is durable (and relayed); in cluster mode, once XADD is
      // acknowledged (a refused append fails the document, and the promise with it).
      self->when_durable([self, reply = std::move(reply)] {
        if (self->state_ == State::Failed) reply(self->failure_, {}, {});
        else reply({}, {}, {});
      });
      return;
    }
    if (op == "subscribe" || op == "unsubscribe") {
      self->subscribed_ = op == "subscribe";
      reply({}, {}, {});
      return;
    }
    if (op == "close") {
      std::vector<uint64_t> ids;
      for (auto& [id, peer] : self->peers_) ids.push_back(id);
      for (auto id : ids) self->close_peer(id, ws::kGoingAway, "document closed by the server");
      reply({}, {}, {});
      return;
    }
    if (op == "connections") {
      std::string json = "[";
      for (auto& [id, peer] : self->peers_) {
        if (json.size() > 1) json += ',';
        json += "{\"id\":" + std::to_string(id) + ",\"readOnly\":" + (peer.read_only ? "true" : "false") +
                ",\"protocol\":\"" + peer.p->protocol() + "\"}";
      }
      json += "]";
      reply({}, {}, json);
      return;
    }
    // Reads see durable state only.
    self->when_durable([self, op, arg = std::move(arg), reply = std::move(reply)] {
      try {
        if (op == "encodeState") {
          reply({}, {to_string(self->doc_.encodeStateAsUpdate(bytes(arg)))}, {});
        } else if (op == "encodeStateVector") {
          reply({}, {to_string(self->doc_.encodeStateVector())}, {});
        } else if (op == "text") {
          reply({}, {}, self->doc_.rootTextToString(arg));
        } else if (op == "map") {
          reply({}, {}, self->doc_.rootMapToJson(arg));
        } else if (op == "array") {
          reply({}, {}, self->doc_.rootArrayToJson(arg));
        } else if (op == "memory") {
          reply({}, {}, std::to_string(self->doc_.memoryUsage()));
        } else {
          reply("unknown document operation " + op, {}, {});
        }
      } catch (const std::exception& e) {
        reply(e.what(), {}, {});
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// DocumentManager

DocumentManager::DocumentManager(ServerImpl& srv, DocumentOptions options) : server(srv), opts(std::move(options)) {
  // [cluster awareness] documents.redis: the other nodes' awareness through pub/sub. It connects
  // when the first document loads (DocClusterAwareness::join).
  if (!opts.redis_url.empty()) {
    redis::Options ro;
    std::string error;
    if (!redis::parse_url(opts.redis_url, ro.endpoint, error)) {
      cluster_error_ = "documents.redis.url: " + error;  // thrown by open_store(), from listen()
      return;
    }
    ro.tls.ca_file = opts.redis_tls_ca;
    ro.tls.verify = opts.redis_tls_verify;
    // The manager owns the module, and the module's handlers end before the manager does.
    cluster_awareness_ = std::make_shared<DocClusterAwareness>(
        server.ioc, std::move(ro), opts.redis_prefix, [this](const std::string& name) { return find(name); },
        server.cluster_awareness_dropped);
  }
}

DocumentManager::~DocumentManager() { close_store(); }

void DocumentManager::open_store() {
  // [cluster awareness] a documents.redis.url the Redis client cannot use fails listen().
  if (!cluster_error_.empty()) throw std::invalid_argument(cluster_error_);
  if (!opts.redis_url.empty() && !replication_) {
    ReplicationOptions ro;
    ro.url = opts.redis_url;
    ro.prefix = opts.redis_prefix;
    ro.max_queued = opts.redis_max_queued;
    ro.trim_window_ms = opts.redis_trim_window_ms;
    ro.tls.ca_file = opts.redis_tls_ca;
    ro.tls.verify = opts.redis_tls_verify;
    ro.cluster = opts.redis_cluster;
    ro.more_urls = opts.redis_nodes;
    replication_ = std::make_shared<Replication>(server, std::move(ro));
    replication_->start();
  }
  if (opts.persistence_path.empty() || store_) return;
  store_ = store::Store::open(opts.persistence_path, opts.durability_full ? store::Durability::Full
                                                                         : store::Durability::Normal);
}

void DocumentManager::close_store() {
  if (store_) store_->close();
}

std::shared_ptr<Document> DocumentManager::acquire(const std::string& name) {
  std::shared_ptr<Document> doc;
  bool created = false;
  {
    std::lock_guard lk(mu_);
    auto it = docs_.find(name);
    if (it != docs_.end()) {
      doc = it->second;
    } else {
      if (docs_.size() >= opts.max_documents) return nullptr;
      doc = std::make_shared<Document>(*this, name);
      docs_.emplace(name, doc);
      created = true;
      // Queued before the lock is released: whoever finds the document next queues its work
      // behind the load, so start_loading is always the first handler on the new strand.
      net::post(doc->strand(), [doc] { doc->start_loading(); });
    }
    doc->holders++;
  }
  if (created) server.push_event(Event::doc_create(name));
  return doc;
}

void DocumentManager::release(const std::shared_ptr<Document>& doc) {
  {
    std::lock_guard lk(mu_);
    doc->holders--;
  }
  net::post(doc->strand(), [doc] { doc->check_idle(); });
}

bool DocumentManager::try_unload(const std::shared_ptr<Document>& doc) {
  {
    std::lock_guard lk(mu_);
    if (doc->holders > 0) return false;
    auto it = docs_.find(doc->name());
    if (it == docs_.end() || it->second != doc) return false;
    docs_.erase(it);
  }
  server.push_event(Event::doc_unload(doc->name()));
  return true;
}

void DocumentManager::request(std::string name, std::string op, std::string arg, int64_t req_id, bool hold) {
  auto doc = acquire(name);
  if (!doc) {
    server.push_event(Event::reply(req_id, name, "too many documents loaded"));
    return;
  }
  if (hold) {
    std::lock_guard lk(mu_);
    js_handles_[name]++;
    doc->holders++;
  }
  net::post(doc->strand(), [self = shared_from_this(), doc, op = std::move(op), arg = std::move(arg), req_id] {
    doc->request(op, arg, [self, name = doc->name(), req_id](std::string error, std::vector<std::string> payload,
                                                             std::string json) {
      self->server.push_event(Event::reply(req_id, name, std::move(error), std::move(payload), std::move(json)));
    });
    self->release(doc);
  });
}

void DocumentManager::release_handle(const std::string& name) {
  std::shared_ptr<Document> doc;
  {
    std::lock_guard lk(mu_);
    auto h = js_handles_.find(name);
    if (h == js_handles_.end()) return;
    if (--h->second == 0) js_handles_.erase(h);
    auto it = docs_.find(name);
    if (it == docs_.end()) return;
    doc = it->second;
  }
  release(doc);
}

void DocumentManager::send_stateless(const std::string& name, uint64_t peer, std::string payload) {
  std::shared_ptr<Document> doc;
  {
    std::lock_guard lk(mu_);
    auto it = docs_.find(name);
    if (it == docs_.end()) return;
    doc = it->second;
  }
  net::post(doc->strand(), [doc, peer, payload = std::move(payload)] { doc->send_stateless(peer, payload); });
}

void DocumentManager::host_loaded(const std::string& name, std::string state, std::string error) {
  std::shared_ptr<Document> doc;
  {
    std::lock_guard lk(mu_);
    auto it = docs_.find(name);
    if (it == docs_.end()) return;
    doc = it->second;
  }
  net::post(doc->strand(), [doc, state = std::move(state), error = std::move(error)]() mutable {
    doc->host_loaded(std::move(state), std::move(error));
  });
}

std::shared_ptr<Document> DocumentManager::find(const std::string& name) const {
  std::lock_guard lk(mu_);
  auto it = docs_.find(name);
  return it == docs_.end() ? nullptr : it->second;
}

size_t DocumentManager::loaded() const {
  std::lock_guard lk(mu_);
  return docs_.size();
}

void DocumentManager::shutdown() {
  std::vector<std::shared_ptr<Document>> docs;
  {
    std::lock_guard lk(mu_);
    for (const auto& [name, doc] : docs_) docs.push_back(doc);
  }
  // [cluster awareness] each document publishes the removal of its peers' states, so the other
  // nodes drop them now, not by timeout; once every document has, the connections close (they
  // would keep the I/O threads running) when Redis has taken those messages, or after the grace.
  std::function<void()> withdrawn = [] {};
  if (cluster_awareness_) {
    auto left = std::make_shared<std::atomic<size_t>>(docs.size() + 1);
    withdrawn = [ca = cluster_awareness_, left] {
      if (left->fetch_sub(1) == 1) ca->close_after_flush(std::chrono::milliseconds(2000));
    };
  }
  // server.closing() is already true: check_idle() schedules the unload with no delay.
  for (const auto& doc : docs) {
    net::post(doc->strand(), [doc, withdrawn] {
      doc->withdraw_awareness();
      withdrawn();
      doc->check_idle();
    });
  }
  withdrawn();
  // The Redis connections keep the io_context running: closed once the appends in flight have
  // their answers (the connections of the documents are closing meanwhile).
  if (replication_) replication_->close(std::chrono::milliseconds(2000));
}

}  // namespace collabio::core
