// Plain HTTP on an accepted socket (internal to native/core). Generic request handling lives in
// http_session.cpp; the Engine.IO endpoint (polling, upgrades, CORS, client bundle) in eio_http.cpp.
//
// A session handles one request at a time: it reads a request, answers it (now, or later for a
// held long-polling GET, a POST, or a handshake waiting for the host), then reads the next one
// (keep-alive).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "core/eio_connection.h"
#include "core/eio_registry.h"
#include "core/server_impl.h"
#include "engineio/packet.h"

namespace collabio::core {

namespace beast = boost::beast;
namespace http = beast::http;

using Request = http::request<http::string_body>;

// Value of `key` in a raw query string (no percent-decoding: the Engine.IO keys are plain).
std::string_view query_param(std::string_view query, std::string_view key);

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(std::shared_ptr<ServerImpl> server, tcp::socket socket)
      : server_(std::move(server)), stream_(std::move(socket)) {}

  void run() { do_read(); }
  // A connection the host handed over (native/core/adopt.cpp): `prefix` is parsed before anything
  // read from the socket; `options` name the peer and whether later requests are the host's.
  void run_adopted(std::string prefix, AdoptOptions options);

  // Any thread: ends the session during shutdown. A held long-polling request first gets its
  // session's answer (the close packet) and a response being written is finished, within
  // Options::close_timeout.
  void cancel();

  // Any thread: the answer to the polling request `seq` (see EioExchange in eio_http.cpp); `hold`
  // is released once the response is written or dropped.
  void exchange_reply(uint64_t seq, unsigned status, std::string content_type, std::string body,
                      std::shared_ptr<void> hold);

 private:
  void do_read();
  void on_read(beast::error_code ec);
  void handle(Request&& req);

  // ---- Engine.IO (eio_http.cpp) ----
  void handle_engineio(Request&& req, std::string_view query, bool upgrade);
  void handshake(Request&& req, bool upgrade);
  void open_session(const HandshakeDecision& decision);
  void poll(const std::shared_ptr<EioConnection>& session, Request&& req);
  void upgrade_session(const std::shared_ptr<EioConnection>& session, const Request& req);
  void engine_error(const Request& req, engineio::ErrorCode code, std::string message = {},
                    std::string context = {});
  bool serve_client(const Request& req, std::string_view path);
  // CORS headers for `req` into extra_headers_ (nothing when CORS is off); true for a preflight.
  void add_cors_headers(const Request& req, bool preflight);
  void watch_for_abort();

  // ---- generic (http_session.cpp) ----
  // Header names and values come from the application (headers hooks, CORS and cookie options):
  // one holding a line break would write headers of its own or split the response, so only those
  // that pass here reach the wire: a name without CR, LF, NUL, ':' or space, a value without CR,
  // LF or NUL. Every response takes extra_headers_ through it.
  static bool safe_header(std::string_view name, std::string_view value);
  // Moves the safe extra_headers_ into `fields` (extra_headers_ is left empty).
  void move_extra_headers(http::fields& fields);
  static std::string websocket_accept(const Request& req);
  // permessage-deflate for a WebSocket upgrade: the response header goes into extra_headers_.
  ws::Deflate negotiate_deflate(const Request& req, const ws::DeflateOptions& options);
  std::string switching_protocols(const std::string& accept);
  std::shared_ptr<Handshake> make_handshake(const Request& req);
  std::string take_leftover();
  void serve_file(const Request& req, std::string_view raw_path);
  // Writes a response with extra_headers_ (then cleared) and reads the next request if keep_alive.
  // `hold` is released when the write completes (or fails).
  void respond(http::status status, std::string_view content_type, std::string body, bool keep_alive,
               std::shared_ptr<void> hold = nullptr);
  void write_raw_and_close(std::string bytes);
  void after_write(beast::error_code ec, bool keep_alive);
  // Closes the socket (and stops shutdown_timer_).
  void close_now();

  const std::shared_ptr<ServerImpl> server_;

  // ---- owner: the session's strand (stream_'s executor) ----
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HeaderList extra_headers_;          // added to the next response
  std::optional<Request> held_;       // a handshake waiting for the host's decision
  // The polling request waiting for its session's answer.
  uint64_t exchange_seq_ = 0;         // numbers requests handed to a session
  bool exchange_open_ = false;        // exchange_seq_ is waiting for its reply
  bool exchange_is_get_ = false;
  bool exchange_keep_alive_ = false;
  std::shared_ptr<EioConnection> exchange_session_;
  std::shared_ptr<PollingExchange> exchange_;
  bool writing_ = false;              // respond()'s write is in progress
  // Adopted connections (run_adopted): the peer as the host saw it, and whether the connection
  // ends after one response (its other requests are the host application's).
  std::string peer_address_;          // "" = the socket's remote endpoint
  bool secure_ = false;               // Handshake::secure
  bool single_request_ = false;
  // Shutdown only: bounds the wait for a held poll's answer and its write (see cancel()).
  std::unique_ptr<net::steady_timer> shutdown_timer_;
};

}  // namespace collabio::core
