// Awareness across collabio nodes (issue 21 §4): the states of clients connected to other nodes
// serving the same document, through Redis pub/sub. Awareness is ephemeral (a lost message is
// repaired by the client's next renewal, every 15 s), so it does not go through the document's
// stream.
//
//   channel  <prefix>:{<document>}:awareness       one per document, `{name}` hash tag
//   message  yjs/awareness_wire.h                  Update (node, peer, awareness update) | Query (node)
//
// - A node subscribes to a document's channel while the document is loaded (join / leave), and
//   publishes a Query once the subscription is confirmed; every other node answers with one
//   Update per local peer holding states (Document::awareness_query).
// - What a local peer changes (Document::awareness, the accepted part only) is published as an
//   Update from (this node, that peer); when the peer leaves, the removal of its states is too.
// - A node applies other nodes' Updates to its document's awareness, each remote peer as a
//   connection of its own (so the per-connection limits of yjs/awareness.h hold for remote
//   peers), and relays what changed to its own clients; it never republishes them.
// - A node that dies publishes nothing more: its clients' states are no longer renewed, and every
//   other node drops them by awareness's own outdated timeout (30 s, y-protocols outdatedTimeout;
//   checked every 10 s, so within 40 s), as do the clients themselves. No node heartbeat.
// - A node that shuts down (io.close(), SIGTERM through the CLI) publishes the removal of its
//   clients' states (Document::withdraw_awareness) before it closes the publishing connection
//   (close_after_flush): the other nodes drop those cursors at once.
// - After the Subscriber connection is lost and subscribed again (Redis restarted, network), the
//   node queries the other nodes again for each of its documents and republishes its own clients'
//   states: whatever was published while it was away (lost, as pub/sub messages are) is repaired
//   without waiting for the clients' renewals. Counted in `resyncs`. After the publishing
//   connection alone reconnects, the node republishes its clients' states (what was written
//   but unanswered when it was lost, or did not fit its queue, is lost).
// - Queries are answered at most once per document per kAnswerIntervalMs (AnswerLimiter below):
//   a node, or anyone, publishing Queries in a loop costs each node one answer per interval.
//   Queries that arrive while an answer is pending share it (counted in `queries_coalesced`).
// - Messages this node published come back to it (pub/sub echoes): they are skipped by node id.
// - Hostile messages (anything may PUBLISH on the channel) are dropped and counted
//   (ServerImpl::cluster_awareness_dropped, io.stats().clusterAwarenessDropped): a message that
//   does not decode, an awareness update the registry refuses, or an Update from a remote peer
//   beyond kMaxRemotePeers for its document.
//
// Connections: two of its own (a Subscriber, and a Commands connection for PUBLISH), not the
// replication's: see docs/architecture.md, "Awareness across nodes", for why.
//
// Threads: every public method may be called from any thread. Messages and the Subscriber's state
// changes arrive on the Subscriber connection's strand and are posted to the document's strand.
// Publishing never waits: a message that cannot be sent (Redis down, queue full) is lost, like any
// pub/sub message.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "redis/connection.h"

namespace boost::asio {
class io_context;
}

namespace collabio::core {

class Document;

/// When one document answers Queries (issue 21: Queries in a loop must not make every node publish
/// all its states each time). At most one answer per interval, the first at once, the next on the
/// trailing edge: a Query less than an interval after the last answer is answered when the
/// interval ends, and Queries arriving before that answer share it. Every Query is thus followed by
/// an answer published after it arrived: no node misses the states it asked for.
///
/// Example, interval 1000 ms, Queries at 0, 10, 20 and 2500 ms:
///   0 -> Now; 10 -> Later (at 1000); 20 -> Coalesced (into the answer at 1000); 2500 -> Now.
///
/// Pure logic on a caller's monotonic clock (milliseconds); owned by the document's strand.
class AnswerLimiter {
 public:
  explicit AnswerLimiter(int64_t interval_ms) : interval_ms_(interval_ms) {}

  enum class Verdict {
    Now,        // answer now, then call answered()
    Later,      // answer at `at_ms`, then call answered()
    Coalesced,  // an answer is already scheduled: it covers this Query too
  };
  struct Decision {
    Verdict verdict;
    int64_t at_ms = 0;  // Later only
  };
  Decision on_query(int64_t now_ms);
  /// An answer went out at `now_ms` (the one scheduled, if any, is no longer pending).
  void answered(int64_t now_ms);
  /// Forgets a scheduled answer that will not run (the document is unloading).
  void cancel() { pending_ = false; }

 private:
  const int64_t interval_ms_;
  std::optional<int64_t> last_ms_;  // the last answer
  bool pending_ = false;            // an answer is scheduled
};

class DocClusterAwareness : public std::enable_shared_from_this<DocClusterAwareness> {
 public:
  /// Remote peers (other nodes' connections) whose states one document keeps; more are dropped.
  static constexpr size_t kMaxRemotePeers = 10000;
  /// A document answers Queries at most once per interval (AnswerLimiter).
  static constexpr int64_t kAnswerIntervalMs = 1000;
  /// Messages held while the publishing connection is down (more are lost, as pub/sub messages
  /// are): after the reconnect, the resync republishes the current states anyway.
  static constexpr size_t kMaxQueuedPublishes = 1000;

  /// Finds a loaded document by name (null when not loaded); must not block.
  using FindDocument = std::function<std::shared_ptr<Document>(const std::string& name)>;

  /// `redis` is the documents' Redis (documents.redis.url), `prefix` its key prefix. `dropped` is
  /// the counter of hostile messages.
  DocClusterAwareness(boost::asio::io_context& ioc, redis::Options redis, std::string prefix, FindDocument find,
                      std::atomic<uint64_t>& dropped);
  ~DocClusterAwareness();

  /// Connects (the Subscriber and the publishing connection); the first join() does it too.
  /// Calling it again has no effect.
  void start();
  /// Closes both connections now; later calls publish nothing. Safe to call twice.
  void close();
  /// Shutdown: stops listening now, and closes the publishing connection once Redis has answered
  /// everything published before this call (the removals of Document::withdraw_awareness), or
  /// after `grace` when it does not answer. When the publishing connection is not connected
  /// (never started, Redis unreachable) it closes at once: nothing could be delivered. Safe to
  /// call twice.
  void close_after_flush(std::chrono::milliseconds grace);

  /// The document `name` is loaded here / unloaded: subscribe to its channel (and query the
  /// other nodes once subscribed) / unsubscribe. Counted: join twice, leave twice to unsubscribe.
  void join(const std::string& name);
  void leave(const std::string& name);

  /// Publishes what local peer `peer` of document `name` changed (an awareness update).
  void publish_update(const std::string& name, uint64_t peer, std::span<const uint8_t> update);

  /// This node's id (random, 16 hex digits), as it appears in its messages.
  const std::string& node_id() const { return node_id_; }
  /// `<prefix>:{<name>}:awareness`.
  std::string channel(const std::string& name) const;

  /// Counts a hostile message (see above). Any thread.
  void count_dropped() { dropped_.fetch_add(1, std::memory_order_relaxed); }

  // Counters (relaxed; io.stats()).
  std::atomic<uint64_t> answers{0};            // answers published (Queries, resyncs), per document
  std::atomic<uint64_t> queries_coalesced{0};  // Queries that shared an answer already scheduled
  std::atomic<uint64_t> resyncs{0};            // re-queries after the Subscriber reconnected

 private:
  void on_message(redis::Message&& message);
  void on_subscriber_state(redis::State state);
  void on_publisher_state(redis::State state);
  void resync();
  // Every joined document publishes its peers' states again (Document::awareness_query).
  void republish(const std::vector<std::string>& names);
  std::vector<std::string> joined_names();
  void publish_query(const std::string& name);

  boost::asio::io_context& ioc_;
  const std::string prefix_;
  const std::string node_id_;
  const FindDocument find_;
  std::atomic<uint64_t>& dropped_;
  std::unique_ptr<redis::Connection> publisher_;   // Commands role: PUBLISH
  std::unique_ptr<redis::Connection> subscriber_;  // Subscriber role: the documents' channels

  bool subscriber_was_ready_ = false;  // owner: the Subscriber's strand (its state handler)
  bool publisher_was_ready_ = false;   // owner: the publisher's strand (its state handler)
  std::atomic<bool> publisher_ready_{false};  // written by the publisher's state handler
  std::atomic<bool> flushing_{false};  // close_after_flush() was called

  // Subscriptions by document name (join count). Guarded by mu_, which is also held while the
  // (non-blocking) subscribe / unsubscribe calls are made, so they reach Redis in count order.
  std::mutex mu_;
  std::unordered_map<std::string, int> joined_;
};

}  // namespace collabio::core
