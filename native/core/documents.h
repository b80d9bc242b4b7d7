// Collaborative documents: one C++ Yjs document per name, created on first use, loaded from the
// store before it answers anyone, owned by its own strand. A document speaks no protocol: it holds
// protocol-neutral peers (doc_peer.h), and each protocol (y-websocket, Hocuspocus) decodes its
// messages and calls the document's input methods below, and frames what the document sends.
//
// Ownership
// - DocumentManager::docs_ (name -> Document) is guarded by DocumentManager::mu_.
// - Everything inside a Document (the Yjs doc, awareness, connections, pending work) is owned by
//   the Document's strand; other threads post to it.
// - The Store runs on its own thread; its callbacks post back to the document's strand.
//
// Durability: with a store, every update that changed the document is appended and committed
// before it is relayed to the other connections, and state answers (SyncStep2, JS reads) wait
// until every earlier update is durable, so nothing a peer has seen can be lost by a crash.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/doc_cluster_awareness.h"
#include "core/doc_peer.h"
#include "core/doc_replication.h"
#include "core/server_impl.h"
#include "store/store.h"
#include "yjs/awareness.h"
#include "yjs/doc.h"

namespace collabio::core {

class DocumentManager;

class Document : public std::enable_shared_from_this<Document> {
 public:
  Document(DocumentManager& manager, std::string name);

  const std::string& name() const { return name_; }
  Strand& strand() { return strand_; }

  // ---- strand only ----
  void start_loading();
  // Host persistence answer (strand).
  void host_loaded(std::string state, std::string error);
  void add_peer(std::shared_ptr<DocPeer> peer, bool read_only);
  void remove_peer(uint64_t peer);

  // A message from `peer`, decoded by its protocol's `decode` on this strand once the document
  // is loaded (kept in arrival order until then; dropped if the peer is gone). `decode` receives
  // `message` from `offset` on and calls the input methods below. `hold` (InboundBudget::hold)
  // keeps the message counted against its connection's inbound budget until it is handled:
  // decoded and integrated, and with a store, committed.
  using Decode = void (*)(Document& doc, uint64_t peer, std::span<const uint8_t> body);
  void on_message(uint64_t peer, std::string message, size_t offset, Decode decode,
                  std::shared_ptr<void> hold = nullptr);

  // ---- input, strand only: what a peer's protocol decoded ----
  // SyncStep1: answered (DocPeer::answer_sync_step1) from durable state.
  void sync_step1(uint64_t peer, std::span<const uint8_t> state_vector);
  // SyncStep2 or Update: integrated (dropped for read-only peers), persisted, relayed, then
  // acknowledged to the peer (DocPeer::write_acknowledged). A corrupt update closes the peer.
  void write(uint64_t peer, std::span<const uint8_t> update);
  void awareness(uint64_t peer, std::span<const uint8_t> update);
  void query_awareness(uint64_t peer);
  // A stateless message for the application (Hocuspocus): Event::kDocStateless.
  void stateless(uint64_t peer, std::string_view payload);
  // A stateless message from the application to `peer`, or to every peer when 0 (peers whose
  // protocol has no stateless messages ignore it).
  void send_stateless(uint64_t peer, const std::string& payload);
  // Closes `peer` (bad input) and forgets it.
  void close_peer(uint64_t peer, uint16_t code, const std::string& reason);

  // ---- cluster awareness (doc_cluster_awareness.h), strand only ----
  // Another node's peer `peer` (of node `node`) changed states: applied as a connection of its
  // own and relayed to this node's peers, never republished. False when the update is refused
  // (hostile: counted by the caller).
  bool remote_awareness(const std::string& node, uint64_t peer, std::span<const uint8_t> update);
  // Another node asked for this node's states (a Query), or this node's Subscriber reconnected:
  // publishes one Update per local peer holding states, at most once per
  // DocClusterAwareness::kAnswerIntervalMs (AnswerLimiter; Queries in between share one answer).
  void awareness_query();
  // Shutdown: publishes the removal of every local peer's states (state null at the same clock),
  // so the other nodes drop them now rather than by timeout; from then on this document publishes
  // no more awareness.
  void withdraw_awareness();
  // Requests from JavaScript (DocumentManager::request). `reply(error, payload)`.
  using Reply = std::function<void(std::string error, std::vector<std::string> payload, std::string json)>;
  void request(const std::string& op, std::string arg, Reply reply);
  // A holder went away: unload later if nobody is left.
  void check_idle() { maybe_schedule_unload(); }

  // ---- cluster mode (DocumentOptions::redis_url), strand only ----
  // Entries of this document's stream that the node's reader delivers, in stream order: other
  // nodes' updates are integrated and relayed to this node's peers; this node's own are already
  // integrated. An entry that does not decode is dropped and counted (stats: badStreamEntries).
  void remote_entries(std::vector<ReplicaEntry> entries);
  // The reader read the snapshot and stream again (it lost its connection, or found its position
  // trimmed; see doc_replication.h): what this replica lacked is integrated and relayed.
  void reload(ReplicaLoad load);

  // Handles held outside the strand (connections being attached, JS handles): while > 0 the
  // document is not unloaded. Guarded by DocumentManager::mu_.
  int holders = 0;

 private:
  enum class State { Loading, Ready, Failed };
  struct Peer {
    std::shared_ptr<DocPeer> p;
    bool read_only;
  };

  void on_loaded(std::variant<store::StoredDoc, std::string> result);
  void on_replica_loaded(std::string error, ReplicaLoad load);
  // Cluster mode, Redis lacks the document: read it from persistence (store or persistence.load),
  // then offer it to Redis (Replication::seed), whose answer goes to on_replica_loaded.
  void bootstrap();
  void seed(std::string error, std::vector<std::vector<uint8_t>> updates);
  // Integrates one stream entry; true when it changed the document (`relay` then holds what was new).
  bool apply_entry(const ReplicaEntry& e, std::vector<uint8_t>& relay);
  void append_to_stream(uint64_t from, std::vector<uint8_t> update);
  void maybe_compact_stream(bool force);
  void fail(const std::string& reason, uint16_t code = ws::kInternalError);
  void when_ready(std::function<void()> fn);
  // Runs `fn` once every append sent so far (to the store, or to the stream in cluster mode) has
  // answered: now if none is pending.
  void when_durable(std::function<void()> fn);
  // One append counted in pending_durable_ has answered and its outcome is applied (relayed, or
  // its sender closed): the last one pending runs what when_durable() queued. Called exactly once
  // per ++pending_durable_, on the strand.
  void append_settled();
  void integrate(uint64_t from, std::span<const uint8_t> update, std::function<void(std::string)> done);
  void relay(uint64_t from, std::vector<uint8_t> update);
  // Queues `update` (from peer `except`, 0 for JavaScript) for the next relay flush.
  void send_update_to_all(std::vector<uint8_t> update, uint64_t except);
  void flush_relay();
  void send_awareness_to_all(std::vector<uint8_t> update);
  void acknowledge_when_durable(uint64_t peer, bool saved);
  void maybe_schedule_unload();
  void maybe_compact(bool force);
  // Queues `update` for JavaScript (Event::kDocUpdate, after update_debounce_ms). `hold`: the
  // inbound hold of the message it came from, kept until JavaScript has run the batch that
  // carries it (Event::hold), so that a sender outpacing JavaScript is paused; null for updates
  // no connection sent here (JavaScript's own, other nodes').
  void to_js(std::string update, std::shared_ptr<void> hold = nullptr);
  void flush_js_updates();
  void expire_awareness();
  void publish_awareness_states();  // the answer to a Query (see awareness_query)

  DocumentManager& manager_;
  const std::string name_;
  Strand strand_;

  // ---- owner: strand_ ----
  State state_ = State::Loading;
  std::string failure_;
  yjs::Doc doc_;
  yjs::awareness::Registry awareness_;
  std::map<uint64_t, Peer> peers_;  // by peer id; ordered: deterministic fan-out order
  std::vector<std::function<void()>> waiting_ready_;
  std::vector<std::function<void()>> waiting_durable_;
  uint64_t pending_durable_ = 0;  // appends sent to the store or stream and not yet answered
  size_t log_entries_ = 0;        // appends since the last compaction
  uint64_t log_bytes_ = 0;
  uint64_t unload_generation_ = 0;
  net::steady_timer unload_timer_;
  net::steady_timer awareness_timer_;
  bool awareness_timer_running_ = false;
  // Cluster awareness: the registry connection id of each remote peer (node id, peer id) holding
  // states here; ids start at 2^62, above any local peer id.
  std::map<std::pair<std::string, uint64_t>, uint64_t> remote_peers_;
  uint64_t next_remote_connection_ = uint64_t{1} << 62;
  bool cluster_joined_ = false;  // join()ed on load; leave() on unload
  AnswerLimiter answer_limit_{DocClusterAwareness::kAnswerIntervalMs};  // when Queries are answered
  net::steady_timer answer_timer_;  // a Query answer AnswerLimiter put off (Verdict::Later)
  bool awareness_withdrawn_ = false;  // withdraw_awareness() ran: publish nothing more
  // Updates integrated (and, with a store, committed) but not yet sent to the peers, with their
  // senders. Relays of one document are at least DocumentOptions::relay_interval_ms apart, and
  // what arrives in between goes out as one merged update (flush_relay): a lone update after a
  // quiet interval leaves at once (posted, so the messages already handed to this strand join it);
  // a burst costs each client one message to integrate instead of one per edit.
  struct PendingRelay {
    uint64_t from;
    std::vector<uint8_t> update;
  };
  std::vector<PendingRelay> relay_batch_;
  bool relay_flush_scheduled_ = false;
  std::chrono::steady_clock::time_point last_relay_{};
  net::steady_timer relay_timer_;
  bool subscribed_ = false;  // JS wants 'update' events
  std::vector<std::string> js_updates_;
  std::vector<std::shared_ptr<void>> js_holds_;  // the senders' holds of js_updates_ (see to_js)
  uint64_t js_bytes_ = 0;                        // the bytes of js_updates_
  bool js_flush_scheduled_ = false;
  net::steady_timer js_timer_;
  // Cluster mode: the id of the last stream entry this replica holds (every entry up to it is
  // integrated), entries seen since the last compaction, and whether one is running.
  redis::StreamId stream_pos_;
  size_t stream_entries_ = 0;
  bool compacting_ = false;
  bool watching_ = false;  // registered with the node's reader
  bool bootstrapping_ = false;  // reading persistence because Redis lacked the document (once per load)
  // The inbound hold of the message being decoded (set around `decode` in on_message): relay()
  // keeps it with the store append, so the sender stays paused until its update is committed.
  std::shared_ptr<void> input_hold_;
  // Cluster mode: the place reserved among the appends waiting for Redis for the update being
  // integrated (set around integrate() in write() and applyUpdate; append_to_stream takes it).
  Replication::AppendSlot append_slot_;
};


class DocumentManager : public std::enable_shared_from_this<DocumentManager> {
 public:
  DocumentManager(ServerImpl& server, DocumentOptions options);
  ~DocumentManager();

  // Opens the store (throws store::StoreError with a clear message).
  void open_store();
  void close_store();

  // Any thread. Returns the document `name` (created and loading if absent) with one holder
  // added; release() it when done. Null when max_documents is reached.
  std::shared_ptr<Document> acquire(const std::string& name);
  void release(const std::shared_ptr<Document>& doc);

  // Any thread: JS requests on a document (op: "encodeState", "encodeStateVector", "applyUpdate",
  // "connections", "text", "map", "array", "memory", "subscribe", "unsubscribe", "close"). The reply arrives
  // as an Event::kReply with ack_id = req_id.
  void request(std::string name, std::string op, std::string arg, int64_t req_id, bool hold);
  // Any thread: JS released a handle obtained with request(..., hold = true).
  void release_handle(const std::string& name);
  // Any thread: a stateless message for peer `peer` of document `name` (0: every peer). Dropped
  // when the document is not loaded (it has no peers then).
  void send_stateless(const std::string& name, uint64_t peer, std::string payload);
  // Any thread: the loaded document `name`, or null (no holder is added).
  std::shared_ptr<Document> find(const std::string& name) const;
  // Any thread: host persistence delivered a document's stored state.
  void host_loaded(const std::string& name, std::string state, std::string error);

  // Called by a Document on its strand when it may be unloaded; erases it if nobody holds it.
  bool try_unload(const std::shared_ptr<Document>& doc);

  size_t loaded() const;
  // Any thread, at shutdown: documents no connection uses unload now instead of after their
  // unload_delay (a pending unload timer would otherwise hold close() that long).
  void shutdown();

  // Awareness across nodes (documents.redis), or null in single-node mode. Set in open_store,
  // before listening; read-only after.
  DocClusterAwareness* cluster_awareness() { return cluster_awareness_.get(); }
  ServerImpl& server;
  const DocumentOptions opts;
  store::Store* store() { return store_.get(); }
  // Cluster mode: the node's replication (null in single-node mode). Set before listening.
  Replication* replication() { return replication_.get(); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<DocClusterAwareness> cluster_awareness_;  // set in the constructor, read-only after
  std::string cluster_error_;  // why documents.redis.url is unusable (constructor; thrown by open_store)
  std::unordered_map<std::string, std::shared_ptr<Document>> docs_;  // guarded by mu_
  std::unordered_map<std::string, int> js_handles_;                  // guarded by mu_
  std::unique_ptr<store::Store> store_;  // set before listening, read-only after
  std::shared_ptr<Replication> replication_;  // set before listening (open_store), read-only after
};

}  // namespace collabio::core
