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
//   Update per local peer holding states (Document::answer_awareness_query).
// - What a local peer changes (Document::awareness, the accepted part only) is published as an
//   Update from (this node, that peer); when the peer leaves, the removal of its states is too.
// - A node applies other nodes' Updates to its document's awareness, each remote peer as a
//   connection of its own (so the per-connection limits of yjs/awareness.h hold for remote
//   peers), and relays what changed to its own clients; it never republishes them.
// - A node that dies publishes nothing more: its clients' states are no longer renewed, and every
//   other node drops them by awareness's own outdated timeout (30 s, y-protocols outdatedTimeout;
//   checked every 10 s, so within 40 s), as do the clients themselves. No node heartbeat.
// - Messages this node published come back to it (pub/sub echoes): they are skipped by node id.
// - Hostile messages (anything may PUBLISH on the channel) are dropped and counted
//   (ServerImpl::cluster_awareness_dropped, io.stats().clusterAwarenessDropped): a message that
//   does not decode, an awareness update the registry refuses, or an Update from a remote peer
//   beyond kMaxRemotePeers for its document.
//
// Threads: every public method may be called from any thread. Messages arrive on the Subscriber
// connection's strand and are posted to the document's strand. Publishing never waits: a message
// that cannot be sent (Redis down, queue full) is lost, like any pub/sub message.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>

#include "redis/connection.h"

namespace boost::asio {
class io_context;
}

namespace collabio::core {

class Document;

class DocClusterAwareness {
 public:
  /// Remote peers (other nodes' connections) whose states one document keeps; more are dropped.
  static constexpr size_t kMaxRemotePeers = 10000;

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
  /// Closes both connections; later calls publish nothing. Safe to call twice.
  void close();

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

 private:
  void on_message(redis::Message&& message);
  void publish_query(const std::string& name);

  const std::string prefix_;
  const std::string node_id_;
  const FindDocument find_;
  std::atomic<uint64_t>& dropped_;
  std::unique_ptr<redis::Connection> publisher_;   // Commands role: PUBLISH
  std::unique_ptr<redis::Connection> subscriber_;  // Subscriber role: the documents' channels

  // Subscriptions by document name (join count). Guarded by mu_, which is also held while the
  // (non-blocking) subscribe / unsubscribe calls are made, so they reach Redis in count order.
  std::mutex mu_;
  std::unordered_map<std::string, int> joined_;
};

}  // namespace collabio::core
