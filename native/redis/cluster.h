// A Redis Cluster client (https://redis.io/docs/reference/cluster-spec/): routes each command to
// the master that serves its key's slot, over one redis::Connection per master.
//
//   redis::ClusterOptions o;
//   redis::parse_url("redis://127.0.0.1:7000", o.node.endpoint, error);   // a seed node
//   auto cluster = std::make_unique<redis::ClusterClient>(ioc, o);
//   cluster->start();                                                      // CLUSTER SLOTS
//   cluster->command({"XADD", "collabio:{doc}:updates", "*", "u", bytes}, done);
//
// Routing
// - The slot map comes from CLUSTER SLOTS, asked of a seed (then of any known master). Commands
//   issued before it is known wait (at most node.max_queued of them; more fail with
//   Errc::queue_full) and go out once it is.
// - `MOVED slot host:port`: the slot's owner changed. The map takes the new owner at once, a
//   full CLUSTER SLOTS refresh follows (resharding moves slots in ranges), and the command is sent
//   again to the new owner.
// - `ASK slot host:port`: the slot is migrating and the key already left. The command is sent
//   to that node once, right behind ASKING on the same connection; the map does not change.
// - `TRYAGAIN` (a multi-key command whose keys are split by a migration in progress) and
//   `CLUSTERDOWN` (no quorum, a slot unserved during a failover): the command is sent again after
//   `retry_delay`, up to `max_retries` times; then the error reply goes to the caller.
// - At most `max_redirects` redirections per command; then the last error reply goes to the
//   caller (a map that keeps changing, or a misconfigured cluster).
// - Commands without a key (PING, PUBLISH, ...) go to any master.
// - A connection lost to a master fails its commands as Connection does (Errc::connection_lost:
//   the caller decides whether to retry) and refreshes the map, so a retry after a failover
//   reaches the promoted replica.
// Only masters are used: no reads from replicas (READONLY).
//
// Blocking commands (XREAD BLOCK) stall the connection they are sent on: `sibling()` gives a
// client with connections of its own that shares this one's slot map.
//
// Threads: as Connection. Every public method may be called from any thread; replies run on the
// client's strand, one at a time, and must not block. No handler runs once the destructor has
// returned.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "redis/connection.h"

namespace boost::asio {
class io_context;
}

namespace collabio::redis {

struct ClusterOptions {
  /// Options of every master's connection: credentials, TLS, queue bound, log. `node.endpoint` is
  /// the first seed; each master's connection takes its host and port from the slot map.
  Options node;
  /// More seeds, tried in turn when the slot map cannot be asked of the first one.
  std::vector<Endpoint> more_seeds;
  int max_redirects = 16;
  int max_retries = 100;
  std::chrono::milliseconds retry_delay{50};
};

class SlotMap;

class ClusterClient : public Client {
 public:
  ClusterClient(boost::asio::io_context& ioc, ClusterOptions options);
  ~ClusterClient() override;
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  void start() override;
  /// Closes every connection; waiting and unanswered commands fail with Errc::closed.
  void close() override;
  void command(std::vector<std::string> args, ReplyHandler done = {}) override;

  /// A new, not yet started client with connections of its own, sharing this one's slot map.
  std::unique_ptr<ClusterClient> sibling() const;

 private:
  ClusterClient(boost::asio::io_context& ioc, ClusterOptions options, std::shared_ptr<SlotMap> map);
  class Impl;
  boost::asio::io_context& ioc_;
  ClusterOptions options_;
  std::shared_ptr<SlotMap> map_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace collabio::redis
