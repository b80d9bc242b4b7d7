// The transport core's public face: a server that runs Boost.Asio on its own threads, speaks
// Engine.IO v4 / Socket.IO v5 over WebSocket and y-websocket for documents, and talks to its host
// (the Node addon, a test, a benchmark) through a queue of Events and a set of commands.
//
// This header includes no Asio or Beast so that the addon translation unit stays light; the
// implementation lives in server_impl.h and the .cpp files beside it.
//
// Threads and ownership
// - I/O threads (Options::threads) run every socket. Each connection is driven by its own strand.
// - Commands (send, broadcast, join, ...) may be called from any thread; they are executed in call
//   order on one "command strand", which owns the room registry. Per-connection outbound queues are
//   guarded by the connection's own mutex so a fan-out never waits for a busy socket.
// - Events for the host accumulate in one mutex-guarded queue; EventSink::notify() is called when the
//   queue goes from empty to non-empty, and the host drains the whole batch with drain_events().
//   What a client sent counts against its inbound budget until the host calls events_handled():
//   a connection over its share is not read meanwhile (backpressure).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/host_protocol.h"
#include "core/ws_deflate.h"

namespace collabio::core {

// Collaborative documents (y-websocket at ws://host:port/<name>); see native/core/documents.h.
struct DocumentOptions {
  bool enabled = true;
  uint32_t unload_delay_ms = 10000;       // after the last connection / handle leaves
  uint64_t max_message = 64ull << 20;     // bytes in one y-websocket message (update); larger closes 1009
  bool authorize = false;                 // ask the host (Event::kDocAuth) before serving a connection
  uint32_t keepalive_ms = 30000;          // WebSocket ping period; no pong by the next one closes
  uint32_t update_debounce_ms = 50;       // batching of Event::kDocUpdate
  uint32_t relay_interval_ms = 2;         // a document's relays at least this far apart; merged between
  size_t compact_after_entries = 500;     // store log entries that trigger a compaction
  uint64_t compact_after_bytes = 8ull << 20;
  size_t max_documents = 100000;          // loaded at once; more are refused (close 1013)
  std::string hocuspocus_path;            // Hocuspocus providers connect here ("" = not served)
  size_t max_documents_per_connection = 100;  // Hocuspocus documents on one socket; more close 1008
  size_t max_name_bytes = 1024;           // a Hocuspocus document address longer than this closes 1008
  std::string persistence_path;           // SQLite file; "" = in memory only
  bool durability_full = true;            // PRAGMA synchronous FULL (else NORMAL)
  bool host_persistence = false;          // the host loads documents (Event::kDocLoad) and watches
                                          // every document's updates (Event::kDocUpdate) to store them
  ws::DeflateOptions per_message_deflate; // off by default, as y-websocket's server (ws defaults)
  // Cluster mode (issue 21; native/core/doc_replication.h): replicas kept in step through Redis
  // Streams. "" = single node.
  std::string redis_url;
  std::string redis_prefix = "collabio";
  size_t redis_max_queued = 10000;        // appends held while Redis is unreachable; more refused (1013)
  uint64_t redis_trim_window_ms = 60000;  // stream entries kept behind the snapshot
  std::string redis_tls_ca;               // PEM file of CAs for rediss:// ("" = system default)
  bool redis_tls_verify = true;
  bool redis_cluster = false;              // redis_url (and redis_nodes) are seeds of a Redis Cluster
  std::vector<std::string> redis_nodes;    // more seed nodes of the cluster
};

// CORS for the Engine.IO endpoint and the served client bundle, as the `cors` package that
// engine.io uses: applied only when `enabled`.
struct CorsOptions {
  bool enabled = false;
  enum class Origin { Any, Reflect, Fixed, List } origin = Origin::Any;  // "*", true, "x", [..]/RegExp
  std::string fixed;                    // Origin::Fixed
  std::vector<std::string> allowed;     // Origin::List: exact origins
  std::vector<std::string> patterns;    // Origin::List: ECMAScript regular expressions
  std::string methods = "GET,HEAD,PUT,PATCH,POST,DELETE";
  std::string allowed_headers;          // "" = echo Access-Control-Request-Headers
  std::string exposed_headers;
  bool credentials = false;
  int64_t max_age = -1;                 // seconds; -1 = no header
};

struct EngineOptions {
  bool polling = true;                  // transports: 'polling'
  bool websocket = true;                // transports: 'websocket'
  uint32_t upgrade_timeout = 10000;     // ms for a probe to send the upgrade packet
  std::string cookie_name;              // "" = no cookie; else Set-Cookie: <name>=<sid><cookie_attributes>
  std::string cookie_attributes;        // e.g. "; Path=/; HttpOnly; SameSite=Lax"
  std::string client_dir;               // serveClient: socket.io-client's dist directory ("" = off)
  std::string client_etag;              // quoted ETag of the client files, e.g. "\"4.8.1\""
  CorsOptions cors;
  ws::DeflateOptions per_message_deflate;  // perMessageDeflate: off by default, as in socket.io 4
  // Conformance testing only: Engine.IO message packets are echoed instead of read as Socket.IO
  // (the setup docs/engine.io-protocol/v4-test-suite expects).
  bool echo = false;
};

// Standalone TLS (native/core/tls_front.cpp): PEM text, as Node's tls.createSecureContext takes it.
struct TlsOptions {
  std::string key;          // private key; "" = no TLS
  std::string cert;         // certificate chain
  std::string ca;           // extra CA certificates for the chain (optional)
  std::string passphrase;   // for an encrypted key (optional)
  bool enabled() const { return !key.empty() || !cert.empty(); }
};

// Server::listen() with Options::tls: the key, certificate or passphrase is not usable.
struct TlsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  unsigned threads = 0;                 // 0: std::thread::hardware_concurrency()
  std::string path = "/socket.io/";     // Engine.IO endpoint, with trailing slash
  uint32_t ping_interval = 25000;       // ms, Engine.IO pingInterval
  uint32_t ping_timeout = 20000;        // ms, Engine.IO pingTimeout
  uint32_t connect_timeout = 45000;     // ms, Socket.IO connectTimeout: time to CONNECT a namespace
  uint64_t max_http_buffer_size = 1000000;  // bytes, Engine.IO maxPayload / largest client message
  uint32_t max_attachments = 10;        // binary attachments per Socket.IO packet
  uint64_t max_outbound_bytes = 64ull << 20;  // per connection; beyond it the connection is closed
  // Inbound backpressure (native/core/inbound_budget.h, docs/LIMITS.md): what a connection has sent
  // that is not yet handled (events waiting for the host; document messages not yet integrated
  // and stored). A connection over its share stops being read until it is drained.
  uint64_t max_inbound_bytes = 1ull << 20;         // per connection; 0 = no limit
  uint64_t max_inbound_events = 1000;              // messages per connection; 0 = no limit
  uint64_t max_inbound_bytes_total = 16ull << 20;  // over all connections (events and documents
                                                   // each); 0 = no limit
  uint32_t handshake_timeout = 10000;   // ms to receive a complete HTTP request head
  // Shutdown (close()): how long a connection may take to receive what is queued for it and to
  // answer the close handshake before its socket is dropped. Bounds close() against peers that
  // never read.
  uint32_t close_timeout = 5000;
  // Admission at accept (native/core/limits.h, docs/LIMITS.md). At max_connections open connections
  // (Stats::connections) a new TCP connection is answered 503; over the per-IP token bucket, 429.
  uint64_t max_connections = 100000;    // 0 = no cap
  double connection_rate = 100;         // new TCP connections per second per remote IP (0 = off)
  double connection_burst = 200;        // bucket size: connections one IP may open at once
  bool rate_limit_loopback = false;     // also limit 127.0.0.0/8 and ::1 (e.g. behind a local proxy: off)
  std::string serve_static;             // directory served to plain GET requests ("" = none)
  TlsOptions tls;                       // listen(): every accepted connection speaks TLS
  DocumentOptions documents;
  EngineOptions engine;                 // Engine.IO transports, CORS, cookie, client bundle
};

// The request that opened a connection (the WebSocket upgrade, or the Engine.IO polling handshake);
// shared by every namespace socket of a connection. Every open connection keeps one, so the
// headers are packed into one string rather than a vector of string pairs (~650 bytes -> ~300 for
// five headers).
// A request target split at its first '?': "/socket.io/?EIO=4&x=1" gives path "/socket.io/" and
// query "EIO=4&x=1" (empty when there is no '?'). Views into `target`.
struct RequestTarget {
  std::string_view path;
  std::string_view query;
};
inline RequestTarget split_target(std::string_view target) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return {target, {}};
  return {target.substr(0, q), target.substr(q + 1)};
}

struct Handshake {
  std::string url;       // request target, e.g. "/socket.io/?EIO=4&transport=websocket&x=1"
  std::string address;   // remote IP address
  int64_t time_ms = 0;   // when the connection was accepted (Unix ms)
  bool secure = false;   // the request came over TLS (socket.handshake.secure)

  // Raw query string without '?'.
  std::string_view query() const { return split_target(url).query; }

  // Adds a header (name lower-cased by the caller), in request order. Each part is stored with a
  // 16-bit length, so a part longer than 65535 bytes is cut there (request heads are far smaller).
  void add_header(std::string_view name, std::string_view value) {
    put(name);
    put(value);
  }
  // Calls f(name, value) for every header in request order.
  template <class F>
  void for_each_header(F&& f) const {
    size_t at = 0;
    while (at < headers_.size()) {
      const std::string_view name = take(at);
      const std::string_view value = take(at);
      f(name, value);
    }
  }
  // Returns the spare capacity once every header is added.
  void shrink() { headers_.shrink_to_fit(); }

 private:
  void put(std::string_view part) {
    const size_t n = std::min<size_t>(part.size(), 0xffff);
    headers_.push_back(static_cast<char>(n & 0xff));
    headers_.push_back(static_cast<char>(n >> 8));
    headers_.append(part.data(), n);
  }
  std::string_view take(size_t& at) const {
    const size_t n = static_cast<uint8_t>(headers_[at]) | static_cast<size_t>(static_cast<uint8_t>(headers_[at + 1])) << 8;
    const std::string_view part = std::string_view(headers_).substr(at + 2, n);
    at += 2 + n;
    return part;
  }

  std::string headers_;  // per header: 2-byte length (little endian), name, 2-byte length, value
};

// A connection the host accepted and hands to the core (attached mode: the application's own
// http.Server accepts, see docs/architecture.md "Attached mode").
struct AdoptOptions {
  std::string address;          // remote IP address as the host saw it; "" = ask the socket
  bool secure = false;          // the host terminated TLS for it (Handshake::secure)
  // After the first response that is not a WebSocket upgrade the connection is closed rather than
  // read again: later requests on it belong to the host's application, not to the core.
  bool single_request = true;
};

// One thing for the host to handle. What each field holds depends on the kind: see EventKinds
// (host_protocol.h), which is also how JavaScript receives it. Events are built only through the
// named constructors below, one per kind (or per variant of a kind), whose parameters say what
// each field holds; the fields stay public for the consumers that read them by slot.
struct Event : EventKinds {
  Kind kind = kEvent;
  uint64_t conn = 0;
  std::string nsp;
  std::string data;
  int64_t ack_id = -1;
  std::vector<std::string> attachments;
  std::shared_ptr<const Handshake> handshake;  // set on kConnect, kDocAuth, kHandshake, kConnectionError
  std::string extra;
  // kDocUpdate: the inbound holds (InboundBudget::hold) of the document messages whose updates this
  // event carries, or null. drain_events() takes it, and events_handled() lets it go: the senders
  // stay charged until the host has run the batch (docs/LIMITS.md, "Inbound backpressure").
  std::shared_ptr<void> hold;

  Event() = default;

  // ---- Socket.IO (lib/server.js) ----
  // A CONNECT to namespace `nsp` on Engine.IO session `session`, with the auth payload as JSON text
  // ("" when none).
  static Event connect(uint64_t session, std::string nsp, std::string auth_json,
                       std::shared_ptr<const Handshake> request_head) {
    return Event(kConnect, session, std::move(nsp), std::move(auth_json), -1, {}, std::move(request_head));
  }
  // An EVENT/BINARY_EVENT: `args_json` is the JSON array text (placeholders index `attachments`,
  // filled in afterwards for a BINARY_EVENT); `ack_id` >= 0 when the client wants an ack, else -1.
  static Event client_event(uint64_t session, std::string nsp, std::string args_json, int64_t ack_id) {
    return Event(kEvent, session, std::move(nsp), std::move(args_json), ack_id);
  }
  // An ACK/BINARY_ACK answering the server's ack `ack_id`.
  static Event client_ack(uint64_t session, std::string nsp, std::string args_json, int64_t ack_id) {
    return Event(kAck, session, std::move(nsp), std::move(args_json), ack_id);
  }
  // The client left namespace `nsp` (a DISCONNECT packet).
  static Event namespace_disconnect(uint64_t session, std::string nsp) {
    return Event(kNspDisconnect, session, std::move(nsp));
  }
  // Session `session` closed; `reason` as socket.io names it ("transport close", ...).
  static Event close(uint64_t session, std::string reason) {
    return Event(kClose, session, {}, std::move(reason));
  }
  // A bad Socket.IO packet; `message` is the parser's. A close() follows.
  static Event packet_error(uint64_t session, std::string message) {
    return Event(kError, session, {}, std::move(message));
  }

  // ---- Documents (lib/documents.js) ----
  // A y-websocket connection asks to be served `document`.
  static Event doc_auth(uint64_t conn, std::string document, std::shared_ptr<const Handshake> request_head) {
    return Event(kDocAuth, conn, std::move(document), {}, -1, {}, std::move(request_head));
  }
  // A Hocuspocus connection's Auth message for `document` (its `address` as the provider names it;
  // `peer`: the id its stateless messages carry).
  static Event doc_auth_hocuspocus(uint64_t conn, std::string document, std::string token, uint64_t peer,
                                   std::string address, std::shared_ptr<const Handshake> request_head) {
    return Event(kDocAuth, conn, std::move(document), std::move(token), static_cast<int64_t>(peer), {},
                 std::move(request_head), std::move(address));
  }
  // `document` is now loaded (or loading).
  static Event doc_create(std::string document) { return Event(kDocCreate, 0, std::move(document)); }
  // `document` was unloaded from memory.
  static Event doc_unload(std::string document) { return Event(kDocUnload, 0, std::move(document)); }
  // Host persistence: load `document` and answer with Server::doc_loaded().
  static Event doc_load(std::string document) { return Event(kDocLoad, 0, std::move(document)); }
  // The last connection of `document` left (it unloads after unload_delay).
  static Event doc_idle(std::string document) { return Event(kDocIdle, 0, std::move(document)); }
  // `document`'s updates since the last kDocUpdate, in order (batched by update_debounce_ms).
  static Event doc_update(std::string document, std::vector<std::string> updates) {
    return Event(kDocUpdate, 0, std::move(document), {}, -1, std::move(updates));
  }
  // The answer to Server::doc_request `request` on `document`: `error` ("" when none), a binary
  // and/or a text result.
  static Event reply(int64_t request, std::string document, std::string error, std::vector<std::string> binary = {},
                     std::string text = {}) {
    return Event(kReply, 0, std::move(document), std::move(error), request, std::move(binary), nullptr,
                 std::move(text));
  }
  // A Hocuspocus stateless message from `peer` of `document`.
  static Event doc_stateless(uint64_t peer, std::string document, std::string payload) {
    return Event(kDocStateless, peer, std::move(document), std::move(payload));
  }

  // ---- Engine.IO (lib/engine.js) ----
  // A new Engine.IO session waits for Server::handshake_reply(request, ...).
  static Event handshake_request(uint64_t request, std::string transport, std::string method,
                                 std::shared_ptr<const Handshake> request_head) {
    return Event(kHandshake, request, std::move(transport), std::move(method), -1, {}, std::move(request_head));
  }
  // An Engine.IO request was refused with `code` (engineio::ErrorCode).
  static Event connection_error(std::string method, int code, std::string message, std::string context_json,
                                std::shared_ptr<const Handshake> request_head) {
    return Event(kConnectionError, 0, std::move(method), std::move(message), code, {}, std::move(request_head),
                 std::move(context_json));
  }
  // Session `session` now runs over `transport`.
  static Event upgrade(uint64_t session, std::string transport) {
    return Event(kUpgrade, session, {}, std::move(transport));
  }

  // ---- The core (lib/server.js) ----
  // A failure handled with no client to tell; `code` names it (COLLABIO_COMPACTION_FAILED, ...).
  static Event warning(std::string what, std::string code) {
    return Event(kWarning, 0, {}, std::move(what), -1, {}, nullptr, std::move(code));
  }

  // ---- The Redis adapter (lib/redis-adapter.js) ----
  // A message from the cluster for namespace `nsp`: `json` with placeholders indexing `binary`;
  // `type` is "request" | "response" (classic) or "message" | "response" (sharded).
  static Event adapter_message(std::string nsp, std::string json, std::vector<std::string> binary,
                               std::string type) {
    return Event(kAdapterMessage, 0, std::move(nsp), std::move(json), -1, std::move(binary), nullptr,
                 std::move(type));
  }
  // A message dropped (received on `channel`, or one the host asked to publish: channel ""),
  // and why.
  static Event adapter_bad_message(std::string channel, std::string why) {
    return Event(kAdapterMessage, 0, std::move(channel), std::move(why), -1, {}, nullptr, "bad");
  }
  // The answer to Server::adapter_server_count `request` for `nsp`: the count as decimal text, or
  // `error` (then `count` is "").
  static Event adapter_reply(int64_t request, std::string nsp, std::string count, std::string error = {}) {
    return Event(kAdapterReply, 0, std::move(nsp), std::move(count), request, {}, nullptr, std::move(error));
  }
  // The answer to Server::adapter_command `request`: the reply as JSON text, or `error` (then
  // `reply_json` is "").
  static Event adapter_command_reply(int64_t request, std::string reply_json, std::string error = {}) {
    return Event(kAdapterCommandReply, 0, {}, std::move(reply_json), request, {}, nullptr, std::move(error));
  }

 private:
  // Positional: private, so that every producer names what it fills (the table in host_protocol.h).
  Event(Kind k, uint64_t c, std::string n, std::string d = {}, int64_t ack = -1, std::vector<std::string> atts = {},
        std::shared_ptr<const Handshake> hs = nullptr, std::string x = {})
      : kind(k), conn(c), nsp(std::move(n)), data(std::move(d)), ack_id(ack), attachments(std::move(atts)),
        handshake(std::move(hs)), extra(std::move(x)) {}
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Called from any thread when events are waiting. Must not call back into the Server.
  virtual void notify() = 0;
  // Called once from an I/O thread after close() finished: every socket closed, port released.
  virtual void closed() = 0;
};

class ServerImpl;

class Server {
 public:
  // `sink` must outlive the Server.
  Server(Options options, EventSink* sink);
  ~Server();  // closes (if needed) and joins the threads
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  struct Address {
    std::string address;
    std::string family;  // "IPv4" or "IPv6"
    uint16_t port = 0;
  };
  // Binds, listens and starts the I/O threads. Throws std::system_error (e.g. EADDRINUSE).
  Address listen(const std::string& host, uint16_t port);

  // Attached mode: starts the I/O threads without a listening socket; connections arrive through
  // adopt() and relay(). Throws like listen() (document store), or if already started.
  void start();
  // Serves a TCP connection the host accepted as if the core had accepted it. `fd` is a descriptor
  // the core owns from this call on (the host passes a dup() of its own), closed on every path,
  // errors included. `prefix` holds the bytes the host already read from it: the request head as
  // received and anything after it. Returns false (fd closed) when the server is not running.
  bool adopt(int fd, std::string prefix, AdoptOptions options);
  // A connection relayed through the host: creates a socket pair, serves one end like an accepted
  // connection that first sent `prefix`, and returns the other end, which the caller owns. For
  // what the core cannot adopt: a TLS socket the host terminates, a long-polling request from the
  // host's `request` event. Throws std::system_error (socketpair failed or not running).
  int relay(std::string prefix, AdoptOptions options);

  // Moves every waiting event into `out` (appends). Any thread; normally the host's main thread.
  // The drained events still count against their connections' inbound budgets (Options::
  // max_inbound_*) until events_handled(): a host that drains must call it once it has handled
  // them, or the connections over their share are never read again.
  // `max_bytes` bounds one drain (at least one event is taken; ServerImpl::inbound_cost counts):
  // returns true when events are still waiting, and then no notify() comes for them.
  bool drain_events(std::vector<Event>& out, uint64_t max_bytes = UINT64_MAX);
  // Every event drained so far has been handled: their connections' budgets are released (and the
  // holds of the documents' updates, Event::hold), and the connections paused for them read
  // again. Same thread as drain_events().
  void events_handled();

  // ---- Commands: any thread, executed in call order. `packet` is a Socket.IO packet in its text
  // encoding ("2[...]"; the Engine.IO layer adds its message prefix); `attachments` follow it as
  // binary messages. Unknown connection ids are ignored. ----

  // Accepts (socket_id non-empty) or refuses a namespace CONNECT and sends `packet` as the reply.
  void connect_reply(uint64_t conn, std::string nsp, bool accepted, std::string packet);
  // `compress` false: never permessage-deflate compressed (socket.io's compress(false)).
  void send(uint64_t conn, std::string packet, std::vector<std::string> attachments, bool compress = true);
  // Sends to every socket of `nsp` in any of `rooms` (all sockets of nsp if empty), except sockets in
  // `except_rooms`. `is_volatile` packets are dropped for connections whose queue is not empty.
  // `local`: only this server's sockets; a cluster adapter does not publish it (io.local).
  void broadcast(std::string nsp, std::vector<std::string> rooms, std::vector<std::string> except_rooms,
                 std::string packet, std::vector<std::string> attachments, bool is_volatile, bool compress = true,
                 bool local = false);
  void join(uint64_t conn, std::string nsp, std::vector<std::string> rooms);
  void leave(uint64_t conn, std::string nsp, std::string room);
  // Server-side namespace disconnect: sends `packet` (a DISCONNECT) if non-empty, forgets the
  // socket's rooms, and closes the whole connection when `close_connection`.
  void disconnect(uint64_t conn, std::string nsp, std::string packet, bool close_connection);

  // ---- The cluster adapter (native/sio/redis_adapter.h) ----
  // From the next command on, rooms and broadcasts go through a Redis adapter (`url` redis:// or
  // rediss://, `key` the channel prefix, `sharded` SPUBLISH/SSUBSCRIBE, `uid` this server's id on
  // the channels); the rooms kept so far stay. Throws std::invalid_argument for a malformed URL
  // (the message never quotes it). An empty `url` goes back to the local adapter.
  struct RedisAdapterOptions {
    std::string url;
    std::string key = "socket.io";
    bool sharded = false;
    std::string uid;
    // rediss:// only: PEM files of the CAs to trust ("" = the system's), of a client certificate
    // and its key; whether to verify the server's chain and name, and the name ("" = the URL's host).
    std::string tls_ca_file, tls_cert_file, tls_key_file, tls_server_name;
    bool tls_verify = true;
  };
  void set_redis_adapter(RedisAdapterOptions options);
  // Namespace `nsp` joins / leaves the cluster (its channels are subscribed / unsubscribed).
  void adapter_namespace(std::string nsp, bool on);
  // Sharded mode: a room that is not a socket id exists here / no longer (its channel).
  void adapter_room(std::string nsp, std::string room, bool on);
  // Publishes `json` (or, with `msgpack`, its notepack encoding with `attachments` inline) on `channel`.
  void adapter_publish(std::string channel, std::string json, std::vector<std::string> attachments, bool msgpack);
  // Counts the servers of `nsp`: answered by an Event::kAdapterReply with ack_id = `id`.
  void adapter_server_count(std::string nsp, int64_t id);
  // Runs one Redis command on the adapter's connection (`blocking`: on a connection of its own, for
  // XREAD BLOCK): answered by an Event::kAdapterCommandReply with ack_id = `id`.
  void adapter_command(std::vector<std::string> args, int64_t id, bool blocking);

  // ---- Documents ----
  // Answers a kDocAuth with a DocAuthMode (host_protocol.h; `reason` is sent on a refusal).
  // `address` is the event's `extra` (a Hocuspocus connection's document address; "" for
  // y-websocket).
  void doc_auth(uint64_t conn, int mode, std::string reason, std::string address = {});
  // Sends a Hocuspocus stateless message to peer `peer` of document `name`, or to all its peers
  // when 0 (y-websocket peers have no such message and ignore it).
  void doc_stateless(std::string name, uint64_t peer, std::string payload);
  // Runs `op` on document `name` (loading it if needed); the answer is an Event::kReply with
  // ack_id = req_id. With `hold`, the document stays loaded until doc_release(name).
  void doc_request(std::string name, std::string op, std::string arg, int64_t req_id, bool hold);
  void doc_release(std::string name);
  // Host persistence: the stored state of `name` (error non-empty: the load failed and every
  // connection waiting for the document is closed with it).
  void doc_loaded(std::string name, std::string state, std::string error);

  // ---- Engine.IO ----
  // Answers a kHandshake: `error` kHandshakeAllowed (host_protocol.h) accepts, else an Engine.IO
  // error code (engineio::ErrorCode; Forbidden -> 403) with `message`. Headers are flat name/value
  // lists: `initial_headers` go on the handshake response, `headers` on it and on every later
  // response of the session.
  void handshake_reply(uint64_t request, int error, std::string message, std::vector<std::string> initial_headers,
                       std::vector<std::string> headers);
  // While set, every new Engine.IO session waits for handshake_reply (allowRequest, header hooks).
  void set_handshake_hook(bool on);
  size_t documents_loaded() const;

  // Starts a graceful shutdown: stop accepting, close every connection; EventSink::closed() follows.
  // Idempotent. A command like the others: what was issued before it is still sent.
  void close();

  // While a CommandBatch lives, the commands this thread issues (connect_reply ... disconnect,
  // close) are kept and handed to the I/O threads as one handler, in call order, when it ends.
  // The host opens one around each event batch it delivers: a batch of replies then costs one
  // wake-up of an I/O thread instead of one per reply. Commands from other threads are not held.
  // Batches on one thread nest (the outermost one submits).
  class CommandBatch {
   public:
    explicit CommandBatch(Server& server);
    ~CommandBatch();
    CommandBatch(const CommandBatch&) = delete;
    CommandBatch& operator=(const CommandBatch&) = delete;

   private:
    ServerImpl* impl_;  // null when nested in an outer batch of this thread
  };

  // Counters, readable from any thread.
  struct Stats {
    uint64_t connections = 0;
    uint64_t messages_in = 0;
    uint64_t messages_out = 0;
    uint64_t bytes_queued = 0;
    uint64_t engine_clients = 0;  // open Engine.IO sessions (io.engine.clientsCount)
    uint64_t accept_errors = 0;   // failed accepts (EMFILE, ENFILE, ENOBUFS, ...) since start
    uint64_t compaction_errors = 0;   // failed compactions of a document's stored log
    uint64_t handler_exceptions = 0;  // exceptions that escaped an I/O handler (a bug; logged)
    uint64_t forced_shutdowns = 0;    // close() stopped I/O threads that still had work (a bug; logged)
    // Cluster mode for documents (zero in single-node mode).
    uint64_t stream_appends = 0;         // updates appended (XADD acknowledged)
    uint64_t stream_appends_refused = 0; // edits refused past the queue bound, and failed appends
    uint64_t stream_entries_read = 0;    // entries the reader delivered (all nodes')
    uint64_t stream_bad_entries = 0;     // entries that did not decode, dropped
    uint64_t stream_compactions = 0;     // snapshots written by this node
    uint64_t stream_reloads = 0;         // documents reloaded (connection lost, or position trimmed)
    uint64_t stream_bootstraps = 0;      // documents read from persistence because Redis lacked them
    uint64_t stream_seeds = 0;           // of those, the ones this node's state seeded into Redis
    uint64_t stream_restores = 0;        // reloads that found Redis lacking what the replica held
    uint64_t stream_trimmed_reloads = 0; // of stream_reloads: the reader's position had been trimmed
    // Inbound backpressure (Options::max_inbound_*).
    uint64_t inbound_bytes = 0;        // bytes of client events waiting for the host (drained or not)
    uint64_t inbound_events = 0;       // those events
    uint64_t document_inbound_bytes = 0;  // document messages received and not yet integrated/stored
    uint64_t paused_connections = 0;   // connections not read now because they are over their share
    uint64_t inbound_pauses = 0;       // times a connection was paused, since start
    uint64_t adapter_bad_messages = 0;  // cluster messages dropped because they did not decode
    uint64_t cluster_awareness_dropped = 0;  // hostile awareness messages from Redis pub/sub
    uint64_t cluster_awareness_answers = 0;  // answers to other nodes' awareness Queries (per document)
    uint64_t cluster_awareness_queries_coalesced = 0;  // Queries that shared an answer (rate limit)
    uint64_t cluster_awareness_resyncs = 0;  // re-queries after the awareness Subscriber reconnected
  };
  Stats stats() const;

 private:
  std::shared_ptr<ServerImpl> impl_;
};

}  // namespace collabio::core
