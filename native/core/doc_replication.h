// Documents across processes (issue 21): every node keeps a replica of the documents its clients
// use, and Redis Streams keep the replicas in step. One stream per document is the order; a
// snapshot (the merged state and the id of the last entry it holds) plus the stream after that id
// is the state.
//
// Keys (`{name}` is a Redis Cluster hash tag, so the keys of one document share a slot):
//   <prefix>:{<name>}:updates   stream: one entry per accepted update, fields `u` (the Yjs update,
//                               v1) and `n` (the id of the node that appended it)
//   <prefix>:{<name>}:snapshot  hash: `ms`, `seq` (the last entry id it includes), `state`
//   <prefix>:{<name>}:lease     the compactor's lease (SET NX PX), value: the node id
//   <prefix>:wake:<node>        stream this node's reader also blocks on; an entry wakes it when a
//                               document is added to its watch list (Redis Cluster: one per slot
//                               read, <prefix>:wake:<node>:{<tag>} with a tag in that slot)
//
// Data paths
// - append(): XADD on the commands connection. The document relays an update to its own peers
//   only when the XADD is acknowledged (durable before relay, as with the SQLite store).
// - One reader per node: XREAD BLOCK on a connection of its own (Connection::duplicate()) over
//   every watched document's stream, from the last id seen for each. Entries go to the document's
//   sink (Document::remote_entries), which skips its own node's entries (already integrated).
// - Redis Cluster (ReplicationOptions::cluster): commands go through redis::ClusterClient, which
//   routes each by its key's slot. Redis refuses an XREAD whose keys span slots (CROSSSLOT), so
//   there is one reader per slot in use instead of one per node: each blocks, on a connection of
//   its own to that slot's master (ClusterClient::sibling()), over the watched documents of its
//   slot and its own wake stream. A reader exists while its slot has a watched document.
//   docs/architecture.md "Redis Cluster" says what this costs.
// - load(): one Lua script reads the snapshot and the stream after its id atomically, so a
//   compaction between the two reads cannot trim entries the loader has not seen.
// - seed(): bootstrap from persistence. When load() found neither snapshot nor stream, the node
//   reads the document from its persistence (SQLite store or persistence.load) and offers that
//   state as the snapshot (id 0-0). One script writes it only if Redis still has neither, and
//   answers like load(): the first node to seed wins, every other one reads the winner's state
//   and the entries appended since. Two nodes opening a document at once therefore never both
//   seed (a load hook that builds a fresh Y.Doc per call would otherwise double its content).
// - compact(): whoever takes the lease (SET NX PX) runs a script that writes the snapshot only if
//   it is newer than the one stored, then trims the stream (XTRIM MINID) below the snapshot's id
//   minus a safety window; readers that lag less than the window never miss an entry. When the
//   trim removed entries, the script appends a trim marker after it: an entry whose field `t` is
//   the id of the last entry removed (and `n` the compacting node).
// - A reader that lagged more than the window (a paused or slow node) finds the marker. Its
//   position was trimmed if it had not yet received that last removed entry: XREAD then jumped
//   over the gap without a sign, so the reader reloads the document through load() (snapshot and
//   the stream after it) and the document relays what it lacked (Yjs merges are idempotent, so
//   re-applying known state is harmless). Which entries a reader received is known exactly up to
//   the start of its current run of full (COUNT-sized) replies; a marker that removed an entry
//   past that start triggers the reload. Example: a reader at 5-0 is paused; entries 6-0..9-0 are
//   added, a compaction trims them (marker t=9-0, id 10-0) and 11-0 is added; the reader's next
//   XREAD after 5-0 returns 10-0 (marker: 9-0 > 5-0, a gap) and 11-0, and it reloads.
// - After the reader's connection is lost (Redis restarted, network), it reloads every watched
//   document the same way before blocking again.
//
// Appends while Redis is unreachable: at most max_queued appends wait for Redis's answer. A
// place is reserved (reserve_append()) before an update is integrated, so a refused edit leaves
// the replica as it was: only its sender is told (close 1013), the document and its other clients
// go on, and the edit, which the client still holds, comes back with its next sync.
//
// Awareness (presence) is not stored here: it is ephemeral and goes over pub/sub
// (doc_cluster_awareness.h).
//
// Threads and ownership
// - readers_ and each Reader's state (watches, wake_id, reading, reloads_due) are owned by strand_.
// - cmd_ and each Reader's conn are redis::Client (a Connection, or a ClusterClient), thread-safe;
//   their handlers run on their own strands and post into strand_ or hand results to the caller's
//   callback (which posts to its own strand).
// - pending_appends_ is atomic (appends reserved or waiting for Redis's answer: the queue bound,
//   and what shutdown waits for).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/server_impl.h"
#include "redis/connection.h"
#include "redis/streams.h"

namespace collabio::core {

struct ReplicationOptions {
  std::string url;                     // redis:// or rediss://
  std::string prefix = "collabio";
  redis::TlsOptions tls;
  size_t max_queued = 10000;           // appends waiting for Redis's answer; more are refused
  uint64_t trim_window_ms = 60000;     // XTRIM MINID keeps entries this much older than the snapshot
  uint64_t lease_ms = 10000;           // the compactor's lease
  uint32_t block_ms = 5000;            // XREAD BLOCK timeout (the reader loops)
  bool cluster = false;                // `url` (and `more_urls`) are seeds of a Redis Cluster
  std::vector<std::string> more_urls;  // more seed nodes (cluster only)
};

// One entry of a document's stream, as the reader delivers it.
struct ReplicaEntry {
  redis::StreamId id;
  std::string node;    // field `n`; empty when absent
  std::string update;  // field `u`; empty when absent (the sink counts such an entry as bad)
  // A trim marker (field `t`, no update): the compactor removed every entry up to this id.
  std::optional<redis::StreamId> trimmed;
};

// What load() read: the snapshot's state (empty when there is none), the entries after it, and the
// position to read on from.
struct ReplicaLoad {
  std::string snapshot;
  std::vector<ReplicaEntry> entries;
  redis::StreamId position;
  // Redis holds the document: a snapshot (possibly of an empty document) or stream entries. When
  // false the node bootstraps it from persistence (seed()).
  bool found = false;
};

class Replication : public std::enable_shared_from_this<Replication> {
 public:
  // Called with a document's entries, in stream order. Runs on the reader's strand: post.
  using Sink = std::function<void(std::vector<ReplicaEntry> entries)>;
  // A reload after the reader lost its connection or found its position trimmed (see above).
  // Same thread rule.
  using ReloadSink = std::function<void(ReplicaLoad load)>;

  // Throws std::invalid_argument when the URL is not a Redis URL (the reason never quotes it).
  Replication(ServerImpl& server, ReplicationOptions options);
  ~Replication();

  void start();
  // Stops reading once every append in flight has its answer (or after `grace`), then closes
  // both connections. Any thread.
  void close(std::chrono::milliseconds grace);

  const std::string& node_id() const { return node_id_; }

  std::string stream_key(const std::string& name) const;
  std::string snapshot_key(const std::string& name) const;
  std::string lease_key(const std::string& name) const;

  // A place among the appends waiting for Redis's answer (at most max_queued). Reserved before
  // an update is integrated, so that a refused edit changes nothing; append() takes it over, and
  // one destroyed unused gives the place back. Movable, any thread.
  class AppendSlot {
   public:
    AppendSlot() = default;
    AppendSlot(AppendSlot&& o) noexcept : owner_(std::move(o.owner_)) {}
    AppendSlot& operator=(AppendSlot&& o) noexcept;
    ~AppendSlot() { release(); }
    explicit operator bool() const { return owner_ != nullptr; }

   private:
    friend class Replication;
    explicit AppendSlot(std::shared_ptr<Replication> owner) : owner_(std::move(owner)) {}
    void release();
    std::shared_ptr<Replication> owner_;
  };
  // An empty slot when max_queued appends already wait (counted in appends_refused): the edit is
  // refused. refusal() says why, for the close reason.
  AppendSlot reserve_append();
  std::string refusal() const;

  // Appends one update in `slot` (an empty slot: appended beyond the bound, for callers that did
  // not reserve). `done(error, id)`: error empty once Redis acknowledged it (id set); otherwise
  // why it failed (the connection's own queue full, or an error reply). A command lost with its
  // connection is sent again once (a duplicate entry is harmless: Yjs updates are idempotent).
  // Runs on a Redis connection's strand: post.
  using AppendDone = std::function<void(std::string error, redis::StreamId id)>;
  void append(AppendSlot slot, const std::string& name, std::string update, AppendDone done);

  // Reads the snapshot and the stream after it. Runs `done` on a Redis connection's strand.
  using LoadDone = std::function<void(std::string error, ReplicaLoad load)>;
  void load(const std::string& name, LoadDone done);

  // Bootstrap: stores `state` (the document as persistence had it, possibly empty) as the
  // snapshot at id 0-0 if Redis has neither a snapshot nor stream entries for `name`, atomically;
  // then reads like load(). `done` as for load(); `load.found` is true.
  void seed(const std::string& name, std::string state, LoadDone done);

  // Reads `name`'s stream after `after` from now on, handing entries to `sink` (and reloads to
  // `reload`). Replaces an earlier watch of the same name. `owner` identifies the watcher: an
  // unwatch by an earlier owner (a replica unloaded just before the document was opened again)
  // leaves the new watch alone.
  void watch(const std::string& name, const void* owner, redis::StreamId after, Sink sink, ReloadSink reload);
  void unwatch(const std::string& name, const void* owner);

  // Compaction: if this node takes the lease, stores `state` (which holds every entry up to
  // `upto`) as the snapshot when it is newer than the stored one and trims the stream. `done(error,
  // compacted)`: compacted false when another node holds the lease or has a newer snapshot.
  using CompactDone = std::function<void(std::string error, bool compacted)>;
  void compact(const std::string& name, std::string state, redis::StreamId upto, CompactDone done);

  // Counters (relaxed).
  std::atomic<uint64_t> appends{0};
  std::atomic<uint64_t> appends_refused{0};
  std::atomic<uint64_t> remote_entries{0};
  std::atomic<uint64_t> compactions{0};
  std::atomic<uint64_t> reloads{0};          // every reload (connection lost, or position trimmed)
  std::atomic<uint64_t> trimmed_reloads{0};  // reloads because the reader's position was trimmed
  std::atomic<uint64_t> bootstraps{0};  // documents read from persistence because Redis lacked them
  std::atomic<uint64_t> seeds{0};       // of those, the ones whose state this node wrote to Redis
  std::atomic<uint64_t> restored{0};    // reloads that found Redis lacking what the replica held (re-appended)

 private:
  struct Watch {
    std::string name;
    const void* owner;
    redis::StreamId after;      // last id seen
    redis::StreamId run_start;  // where the current run of full replies started (see above)
    Sink sink;
    ReloadSink reload;
  };
  enum class ReloadCause { ConnectionLost, PositionTrimmed };
  // One XREAD BLOCK loop: the node's only one, or (Redis Cluster) one slot's. Owner: strand_.
  struct Reader {
    std::unique_ptr<redis::Client> conn;
    std::string wake_key;
    std::string wake_id = "0-0";
    std::map<std::string, Watch> watches;  // by stream key
    bool reading = false;  // an XREAD (or reloads) is in flight
    // Documents (by stream key) to reload before the next XREAD, and why.
    std::map<std::string, ReloadCause> reloads_due;
    bool closed = false;   // removed from readers_ (its last watch went)
  };
  static constexpr int kSingleReader = -1;
  // The reader key of a stream: its slot in cluster mode, kSingleReader otherwise.
  int reader_group(const std::string& stream_key) const;
  std::shared_ptr<Reader> make_reader(int group);
  void do_read(const std::shared_ptr<Reader>& r);
  void on_read(const std::shared_ptr<Reader>& r, std::error_code ec, redis::Reply reply);
  void do_reload(const std::shared_ptr<Reader>& r);
  void wake(const Reader& r);
  void send_append(std::vector<std::string> args, AppendDone done, bool retried);

  ServerImpl& server_;
  const ReplicationOptions opts_;
  const std::string node_id_;
  redis::Options redis_options_;  // every connection's (a cluster's masters take their own address)
  std::unique_ptr<redis::Client> cmd_;
  Strand strand_;

  // ---- owner: strand_ ----
  std::map<int, std::shared_ptr<Reader>> readers_;  // by reader_group()
  bool closed_ = false;

  std::atomic<uint64_t> pending_appends_{0};
};

}  // namespace collabio::core
