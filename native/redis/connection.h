// An asynchronous Redis connection on the core's io_context (Boost.Asio), plain TCP or TLS.
//
//   redis::Options opts;
//   std::string error;
//   redis::parse_url("redis://app:pw@127.0.0.1:6379/2", opts.endpoint, error);
//   auto conn = std::make_shared<redis::Connection>(ioc, opts);
//   conn->start();
//   conn->command({"SET", "k", "v"}, [](std::error_code ec, redis::Reply r) { ... });
//
// Roles. A Commands connection pipelines commands: each reply goes, in order, to the handler of
// the command it answers. A Subscriber connection holds SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE
// subscriptions and hands every `message`, `pmessage` and `smessage` push to the message handler;
// after a reconnect it subscribes again to everything it held. Blocking commands (XREAD BLOCK,
// BLPOP) stall every command pipelined behind them, so they get a connection of their own:
// `duplicate()` opens another one with the same options.
//
// Connection life: start() resolves, connects (TLS handshake for rediss://, certificate and host
// name verified unless told otherwise), then sends AUTH (when the URL has a password) and SELECT
// (when the database is not 0). Only when those succeed is the connection Ready. When it is lost,
// it reconnects with exponential backoff (backoff_min doubling up to backoff_max). The log gets one
// line when an outage starts and one when it ends ("redis: connection lost to ... ; reconnecting",
// "redis: reconnected to ... after 2.1 s"), never one per attempt, and the URL in it is always
// `Endpoint::display()` (password masked).
//
// Commands and failures (at most once):
// - while Ready, commands are written at once (pipelined);
// - while connecting or reconnecting, up to `max_queued` commands wait and are written, in order,
//   once Ready; past that bound a command fails at once with Errc::queue_full;
// - commands written but unanswered when the connection is lost fail with Errc::connection_lost
//   (they may or may not have run; the caller decides whether to retry);
// - when AUTH or SELECT is refused (wrong password, no such database), the waiting commands fail
//   with Errc::handshake_failed, and new ones fail at once until a later attempt succeeds;
// - after close(), every command fails with Errc::closed.
// A Redis error reply (`-ERR ...`) is not an error_code: the handler gets Reply::Type::Error.
//
// Threads: every public method may be called from any thread (it posts to the connection's
// strand). All handlers (replies, messages, state) run on that strand, one at a time; they must
// not block. The connection's state lives in the Impl and is owned by that strand.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "redis/resp.h"
#include "redis/url.h"

namespace boost::asio {
class io_context;
}

namespace collabio::redis {

enum class Errc {
  queue_full = 1,    // disconnected, and max_queued commands already wait
  connection_lost,   // the command was written, the connection went before its reply
  handshake_failed,  // AUTH or SELECT was refused (see the log / state detail)
  closed,            // close() was called
  wrong_role,        // a subscription call on a Commands connection
};
const std::error_category& error_category();
inline std::error_code make_error_code(Errc e) { return {static_cast<int>(e), error_category()}; }

enum class Role { Commands, Subscriber };

struct TlsOptions {
  /// PEM file of the certificate authorities to trust; empty: the system's default paths.
  std::string ca_file;
  /// PEM files of a client certificate and its key, for servers with `tls-auth-clients yes`.
  std::string cert_file;
  std::string key_file;
  /// Verify the server's certificate chain and that it names the host (or `server_name`).
  bool verify = true;
  /// Name for SNI and verification; empty: the URL's host.
  std::string server_name;
};

enum class State { Connecting, Ready, Disconnected, HandshakeFailed, Closed };

struct Options {
  Endpoint endpoint;
  TlsOptions tls;
  Role role = Role::Commands;
  /// Commands held while not Ready; more fail with Errc::queue_full.
  size_t max_queued = 10000;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds backoff_min{100};
  std::chrono::milliseconds backoff_max{5000};
  /// CLIENT SETNAME after connecting, when not empty.
  std::string client_name;
  /// Receives whole log lines without a newline. Default: standard error.
  std::function<void(std::string_view line)> log;
  /// Every state change, with a reason for Disconnected and HandshakeFailed (never a password).
  std::function<void(State, std::string_view detail)> on_state;
};

enum class SubscriptionKind { Channel, Pattern, Shard };

/// A pushed message: `pattern` is set only for Pattern subscriptions (pmessage).
struct Message {
  SubscriptionKind kind = SubscriptionKind::Channel;
  std::string pattern;
  std::string channel;
  std::string payload;
};

using ReplyHandler = std::function<void(std::error_code, Reply)>;
using MessageHandler = std::function<void(Message&&)>;
/// Called once the server confirmed every channel of the call (after a reconnect: once the
/// resubscription confirmed them). An error_code or an Error reply text when it failed.
using SubscribeHandler = std::function<void(std::error_code, std::string_view error_reply)>;

/// What a user of Redis commands needs, whether one server (Connection) or a Redis Cluster
/// (ClusterClient, redis/cluster.h) answers them. Same contracts as Connection's methods.
class Client {
 public:
  virtual ~Client() = default;
  virtual void start() = 0;
  virtual void close() = 0;
  virtual void command(std::vector<std::string> args, ReplyHandler done = {}) = 0;
};

class Connection : public Client {
 public:
  Connection(boost::asio::io_context& ioc, Options options);
  /// Closes the connection. No handler (reply, message, subscription, state, log) runs once the
  /// destructor has returned: unanswered commands are dropped without a call. (It waits for a
  /// handler running on another thread; it may be called from inside a handler.)
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Starts connecting. Calling it twice has no effect.
  void start() override;
  /// Closes the socket and stops reconnecting; waiting and unanswered commands fail with
  /// Errc::closed. Safe to call twice.
  void close() override;

  /// Sends one command (arguments as bulk strings). `done` may be empty.
  void command(std::vector<std::string> args, ReplyHandler done = {}) override;

  /// Subscriber role: the handler for every pushed message. Set it before start().
  void on_message(MessageHandler handler);
  /// Subscriber role: adds subscriptions, kept across reconnects. `done` may be empty.
  void subscribe(SubscriptionKind kind, std::vector<std::string> channels, SubscribeHandler done = {});
  void unsubscribe(SubscriptionKind kind, std::vector<std::string> channels, SubscribeHandler done = {});

  /// A new, not yet started connection with the same options (and `role`), e.g. for XREAD BLOCK.
  std::unique_ptr<Connection> duplicate(Role role = Role::Commands) const;

  /// The endpoint for logs: Endpoint::display().
  std::string display() const;

 private:
  class Impl;
  boost::asio::io_context& ioc_;
  Options options_;
  std::shared_ptr<Impl> impl_;
};

}  // namespace collabio::redis

namespace std {
template <>
struct is_error_code_enum<collabio::redis::Errc> : true_type {};
}  // namespace std
