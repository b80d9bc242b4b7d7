// The cluster adapter on Redis, wire-compatible with @socket.io/redis-adapter 8.x: its classic
// `createAdapter` (PUBLISH / PSUBSCRIBE) and its sharded `createShardedAdapter` (SPUBLISH /
// SSUBSCRIBE, "dynamic" subscription mode). Channel names and message formats: see
// socketio/redis_wire.h.
//
// What runs where
// - Broadcasts are the hot path and never enter JavaScript. A local broadcast is delivered by the
//   wrapped LocalAdapter and published once (unless `local`). A remote broadcast arrives on the
//   subscriber connection, is decoded, dropped when it is this server's own (uid), encoded once as
//   a Socket.IO packet and handed to the LocalAdapter on the command strand, which frames it once
//   for every local recipient.
// - Everything else on the channels (requests, responses, the sharded adapter's other messages,
//   broadcasts with acks) goes to the host as Event::kAdapterMessage, decoded to JSON text with
//   placeholders + attachments; the host answers through publish(). Server counting (PUBSUB NUMSUB
//   / SHARDNUMSUB) answers with Event::kAdapterReply.
// - A message that does not decode is dropped: counted in ServerImpl::adapter_bad_messages and
//   reported to the host as a kAdapterMessage of kind "bad" (logged under DEBUG), never a crash.
//
// Threads and ownership
// - Built, used and destroyed on the command strand (SocketIoServer owns it). `local_` belongs to
//   the SocketIoServer and outlives the adapter.
// - The two Redis connections run on the core's io_context, each on its own strand (redis/
//   connection.h); they reconnect with backoff, resubscribe, and log an outage once. Their message
//   handler runs on the subscriber's strand and posts broadcasts to the command strand through a
//   weak pointer, so a broadcast that arrives while the adapter is being replaced is dropped.
// - `channels_` (channel -> namespace) is written on the command strand and read by the message
//   handler: guarded by `channels_mu_`. `blocking_` is created and used on the command strand.
//   Everything else is const after construction.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "redis/connection.h"
#include "sio/adapter.h"
#include "sio/local_adapter.h"

namespace collabio::core {
class ServerImpl;
}

namespace collabio::sio {

struct RedisAdapterOptions {
  redis::Endpoint endpoint;
  redis::TlsOptions tls;          // used with rediss://
  std::string key = "socket.io";  // the classic adapter's `key`, the sharded one's `channelPrefix`
  bool sharded = false;
  std::string uid;  // this server's id on the channels (the host's adapters use the same)
};

class RedisAdapter final : public Adapter, public std::enable_shared_from_this<RedisAdapter> {
 public:
  // `server` and `local` outlive the adapter. Call start() once it is owned by a shared_ptr.
  RedisAdapter(core::ServerImpl& server, LocalAdapter& local, RedisAdapterOptions options);
  ~RedisAdapter() override;
  void start();

  void add_socket(const std::string& nsp, uint64_t conn) override { local_.add_socket(nsp, conn); }
  void remove_socket(const std::string& nsp, uint64_t conn) override { local_.remove_socket(nsp, conn); }
  void remove_connection(uint64_t conn) override { local_.remove_connection(conn); }
  void join(const std::string& nsp, uint64_t conn, const std::vector<std::string>& rooms) override {
    local_.join(nsp, conn, rooms);
  }
  void leave(const std::string& nsp, uint64_t conn, const std::string& room) override { local_.leave(nsp, conn, room); }
  // Delivered here, and published once unless `b.local`.
  void broadcast(const Broadcast& b) override;

  // ---- host commands (the command strand) ----
  // Namespace `nsp` joins / leaves the cluster: its channels are subscribed / unsubscribed.
  void set_namespace(const std::string& nsp, bool on);
  // Sharded mode: the channel of room `room` (a room that is not a socket id), subscribed while
  // the room exists here, as the sharded adapter's "dynamic" mode does. Ignored in classic mode.
  void set_room(const std::string& nsp, const std::string& room, bool on);
  // Publishes on `channel` (PUBLISH, or SPUBLISH when sharded): `json` as is, or, with `msgpack`,
  // encoded as notepack does with its placeholders replaced by `attachments`.
  void publish(const std::string& channel, const std::string& json, const std::vector<std::string>& attachments,
               bool msgpack);
  // Counts the servers of `nsp` (subscribers of its request channel, or of its sharded channel):
  // Event::kAdapterReply with ack_id = `id`, data = the count, or extra = the error.
  void server_count(const std::string& nsp, int64_t id);
  // Runs `args` on the command connection, or with `blocking` (XREAD BLOCK) on a third connection
  // that only the host's blocking reads use, so that they stall no publish. Event::kAdapterCommandReply
  // with ack_id = `id`: data = the reply as JSON (strings, integers, arrays, null; an error reply is
  // extra = its text). Strings are passed as bytes: the host stores only UTF-8 text.
  void command(std::vector<std::string> args, int64_t id, bool blocking);

 private:
  enum class ChannelKind : uint8_t { Broadcast, Request, Response, Message };
  struct Channel {
    std::string nsp;
    ChannelKind kind;
  };

  std::string prefix(const std::string& nsp) const { return options_.key + "#" + nsp + "#"; }
  // On the subscriber's strand.
  void on_message(redis::Message&& m);
  void on_classic_broadcast(const std::string& nsp, const std::string& payload);
  void on_sharded_message(const std::string& nsp, ChannelKind kind, const std::string& payload);
  void to_host(const std::string& nsp, const char* kind, const std::string& payload);
  void bad_message(const std::string& channel, const std::string& error);
  void deliver_remote(Broadcast b);
  void subscribe(redis::SubscriptionKind kind, std::vector<std::string> channels, const std::string& nsp,
                 ChannelKind channel_kind);
  void unsubscribe(redis::SubscriptionKind kind, std::vector<std::string> channels);

  core::ServerImpl& server_;
  LocalAdapter& local_;
  const RedisAdapterOptions options_;
  std::unique_ptr<redis::Connection> pub_;  // commands and PUBLISH / SPUBLISH
  std::unique_ptr<redis::Connection> sub_;  // subscriptions
  std::unique_ptr<redis::Connection> blocking_;  // the host's blocking reads; created on first use

  std::mutex channels_mu_;
  std::unordered_map<std::string, Channel> channels_;  // subscribed channel or pattern -> what it is; guarded
};

}  // namespace collabio::sio
