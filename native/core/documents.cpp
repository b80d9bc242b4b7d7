#include "core/documents.h"

#include <boost/asio/post.hpp>

#include "core/yjs_connection.h"
#include "yjs/sync_protocol.h"

namespace collabio::core {

namespace sync = yjs::sync;

namespace {

ws::Frame binary_frame(const std::vector<uint8_t>& message) {
  return ws::make_frame(ws::Opcode::Binary,
                        std::string_view(reinterpret_cast<const char*>(message.data()), message.size()));
}

std::string to_string(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

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
      js_timer_(strand_) {}

void Document::start_loading() {
  if (manager_.opts.host_persistence) {
    manager_.server.push_event(Event{Event::kDocLoad, 0, name_});
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
  auto waiting = std::move(waiting_ready_);
  waiting_ready_.clear();
  for (auto& fn : waiting) fn();
  maybe_compact(false);
}

void Document::host_loaded(std::string state, std::string error) {
  if (state_ != State::Loading) return;
  if (!error.empty()) {
    on_loaded(std::move(error));
    return;
  }
  store::StoredDoc stored;
  if (!state.empty()) stored.updates.emplace_back(state.begin(), state.end());
  on_loaded(std::move(stored));
}

void Document::fail(const std::string& reason) {
  state_ = State::Failed;
  failure_ = reason;
  auto waiting = std::move(waiting_ready_);
  waiting_ready_.clear();
  for (auto& fn : waiting) fn();  // each sees Failed and reports it
  for (auto& [id, conn] : conns_) conn.c->close(ws::kInternalError, reason);
  conns_.clear();
  // Forget the failed instance so that a later connection tries to load again.
  maybe_schedule_unload();
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

void Document::add_connection(const std::shared_ptr<YjsConnection>& c, bool read_only) {
  unload_generation_++;  // cancels a scheduled unload
  when_ready([self = shared_from_this(), c, read_only] {
    if (self->state_ == State::Failed) {
      c->close(ws::kInternalError, self->failure_);
      return;
    }
    self->conns_[c->id()] = Conn{c, read_only};
    // The server speaks first: its state vector, then who is here.
    const auto step1 = sync::encode_sync_step1(self->doc_.encodeStateVector());
    ws::Frame frames[2] = {binary_frame(step1), nullptr};
    size_t n = 1;
    const auto states = self->awareness_.encode_all();
    if (!states.empty()) frames[n++] = binary_frame(sync::encode_awareness(states));
    c->enqueue(frames, n, false);
    if (!self->awareness_timer_running_) {
      self->awareness_timer_running_ = true;
      self->expire_awareness();
    }
  });
}

void Document::remove_connection(uint64_t conn) {
  if (!conns_.erase(conn)) return;
  const auto gone = awareness_.remove_connection(conn);
  if (!gone.empty()) send_all(sync::encode_awareness(gone), 0);
  if (conns_.empty()) {
    awareness_timer_.cancel();  // nothing to expire; a pending wait would also delay shutdown
    manager_.server.push_event(Event{Event::kDocIdle, 0, name_});
  }
  maybe_schedule_unload();
}

void Document::close_connection(uint64_t conn, uint16_t code, const std::string& reason) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  it->second.c->close(code, reason);
  remove_connection(conn);
}

void Document::send_to(uint64_t conn, std::vector<uint8_t> message) {
  auto it = conns_.find(conn);
  if (it != conns_.end()) it->second.c->enqueue(binary_frame(message));
}

void Document::send_all(const std::vector<uint8_t>& message, uint64_t except) {
  if (conns_.empty()) return;
  // Framed once; every connection queues the same immutable buffer.
  const ws::Frame f = binary_frame(message);
  for (auto& [id, conn] : conns_)
    if (id != except) conn.c->enqueue(f);
}

void Document::on_message(uint64_t conn, const std::string& frame) {
  if (state_ == State::Loading) {
    // Kept in arrival order behind the connection's own add_connection (queued the same way).
    waiting_ready_.push_back([self = shared_from_this(), conn, frame] { self->on_message(conn, frame); });
    return;
  }
  if (state_ != State::Ready) return;  // a failed document has no connections
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  const bool read_only = it->second.read_only;
  sync::ParsedMessage parsed;
  try {
    parsed = sync::parse_message(bytes(frame));
  } catch (const sync::ProtocolError& e) {
    // Unknown message types are ignored for forward compatibility (as the reference server);
    // anything malformed closes only this connection.
    if (e.kind() == sync::ProtocolError::Kind::UnknownMessageType) return;
    close_connection(conn, ws::kInvalidPayload, std::string("invalid message: ") + e.what());
    return;
  } catch (const std::exception& e) {
    close_connection(conn, ws::kInvalidPayload, std::string("invalid message: ") + e.what());
    return;
  }

  if (auto* s = std::get_if<sync::SyncMessage>(&parsed.message)) {
    if (s->type == sync::SyncType::SyncStep1) {
      std::vector<uint8_t> sv(s->data.begin(), s->data.end());
      // Answer from durable state only: wait for earlier updates to be committed.
      when_durable([self = shared_from_this(), conn, sv = std::move(sv)] {
        std::vector<uint8_t> diff;
        try {
          diff = self->doc_.encodeStateAsUpdate(sv);
        } catch (const std::exception& e) {
          self->close_connection(conn, ws::kInvalidPayload, std::string("invalid state vector: ") + e.what());
          return;
        }
        self->send_to(conn, sync::encode_sync_step2(std::move(diff)));
      });
      return;
    }
    if (read_only) return;  // read-only connections may not write (SyncStep2 and Update dropped)
    integrate(conn, s->data, [self = shared_from_this(), conn](const std::string& error) {
      self->close_connection(conn, ws::kInvalidPayload, "invalid update: " + error);
    });
    return;
  }
  if (auto* a = std::get_if<sync::AwarenessMessage>(&parsed.message)) {
    try {
      auto applied = awareness_.apply(conn, a->update, now_ms());
      // Echoed to everyone, the sender included, as the reference server does: it keeps idle
      // clients' 30 s timeout from firing.
      if (!applied.broadcast.empty()) send_all(sync::encode_awareness(applied.broadcast), 0);
    } catch (const std::exception& e) {
      close_connection(conn, ws::kInvalidPayload, std::string("invalid awareness update: ") + e.what());
    }
    return;
  }
  if (std::holds_alternative<sync::QueryAwarenessMessage>(parsed.message)) {
    const auto states = awareness_.encode_all();
    if (!states.empty()) send_to(conn, sync::encode_awareness(states));
    return;
  }
  // Auth messages from a client mean nothing to the server.
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
  if (r.relay.empty()) return;
  relay(from, std::move(r.relay));
}

void Document::relay(uint64_t from, std::vector<uint8_t> update) {
  store::Store* st = manager_.store();
  if (!st) {
    send_all(sync::encode_update(update), from);
    if (subscribed_ || manager_.opts.host_persistence) {  // the host stores what changes
      js_updates_.push_back(to_string(update));
      flush_js_updates();
    }
    return;
  }
  // Durable before relayed: the store commits (group commit), then the strand relays, in order.
  ++pending_durable_;
  ++log_entries_;
  log_bytes_ += update.size();
  auto copy = update;
  st->append(name_, std::move(copy),
             [self = shared_from_this(), from, update = std::move(update)](std::optional<std::string> err) mutable {
               net::post(self->strand_, [self, from, update = std::move(update), err = std::move(err)] {
                 --self->pending_durable_;
                 if (err) {
                   // Not durable: do not relay what could be lost; the sender is told by a close.
                   self->close_connection(from, ws::kInternalError, "could not store the update: " + *err);
                 } else {
                   self->send_all(sync::encode_update(update), from);
                   if (self->subscribed_ || self->manager_.opts.host_persistence) {
                     self->js_updates_.push_back(to_string(update));
                     self->flush_js_updates();
                   }
                 }
                 if (self->pending_durable_ == 0) {
                   auto waiting = std::move(self->waiting_durable_);
                   self->waiting_durable_.clear();
                   for (auto& fn : waiting) fn();
                 }
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
  st->compact(name_, doc_.encodeStateAsUpdate(), [](std::optional<std::string>) {});
  log_entries_ = 0;
  log_bytes_ = 0;
}

void Document::flush_js_updates() {
  if (js_flush_scheduled_) return;
  js_flush_scheduled_ = true;
  js_timer_.expires_after(std::chrono::milliseconds(manager_.opts.update_debounce_ms));
  js_timer_.async_wait([self = shared_from_this()](boost::system::error_code) {
    self->js_flush_scheduled_ = false;
    if (self->js_updates_.empty()) return;
    Event ev{Event::kDocUpdate, 0, self->name_, {}, -1, std::move(self->js_updates_), nullptr};
    self->js_updates_.clear();
    self->manager_.server.push_event(std::move(ev));
  });
}

void Document::expire_awareness() {
  if (conns_.empty()) {
    awareness_timer_running_ = false;
    return;
  }
  awareness_timer_.expires_after(std::chrono::milliseconds(kAwarenessCheckMs));
  awareness_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec) {
      self->awareness_timer_running_ = false;
      return;
    }
    const auto gone = self->awareness_.expire(now_ms());
    if (!gone.empty()) self->send_all(sync::encode_awareness(gone), 0);
    self->expire_awareness();
  });
}

void Document::maybe_schedule_unload() {
  if (!conns_.empty()) return;
  const uint64_t gen = ++unload_generation_;
  const bool now = manager_.server.closing() || state_ == State::Failed;
  unload_timer_.expires_after(std::chrono::milliseconds(now ? 0 : manager_.opts.unload_delay_ms));
  unload_timer_.async_wait([self = shared_from_this(), gen](boost::system::error_code ec) {
    if (ec || gen != self->unload_generation_ || !self->conns_.empty()) return;
    // Leave a compact state behind so the next load is quick.
    if (self->state_ == State::Ready) self->maybe_compact(true);
    if (self->manager_.try_unload(self)) {
      self->awareness_timer_.cancel();
      self->js_timer_.cancel();
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
      std::string error;
      self->integrate(0, bytes(arg), [&error](std::string e) { error = "invalid update: " + e; });
      if (!error.empty()) {
        reply(error, {}, {});
        return;
      }
      // Resolves once the update is durable (and relayed).
      self->when_durable([reply = std::move(reply)] { reply({}, {}, {}); });
      return;
    }
    if (op == "subscribe" || op == "unsubscribe") {
      self->subscribed_ = op == "subscribe";
      reply({}, {}, {});
      return;
    }
    if (op == "close") {
      for (auto& [id, conn] : self->conns_) conn.c->close(ws::kGoingAway, "document closed by the server");
      std::vector<uint64_t> ids;
      for (auto& [id, conn] : self->conns_) ids.push_back(id);
      for (auto id : ids) self->remove_connection(id);
      reply({}, {}, {});
      return;
    }
    if (op == "connections") {
      std::string json = "[";
      for (auto& [id, conn] : self->conns_) {
        if (json.size() > 1) json += ',';
        json += "{\"id\":" + std::to_string(id) + ",\"readOnly\":" + (conn.read_only ? "true" : "false") + "}";
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

DocumentManager::DocumentManager(ServerImpl& srv, DocumentOptions options) : server(srv), opts(std::move(options)) {}

DocumentManager::~DocumentManager() { close_store(); }

void DocumentManager::open_store() {
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
  if (created) server.push_event(Event{Event::kDocCreate, 0, name, {}, -1, {}, nullptr});
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
  server.push_event(Event{Event::kDocUnload, 0, doc->name(), {}, -1, {}, nullptr});
  return true;
}

void DocumentManager::request(std::string name, std::string op, std::string arg, int64_t req_id, bool hold) {
  auto doc = acquire(name);
  if (!doc) {
    server.push_event(Event{Event::kReply, 0, name, "too many documents loaded", req_id, {}, nullptr});
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
      Event ev{Event::kReply, 0, name, std::move(error), req_id, std::move(payload), nullptr};
      ev.extra = std::move(json);
      self->server.push_event(std::move(ev));
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

size_t DocumentManager::loaded() const {
  std::lock_guard lk(mu_);
  return docs_.size();
}

void DocumentManager::shutdown() {
  std::lock_guard lk(mu_);
  // server.closing() is already true: check_idle() schedules the unload with no delay.
  for (const auto& [name, doc] : docs_) net::post(doc->strand(), [doc] { doc->check_idle(); });
}

std::vector<std::string> DocumentManager::names() const {
  std::lock_guard lk(mu_);
  std::vector<std::string> out;
  out.reserve(docs_.size());
  for (const auto& [name, doc] : docs_) out.push_back(name);
  return out;
}

}  // namespace collabio::core
