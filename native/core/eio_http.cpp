// The Engine.IO endpoint over plain HTTP: request checks in the order of engine.io's Server#verify
// and #handshake, the handshake (optionally after a round trip to the host for allowRequest and
// the headers hooks), long-polling GETs and POSTs handed to their session, WebSocket upgrades of a
// polling session, CORS (the `cors` package's rules, which engine.io uses) and the socket.io-client
// bundle (serveClient).
#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/post.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/cors_origin.h"
#include "core/http_session.h"

namespace collabio::core {

namespace {

// A polling request handed to a session; the session answers through it (any thread).
class EioExchange final : public PollingExchange {
 public:
  EioExchange(std::shared_ptr<HttpSession> http, uint64_t seq) : http_(std::move(http)), seq_(seq) {}
  void reply(unsigned status, std::string content_type, std::string body, std::shared_ptr<void> hold) override {
    // Called at most once (PollingExchange contract); letting go of the HTTP session here breaks
    // the cycle session -> exchange -> HTTP session -> exchange.
    auto http = std::move(http_);
    if (http) http->exchange_reply(seq_, status, std::move(content_type), std::move(body), std::move(hold));
  }

 private:
  std::shared_ptr<HttpSession> http_;
  const uint64_t seq_;
};

constexpr std::string_view kClientFiles[] = {
    "socket.io.js",           "socket.io.js.map",           "socket.io.min.js",
    "socket.io.min.js.map",   "socket.io.esm.min.js",       "socket.io.esm.min.js.map",
    "socket.io.msgpack.min.js", "socket.io.msgpack.min.js.map",
};

std::string context_json(std::initializer_list<std::pair<const char*, std::string_view>> fields) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  for (const auto& [k, v] : fields) {
    w.Key(k);
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

void HttpSession::add_cors_headers(const Request& req, bool preflight) {
  const CorsOptions& c = server_->opts.engine.cors;
  if (!c.enabled) return;
  const std::string_view origin = req[http::field::origin];
  std::string vary;
  switch (c.origin) {
    case CorsOptions::Origin::Any:
      extra_headers_.emplace_back("Access-Control-Allow-Origin", "*");
      break;
    case CorsOptions::Origin::Fixed:
      extra_headers_.emplace_back("Access-Control-Allow-Origin", c.fixed);
      vary = "Origin";
      break;
    case CorsOptions::Origin::Reflect:
    case CorsOptions::Origin::List:
      if (!origin.empty() && (c.origin == CorsOptions::Origin::Reflect || origin_listed(c, origin)))
        extra_headers_.emplace_back("Access-Control-Allow-Origin", std::string(origin));
      vary = "Origin";
      break;
  }
  if (c.credentials) extra_headers_.emplace_back("Access-Control-Allow-Credentials", "true");
  if (preflight) {
    extra_headers_.emplace_back("Access-Control-Allow-Methods", c.methods);
    if (!c.allowed_headers.empty()) {
      extra_headers_.emplace_back("Access-Control-Allow-Headers", c.allowed_headers);
    } else if (const std::string_view h = req[http::field::access_control_request_headers]; !h.empty()) {
      extra_headers_.emplace_back("Access-Control-Allow-Headers", std::string(h));
      vary += vary.empty() ? "Access-Control-Request-Headers" : ", Access-Control-Request-Headers";
    }
    if (c.max_age >= 0) extra_headers_.emplace_back("Access-Control-Max-Age", std::to_string(c.max_age));
  }
  if (!c.exposed_headers.empty()) extra_headers_.emplace_back("Access-Control-Expose-Headers", c.exposed_headers);
  if (!vary.empty()) extra_headers_.emplace_back("Vary", vary);
}

void HttpSession::handle_engineio(Request&& req, std::string_view query, bool upgrade) {
  const auto& eo = server_->opts.engine;
  if (upgrade && !upgrade_origin_allowed(eo.cors, req[http::field::origin], req[http::field::host])) {
    // Browsers do not apply CORS to WebSockets: a page from an origin the `cors` option does not
    // allow is refused here (403 with engine.io's Forbidden error, and 'connection_error').
    engine_error(req, engineio::ErrorCode::Forbidden, "Origin not allowed",
                 context_json({{"origin", std::string_view(req[http::field::origin])}}));
    return;
  }
  if (!upgrade) {
    const bool preflight = req.method() == http::verb::options;
    add_cors_headers(req, preflight);
    if (preflight && eo.cors.enabled) {
      respond(http::status::no_content, "", "", req.keep_alive());
      return;
    }
  }
  const std::string_view transport = query_param(query, "transport");
  const bool is_ws = transport == "websocket";
  if (!((transport == "polling" && eo.polling) || (is_ws && eo.websocket))) {
    engine_error(req, engineio::ErrorCode::UnknownTransport, {}, context_json({{"transport", transport}}));
    return;
  }
  const std::string_view sid = query_param(query, "sid");
  if (!sid.empty()) {
    auto s = server_->eio->find(sid);
    if (!s) {
      engine_error(req, engineio::ErrorCode::UnknownSid, {}, context_json({{"sid", sid}}));
      return;
    }
    if (upgrade && is_ws) {
      upgrade_session(s, req);
      return;
    }
    if (is_ws || !s->polling_active()) {
      engine_error(req, engineio::ErrorCode::BadRequest, {},
                   context_json({{"name", "TRANSPORT_MISMATCH"}, {"transport", transport}}));
      return;
    }
    poll(s, std::move(req));
    return;
  }
  if (req.method() != http::verb::get) {
    engine_error(req, engineio::ErrorCode::BadHandshakeMethod, {},
                 context_json({{"method", std::string_view(req.method_string())}}));
    return;
  }
  if (is_ws && !upgrade) {
    engine_error(req, engineio::ErrorCode::BadRequest, {}, context_json({{"name", "TRANSPORT_HANDSHAKE_ERROR"}}));
    return;
  }
  handshake(std::move(req), upgrade);
}

void HttpSession::handshake(Request&& req, bool upgrade) {
  held_.emplace(std::move(req));
  if (!server_->eio->handshake_hook.load(std::memory_order_acquire)) {
    open_session(HandshakeDecision{});
    return;
  }
  // allowRequest / headers hooks: the host decides; the request waits here (no read timeout).
  stream_.expires_never();
  const uint64_t id = server_->eio->add_pending([self = shared_from_this()](HandshakeDecision d) {
    net::post(self->stream_.get_executor(), [self, d = std::move(d)] { self->open_session(d); });
  });
  server_->push_event(Event::handshake_request(id, upgrade ? "websocket" : "polling",
                                               std::string(held_->method_string()), make_handshake(*held_)));
}

void HttpSession::open_session(const HandshakeDecision& d) {
  if (!held_) return;
  Request req = std::move(*held_);
  held_.reset();
  const std::string_view query = split_target(req.target()).query;
  const bool upgrade = beast::websocket::is_upgrade(req);
  if (d.error >= 0) {  // kHandshakeAllowed is negative
    engine_error(req, static_cast<engineio::ErrorCode>(d.error), d.message, context_json({{"message", d.message}}));
    return;
  }
  if (query_param(query, "EIO") != "4") {
    engine_error(req, engineio::ErrorCode::UnsupportedProtocolVersion, {},
                 context_json({{"protocol", query_param(query, "EIO")}}));
    return;
  }
  const auto& eo = server_->opts.engine;
  std::string accept;
  if (upgrade) {
    accept = websocket_accept(req);
    if (accept.empty()) {
      engine_error(req, engineio::ErrorCode::BadRequest, {}, context_json({{"name", "TRANSPORT_HANDSHAKE_ERROR"}}));
      return;
    }
  }
  auto hs = make_handshake(req);
  auto session = create_eio_session(server_,
                                    upgrade ? EioConnection::Executor(stream_.get_executor())
                                            : EioConnection::Executor(net::make_strand(server_->ioc)),
                                    std::move(hs), d.headers);
  if (!eo.cookie_name.empty())
    extra_headers_.emplace_back("Set-Cookie", eo.cookie_name + "=" + session->sid() + eo.cookie_attributes);
  for (const auto& h : d.initial_headers) extra_headers_.push_back(h);
  for (const auto& h : d.headers) extra_headers_.push_back(h);
  if (upgrade) {
    const ws::Deflate deflate = negotiate_deflate(req, eo.per_message_deflate);
    std::string response = switching_protocols(accept);
    std::string leftover = take_leftover();
    session->start_websocket(stream_.release_socket(), std::move(response), std::move(leftover), deflate);
  } else {
    // The timers are queued on the session's strand before the client can learn the sid, so they
    // run before any request of the session (start_timers() also skips a session closed first).
    session->start_polling();
    // The handshake GET is answered with the open packet alone (engine.io Socket#onOpen).
    respond(http::status::ok, "text/plain; charset=UTF-8", session->open_packet(eo.websocket), req.keep_alive());
  }
  // A shutdown that began while this request was handled did not see the session (it registered
  // after the shutdown's snapshot of the table, hence after closing() became true): close it here,
  // or its timers would hold the I/O threads until they fire.
  if (server_->closing()) session->close(ws::kGoingAway, "server shutting down");
}

void HttpSession::poll(const std::shared_ptr<EioConnection>& session, Request&& req) {
  const bool get = req.method() == http::verb::get;
  if (!get && req.method() != http::verb::post) {
    engine_error(req, engineio::ErrorCode::BadRequest, {}, context_json({{"name", "BAD_METHOD"}}));
    return;
  }
  for (const auto& h : session->response_headers()) extra_headers_.push_back(h);
  exchange_open_ = true;
  exchange_is_get_ = get;
  exchange_keep_alive_ = req.keep_alive();
  exchange_session_ = session;
  exchange_ = std::make_shared<EioExchange>(shared_from_this(), ++exchange_seq_);
  // A held GET may wait for pingInterval; the read timeout does not apply to it.
  stream_.expires_never();
  if (get) {
    watch_for_abort();
    session->poll_get(exchange_);
  } else {
    session->poll_post(exchange_, std::move(req.body()));
  }
}

// A held GET whose client goes away must end the session (engine.io: "poll connection closed
// prematurely"): the end of the stream (or an error) on its socket is that signal. A wake-up alone
// is not: epoll may report a readiness that the request's own read already consumed, and taking
// that for an abort dropped healthy sessions with "transport error" under load. So the socket is
// asked, without waiting and without taking anything: bytes are a pipelined request (read after
// the reply), nothing yet means wait again, end of stream or an error means the client left.
void HttpSession::watch_for_abort() {
  stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this(), seq = exchange_seq_](
                                                          boost::system::error_code ec) {
    if (ec == net::error::operation_aborted) return;
    if (!self->exchange_open_ || self->exchange_seq_ != seq) return;
    if (!ec) {
      char byte;
      const ssize_t n = ::recv(self->stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n > 0) return;  // a pipelined request
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        self->watch_for_abort();  // nothing to read after all: a stale readiness
        return;
      }
    }
    self->exchange_open_ = false;
    if (self->exchange_session_) self->exchange_session_->poll_aborted(self->exchange_.get());
    self->exchange_session_.reset();
    self->exchange_.reset();
    self->close_now();
  });
}

void HttpSession::exchange_reply(uint64_t seq, unsigned status, std::string content_type, std::string body,
                                 std::shared_ptr<void> hold) {
  net::post(stream_.get_executor(), [self = shared_from_this(), seq, status, content_type = std::move(content_type),
                                     body = std::move(body), hold = std::move(hold)]() mutable {
    if (!self->exchange_open_ || self->exchange_seq_ != seq) return;
    self->exchange_open_ = false;
    if (self->exchange_is_get_) {
      boost::system::error_code ignored;
      self->stream_.socket().cancel(ignored);  // ends watch_for_abort
    }
    self->respond(static_cast<http::status>(status), content_type, std::move(body),
                  self->exchange_keep_alive_ && status == 200, std::move(hold));
  });
}

void HttpSession::upgrade_session(const std::shared_ptr<EioConnection>& session, const Request& req) {
  const std::string accept = websocket_accept(req);
  if (accept.empty()) {
    engine_error(req, engineio::ErrorCode::BadRequest, {}, context_json({{"name", "TRANSPORT_HANDSHAKE_ERROR"}}));
    return;
  }
  for (const auto& h : session->response_headers()) extra_headers_.push_back(h);
  if (!session->begin_upgrade()) {
    // Already upgraded or upgrading: engine.io accepts the WebSocket and closes it at once.
    write_raw_and_close(switching_protocols(accept) + ws::encode_close(0, ""));
    return;
  }
  const ws::Deflate deflate = negotiate_deflate(req, server_->opts.engine.per_message_deflate);
  std::string response = switching_protocols(accept);
  std::string leftover = take_leftover();
  session->attach_probe(stream_.release_socket(), std::move(response), std::move(leftover), deflate);
}

void HttpSession::engine_error(const Request& req, engineio::ErrorCode code, std::string message, std::string context) {
  server_->push_event(Event::connection_error(std::string(req.method_string()), static_cast<int>(code),
                                              std::string(engineio::error_message(static_cast<int>(code))),
                                              std::move(context), make_handshake(req)));
  respond(code == engineio::ErrorCode::Forbidden ? http::status::forbidden : http::status::bad_request,
          "application/json", engineio::error_json(static_cast<int>(code), message), false);
}

bool HttpSession::serve_client(const Request& req, std::string_view path) {
  const auto& eo = server_->opts.engine;
  if (eo.client_dir.empty()) return false;
  if (req.method() != http::verb::get && req.method() != http::verb::head) return false;
  std::string_view base = server_->opts.path;
  if (!base.empty() && base.back() == '/') base.remove_suffix(1);
  if (!path.starts_with(base) || path.size() <= base.size() + 1 || path[base.size()] != '/') return false;
  const std::string_view name = path.substr(base.size() + 1);
  bool known = false;
  for (const auto f : kClientFiles) known = known || f == name;
  if (!known) return false;

  add_cors_headers(req, false);
  const std::string_view inm = req[http::field::if_none_match];
  if (!inm.empty() && (inm == eo.client_etag || inm == "W/" + eo.client_etag)) {
    respond(http::status::not_modified, "", "", req.keep_alive());
    return true;
  }
  http::file_body::value_type body;
  beast::error_code ec;
  body.open((eo.client_dir + "/" + std::string(name)).c_str(), beast::file_mode::scan, ec);
  if (ec) {
    respond(http::status::not_found, "text/plain", "Not Found", req.keep_alive());
    return true;
  }
  const bool map = name.ends_with(".map");
  const auto size = body.size();
  auto res = std::make_shared<http::response<http::file_body>>(
      std::piecewise_construct, std::make_tuple(std::move(body)), std::make_tuple(http::status::ok, req.version()));
  res->set(http::field::server, "collabio");
  res->set(http::field::cache_control, "public, max-age=0");
  res->set(http::field::content_type, map ? "application/json; charset=utf-8" : "application/javascript; charset=utf-8");
  res->set(http::field::etag, eo.client_etag);
  move_extra_headers(res->base());
  res->content_length(size);
  res->keep_alive(req.keep_alive());
  if (req.method() == http::verb::head) {
    // No body for HEAD: Beast would send the file; answer from a string response instead.
    extra_headers_.emplace_back("ETag", eo.client_etag);
    respond(http::status::ok, map ? "application/json; charset=utf-8" : "application/javascript; charset=utf-8", "",
            req.keep_alive());
    return true;
  }
  stream_.expires_after(std::chrono::milliseconds(server_->opts.handshake_timeout));
  http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
    self->after_write(ec, res->keep_alive());
  });
  return true;
}

}  // namespace collabio::core
