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
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace collabio::core {

struct Options {
  unsigned threads = 0;                 // 0: std::thread::hardware_concurrency()
  std::string path = "/socket.io/";     // Engine.IO endpoint, with trailing slash
  uint32_t ping_interval = 25000;       // ms, Engine.IO pingInterval
  uint32_t ping_timeout = 20000;        // ms, Engine.IO pingTimeout
  uint32_t connect_timeout = 45000;     // ms, Socket.IO connectTimeout: time to CONNECT a namespace
  uint64_t max_http_buffer_size = 1000000;  // bytes, Engine.IO maxPayload / largest client message
  uint32_t max_attachments = 10;        // binary attachments per Socket.IO packet
  uint64_t max_outbound_bytes = 64ull << 20;  // per connection; beyond it the connection is closed
  uint32_t handshake_timeout = 10000;   // ms to receive a complete HTTP request head
  std::string serve_static;             // directory served to plain GET requests ("" = none)
};

// What a client sent with its WebSocket upgrade; shared by every namespace socket of a connection.
struct Handshake {
  std::string url;       // request target, e.g. "/socket.io/?EIO=4&transport=websocket&x=1"
  std::string query;     // raw query string without '?'
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string address;   // remote IP address
  int64_t time_ms = 0;   // when the connection was accepted (Unix ms)
};

struct Event {
  enum Kind : uint8_t {
    kConnect = 1,        // Socket.IO CONNECT for `nsp`; data = auth JSON or ""
    kEvent = 2,          // EVENT/BINARY_EVENT; data = JSON array text; ack_id >= 0 if an ack is wanted
    kAck = 3,            // ACK/BINARY_ACK; data = JSON array text; ack_id = the id
    kNspDisconnect = 4,  // the client left `nsp` (DISCONNECT packet)
    kClose = 5,          // the connection closed; data = socket.io reason ("transport close", ...)
    kError = 6,          // a bad Socket.IO packet; data = the parser's message; a kClose follows
  };
  Kind kind;
  uint64_t conn = 0;
  std::string nsp;
  std::string data;
  int64_t ack_id = -1;
  std::vector<std::string> attachments;
  std::shared_ptr<const Handshake> handshake;  // set on kConnect
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

  // Moves every waiting event into `out` (appends). Any thread; normally the host's main thread.
  void drain_events(std::vector<Event>& out);

  // ---- Commands: any thread, executed in call order. `packet` is an Engine.IO text packet
  // ("42[...]"); `attachments` follow it as binary frames. Unknown connection ids are ignored. ----

  // Accepts (socket_id non-empty) or refuses a namespace CONNECT and sends `packet` as the reply.
  void connect_reply(uint64_t conn, std::string nsp, bool accepted, std::string packet);
  void send(uint64_t conn, std::string packet, std::vector<std::string> attachments);
  // Sends to every socket of `nsp` in any of `rooms` (all sockets of nsp if empty), except sockets in
  // `except_rooms`. `is_volatile` packets are dropped for connections whose queue is not empty.
  void broadcast(std::string nsp, std::vector<std::string> rooms, std::vector<std::string> except_rooms,
                 std::string packet, std::vector<std::string> attachments, bool is_volatile);
  void join(uint64_t conn, std::string nsp, std::vector<std::string> rooms);
  void leave(uint64_t conn, std::string nsp, std::string room);
  // Server-side namespace disconnect: sends `packet` (a DISCONNECT) if non-empty, forgets the
  // socket's rooms, and closes the whole connection when `close_connection`.
  void disconnect(uint64_t conn, std::string nsp, std::string packet, bool close_connection);

  // Starts a graceful shutdown: stop accepting, close every connection; EventSink::closed() follows.
  // Idempotent.
  void close();

  // Counters, readable from any thread.
  struct Stats {
    uint64_t connections = 0;
    uint64_t messages_in = 0;
    uint64_t messages_out = 0;
    uint64_t bytes_queued = 0;
  };
  Stats stats() const;

 private:
  std::shared_ptr<ServerImpl> impl_;
};

}  // namespace collabio::core
