// Internals of the transport core. Included only by native/core/*.cpp (Asio and Beast templates are
// heavy; keeping them out of other translation units keeps rebuilds short).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "core/eio_upper.h"
#include "core/inbound_budget.h"
#include "core/limits.h"
#include "core/server.h"
#include "core/ws_frame.h"
#include "sio/adapter.h"

namespace collabio::sio {
class SocketIoServer;
}

namespace collabio::core {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using Strand = net::strand<net::io_context::executor_type>;

class Connection;
class EioConnection;
class EioRegistry;
class WsConnection;
class DocumentManager;
class HttpSession;
class TlsContext;

// Defined in native/core/tls_front.cpp (the only translation unit with OpenSSL and Asio's ssl).
// Throws TlsError with OpenSSL's reason for a bad key or certificate.
std::shared_ptr<TlsContext> make_tls_context(const TlsOptions& options);

// Defined in native/core/eio_registry.cpp (keeps that header out of this one).
std::shared_ptr<EioRegistry> make_eio_registry();

// The transport: threads, listener, HTTP and the connection table, the command strand and the event
// queue. Socket.IO (clients, namespaces, rooms, adapters) is the module in native/sio, which
// reaches connections through this class as its sio::Delivery.
class ServerImpl : public std::enable_shared_from_this<ServerImpl>, public sio::Delivery {
 public:
  ServerImpl(Options options, EventSink* sink);
  ~ServerImpl();

  Server::Address listen(const std::string& host, uint16_t port);
  // Attached mode (native/core/adopt.cpp): threads without an acceptor; see Server::start().
  void start();
  bool adopt(int fd, std::string prefix, AdoptOptions options);
  int relay(std::string prefix, AdoptOptions options);
  void close();
  void join_threads();

  // ---- used by connections (any thread) ----
  // Queues `ev` for the host. An event from a client's input (see inbound_connection) is charged
  // to that connection in to_host: its reader asks to_host->pause_if_over() after each chunk.
  void push_event(Event&& ev);
  bool drain_events(std::vector<Event>& out, uint64_t max_bytes = UINT64_MAX);  // see Server::drain_events
  // A failure the core handled with no client to tell (a failed compaction, an exception escaping a
  // handler): counted in `counter` and reported to the host as an Event::kWarning with `code`,
  // which the host logs. Any thread.
  void report_failure(std::atomic<uint64_t>& counter, const char* code, std::string what);
  // The connection whose inbound budget `ev` is charged to, or 0 (not client input: documents,
  // Engine.IO handshakes, closes).
  static uint64_t inbound_connection(const Event& ev);
  // The bytes `ev` holds while it waits: its strings and a fixed overhead.
  static uint64_t inbound_cost(const Event& ev);
  // A buffer of kTrimAfterBytes or more (ws_connection.h) was just freed. Its pages stay resident
  // in malloc's arenas, which is what the next large buffer reuses; once no large buffer has been
  // freed for kTrimQuietMs, malloc_trim gives them all back to the system. A burst of newcomers
  // thus pays no page faults, and a quiet server keeps no megabytes it does not use.
  void large_buffer_freed();
  static constexpr int64_t kTrimQuietMs = 1000;
  void register_connection(const std::shared_ptr<Connection>& c);
  // Called once by a connection when it has closed: drops it from the table and from every room.
  void connection_closed(uint64_t id);
  void track_http(const std::shared_ptr<HttpSession>& s);
  std::shared_ptr<Connection> find(uint64_t id);
  // The Engine.IO connection `id`, or null (unknown id or another kind of connection).
  std::shared_ptr<EioConnection> find_eio(uint64_t id);
  // The Socket.IO client of a new Engine.IO session (native/sio).
  std::unique_ptr<EioUpper> make_client(EioConnection& session);
  // sio::Delivery: frames once, queues the same buffers to every connection of `conns`.
  void deliver(const std::vector<uint64_t>& conns, const std::string& packet,
               const std::vector<std::string>& attachments, bool is_volatile, bool compress) override;
  uint64_t next_connection_id() { return next_id_.fetch_add(1, std::memory_order_relaxed); }
  bool closing() const { return closing_.load(std::memory_order_acquire); }

  // ---- commands (see Server); run on cmd_ ----
  // Runs `fn` on cmd_: appended to this thread's open Server::CommandBatch for this server, if
  // any, else posted now.
  template <class F>
  void command(F&& fn) {
    if (t_batch_ && t_batch_->server == this) {
      t_batch_->commands.emplace_back(std::in_place_type<std::function<void()>>, std::forward<F>(fn));
    } else {
      net::post(cmd_, std::forward<F>(fn));
    }
  }
  void begin_batch();
  void end_batch();
  void connect_reply(uint64_t conn, std::string nsp, bool accepted, std::string packet);
  void send(uint64_t conn, std::string packet, std::vector<std::string> attachments, bool compress);
  void broadcast(std::string nsp, std::vector<std::string> rooms, std::vector<std::string> except,
                 std::string packet, std::vector<std::string> attachments, bool is_volatile, bool compress,
                 bool local);
  void join(uint64_t conn, std::string nsp, std::vector<std::string> rooms);
  void leave(uint64_t conn, std::string nsp, std::string room);
  void disconnect(uint64_t conn, std::string nsp, std::string packet, bool close_connection);

  // The cluster adapter (see Server); run on cmd_.
  void set_redis_adapter(Server::RedisAdapterOptions options);
  void adapter_namespace(std::string nsp, bool on);
  void adapter_room(std::string nsp, std::string room, bool on);
  void adapter_publish(std::string channel, std::string json, std::vector<std::string> attachments, bool msgpack);
  void adapter_server_count(std::string nsp, int64_t id);
  void adapter_command(std::vector<std::string> args, int64_t id, bool blocking);

  const Options opts;
  net::io_context ioc;
  // Inbound backpressure (native/core/inbound_budget.h): events waiting for the host, and document
  // messages waiting to be integrated and stored. Thread-safe.
  const std::shared_ptr<InboundBudget> to_host;
  const std::shared_ptr<InboundBudget> to_documents;
  std::shared_ptr<DocumentManager> docs;  // created in the constructor when documents are enabled
  // Engine.IO sessions by sid, handshakes waiting for the host (native/core/eio_registry.h).
  const std::shared_ptr<EioRegistry> eio = make_eio_registry();

  // Counters (relaxed atomics; read by Server::stats()).
  std::atomic<uint64_t> messages_in{0};
  std::atomic<uint64_t> cluster_awareness_dropped{0};  // hostile awareness messages (doc_cluster_awareness.h)
  std::atomic<uint64_t> messages_out{0};
  std::atomic<int64_t> bytes_queued{0};
  std::atomic<uint64_t> open_connections{0};
  std::atomic<uint64_t> accept_errors{0};
  std::atomic<uint64_t> compaction_errors{0};   // store compactions that failed (documents.cpp)
  std::atomic<uint64_t> handler_exceptions{0};  // exceptions that escaped a handler into ioc.run()
  std::atomic<uint64_t> forced_shutdowns{0};    // close() had to stop the I/O threads (watch_shutdown)
  std::atomic<uint64_t> adapter_bad_messages{0};  // cluster messages that did not decode (redis_adapter.cpp)
  std::atomic<uint64_t> bad_stream_entries{0};  // cluster mode: stream entries that did not decode

 private:
  void do_accept();
  void on_accept(boost::system::error_code ec, tcp::socket socket);
  // After a failed accept: the next one waits accept_backoff_ms_ (runs on cmd_).
  void accept_later();
  // Max connections and per-IP rate (native/core/limits.h) for a socket just accepted.
  Admission admit(const tcp::socket& socket);
  void thread_main();
  // Runs on watchdog_, started by close(). A graceful close ends when the I/O threads run out of
  // work: every connection closed, bounded by Options::close_timeout. An operation that nothing
  // cancels (a bug) would hold them for good, and the host's close() with them; so if they still
  // run close_timeout + kShutdownSlackMs after close() began, this reports it
  // (COLLABIO_SHUTDOWN_FORCED) and stops the io_context. The handlers still queued are abandoned
  // with what they hold.
  void watch_shutdown();
  static constexpr int64_t kShutdownSlackMs = 1000;
  // Opens the document store and starts the I/O threads (listen() and start()).
  void start_threads();

  EventSink* sink_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::atomic<unsigned> running_threads_{0};
  std::thread watchdog_;  // watch_shutdown(); started by close(), joined by join_threads()
  std::mutex watchdog_mu_;
  std::condition_variable watchdog_cv_;
  bool threads_done_ = false;     // guarded by watchdog_mu_: the last I/O thread has left ioc.run()
  bool watchdog_released_ = false;  // guarded by watchdog_mu_: join_threads() no longer needs it
  tcp::acceptor acceptor_;  // owner: cmd_ after listen()
  Strand cmd_;              // runs commands in call order; owns what sio_ keeps (rooms)
  // Back-off after accept errors (descriptors exhausted: the listener stays readable, so an
  // immediate retry would spin). Owner: cmd_ (the timer); the delay is touched only by the one
  // accept in flight and by accept_later() on cmd_, never at the same time.
  net::steady_timer accept_timer_;
  uint32_t accept_backoff_ms_ = 0;  // 0: the last accept succeeded
  // large_buffer_freed(): the timer is owned by cmd_; the flag says it is armed (or being armed).
  void trim_when_quiet();
  net::steady_timer trim_timer_;
  std::atomic<bool> trim_pending_{false};
  std::atomic<int64_t> last_large_free_ms_{0};  // steady clock
  ConnectionRateLimiter rate_limiter_;  // thread-safe (own mutex); used by on_accept
  std::shared_ptr<TlsContext> tls_;     // set by listen() when Options::tls is; read-only afterwards
  // Socket.IO: clients, rooms and adapters. Commands run on cmd_; make_client anywhere.
  std::unique_ptr<sio::SocketIoServer> sio_;

  std::mutex events_mu_;
  std::vector<Event> events_;  // guarded by events_mu_
  // What drain_events() handed to the host, per connection, until events_handled() releases it
  // from to_host. Guarded by events_mu_.
  std::vector<InboundBudget::Charge> handed_;
  // The same for the holds of the document updates drained (Event::hold). Guarded by events_mu_.
  std::vector<std::shared_ptr<void>> handed_holds_;

  std::mutex conns_mu_;
  std::unordered_map<uint64_t, std::shared_ptr<Connection>> conns_;  // guarded by conns_mu_
  std::vector<std::weak_ptr<HttpSession>> http_sessions_;              // guarded by conns_mu_

  // send(): the frames to queue on connection `conn`, framed by the thread that sent them.
  struct SendFrames {
    uint64_t conn = 0;
    ws::Frames frames;
  };
  // The commands held by the Server::CommandBatch open on this thread (one at a time per thread;
  // each thread owns its own, so no lock). A send, the usual command of a batch (every ack reply
  // is one), is held as data: no function object, no reference on the server per send.
  struct Batch {
    ServerImpl* server = nullptr;
    std::vector<std::variant<SendFrames, std::function<void()>>> commands;
  };
  static thread_local Batch* t_batch_;

  std::atomic<uint64_t> next_id_{1};
  std::atomic<bool> closing_{false};
  std::atomic<bool> closed_notified_{false};
  bool listening_ = false;  // owner: the thread that calls listen()/close() (the host's main thread)

  friend class Server;
};

// Starts an HTTP session on an accepted socket (native/core/http_session.cpp).
void start_http_session(const std::shared_ptr<ServerImpl>& server, tcp::socket socket);
// Starts the TLS handshake on an accepted socket; the plaintext is then served like an accepted
// connection (native/core/tls_front.cpp).
void start_tls_front(const std::shared_ptr<ServerImpl>& server, const std::shared_ptr<TlsContext>& context,
                     tcp::socket socket);
// Starts an HTTP session on a socket the host handed over (native/core/adopt.cpp): `prefix` is read
// before the socket, `options` say who the peer is.
void start_adopted_session(const std::shared_ptr<ServerImpl>& server, tcp::socket socket, std::string prefix,
                           AdoptOptions options);

// Engine.IO sessions (polling and WebSocket) are created by the HTTP session: see
// create_eio_session in native/core/eio_connection.h.
// Starts a y-websocket document connection (native/core/yjs_connection.cpp) for the document named
// `doc_name` (the raw request path without its leading '/', as the reference server takes it).
void start_yjs_connection(const std::shared_ptr<ServerImpl>& server, tcp::socket socket,
                          std::shared_ptr<const Handshake> handshake, std::string doc_name,
                          std::string http_response, std::string leftover, ws::Deflate deflate);
// Starts a Hocuspocus connection (native/core/hocuspocus_connection.cpp) on
// DocumentOptions::hocuspocus_path.
void start_hocuspocus_connection(const std::shared_ptr<ServerImpl>& server, tcp::socket socket,
                                 std::shared_ptr<const Handshake> handshake, std::string http_response,
                                 std::string leftover);
// Ends an HTTP session early (shutdown).
void cancel_http_session(const std::shared_ptr<HttpSession>& session);

}  // namespace collabio::core
