// Plain HTTP on an accepted socket: reads requests with Beast's parser (bounded size and time) and
// routes them: the Engine.IO endpoint (long-polling requests, WebSocket upgrades, handshake errors,
// CORS), the socket.io-client bundle (serveClient), other WebSocket upgrades (Yjs documents), static
// files, or 404. Engine.IO request handling lives in native/core/eio_http.cpp.
#include "core/http_session.h"

#include <chrono>
#include <filesystem>
#include <string>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "core/cors_origin.h"

namespace collabio::core {

std::string_view query_param(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    const size_t eq = part.find('=');
    if (part.substr(0, eq) == key) return eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

namespace {

std::string_view mime_type(std::string_view path) {
  const size_t dot = path.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  if (ext == "html" || ext == "htm") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "ico") return "image/x-icon";
  if (ext == "wasm") return "application/wasm";
  if (ext == "txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

std::string percent_decode(std::string_view in, bool& ok) {
  std::string out;
  out.reserve(in.size());
  ok = true;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
        ok = false;
        return {};
      }
      out.push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

}  // namespace

void HttpSession::cancel() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    if (!self->exchange_open_ && !self->writing_) {
      self->close_now();
      return;
    }
    // A held GET is answered by its Engine.IO session, which the shutdown closes too (the client
    // gets the close packet); a response being written is finished. after_write() then closes,
    // and this timer makes sure a client that does not read cannot hold the shutdown.
    self->shutdown_timer_ = std::make_unique<net::steady_timer>(self->stream_.get_executor());
    self->shutdown_timer_->expires_after(std::chrono::milliseconds(self->server_->opts.close_timeout));
    self->shutdown_timer_->async_wait([self](boost::system::error_code ec) {
      if (!ec) self->close_now();
    });
  });
}

void HttpSession::close_now() {
  if (shutdown_timer_) shutdown_timer_->cancel();
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
}

void HttpSession::do_read() {
  parser_.emplace();
  parser_->header_limit(16 * 1024);
  // A long-polling POST may carry up to maxHttpBufferSize (engine.io answers 413 beyond).
  parser_->body_limit(server_->opts.max_http_buffer_size);
  // Slow or stalled requests (slowloris) are cut off here.
  stream_.expires_after(std::chrono::milliseconds(server_->opts.handshake_timeout));
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
}

void HttpSession::on_read(beast::error_code ec) {
  if (ec) {
    if (ec == http::error::header_limit || ec == http::error::body_limit) {
      respond(ec == http::error::header_limit ? http::status::request_header_fields_too_large
                                              : http::status::payload_too_large,
              "text/plain", "Request too large", false);
      return;
    }
    if (ec != http::error::end_of_stream && ec != beast::error::timeout && ec != net::error::eof) {
      // Malformed request: answer 400 when the socket still works.
      respond(http::status::bad_request, "text/plain", "Bad Request", false);
      return;
    }
    stream_.close();
    return;
  }
  handle(parser_->release());
}

void HttpSession::handle(Request&& req) {
  extra_headers_.clear();
  const std::string_view target = req.target();
  const RequestTarget parts = split_target(target);
  const std::string_view path = parts.path;
  const std::string_view query = parts.query;
  const bool upgrade = beast::websocket::is_upgrade(req);

  if (server_->closing()) {
    respond(http::status::service_unavailable, "text/plain", "Server shutting down", false);
    return;
  }
  // socket.io serves its client bundle before engine.io sees the request.
  if (!upgrade && serve_client(req, path)) return;
  // engine.io takes every request whose URL starts with its path (with the trailing slash unless
  // addTrailingSlash is false, in which case Options::path has none).
  if (target.starts_with(server_->opts.path)) {
    handle_engineio(std::move(req), query, upgrade);
    return;
  }
  if (upgrade) {
    // Any other WebSocket upgrade is a Yjs document connection: Hocuspocus on its path, else
    // y-websocket at ws://host/<name>.
    // The `cors` allow-list applies as to Engine.IO upgrades (native/core/cors_origin.h).
    if (!upgrade_origin_allowed(server_->opts.engine.cors, req[http::field::origin], req[http::field::host])) {
      respond(http::status::forbidden, "text/plain", "Origin not allowed", false);
      return;
    }
    const std::string accept = websocket_accept(req);
    if (accept.empty()) {
      respond(http::status::bad_request, "text/plain", "Bad WebSocket handshake", false);
      return;
    }
    auto hs = make_handshake(req);
    std::string leftover = take_leftover();
    // Hocuspocus providers on their own path (one socket, many documents named in each message).
    const auto& docs = server_->opts.documents;
    if (docs.enabled && !docs.hocuspocus_path.empty() && path == docs.hocuspocus_path) {
      start_hocuspocus_connection(server_, stream_.release_socket(), std::move(hs), switching_protocols(accept),
                                  std::move(leftover));
      return;
    }
    std::string name(path.substr(1));
    const ws::Deflate deflate = negotiate_deflate(req, server_->opts.documents.per_message_deflate);
    start_yjs_connection(server_, stream_.release_socket(), std::move(hs), std::move(name),
                         switching_protocols(accept), std::move(leftover), deflate);
    return;
  }
  if ((req.method() == http::verb::get || req.method() == http::verb::head) && !server_->opts.serve_static.empty()) {
    serve_file(req, path);
    return;
  }
  respond(http::status::not_found, "text/plain", "Not Found", req.keep_alive());
}

bool HttpSession::safe_header(std::string_view name, std::string_view value) {
  return !name.empty() && name.find_first_of(std::string_view("\r\n\0: ", 5)) == std::string_view::npos &&
         value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

void HttpSession::move_extra_headers(http::fields& fields) {
  for (auto& [name, value] : extra_headers_)
    if (safe_header(name, value)) fields.insert(name, value);
  extra_headers_.clear();
}

std::string HttpSession::websocket_accept(const Request& req) {
  if (req.method() != http::verb::get || req[http::field::sec_websocket_version] != "13") return {};
  return ws::accept_key(req[http::field::sec_websocket_key]);
}

ws::Deflate HttpSession::negotiate_deflate(const Request& req, const ws::DeflateOptions& options) {
  if (!options.enabled) return {};
  // Every Sec-WebSocket-Extensions line, in order, as one list (RFC 7230 section 3.2.2).
  std::string offers;
  const auto [first, last] = req.equal_range(http::field::sec_websocket_extensions);
  for (auto it = first; it != last; ++it) {
    if (!offers.empty()) offers += ", ";
    offers.append(it->value().data(), it->value().size());
  }
  std::string response;
  const auto d = ws::negotiate_deflate(offers, options, response);
  if (!d) return {};
  extra_headers_.emplace_back("Sec-WebSocket-Extensions", std::move(response));
  return *d;
}

std::string HttpSession::switching_protocols(const std::string& accept) {
  std::string out = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ";
  out += accept;
  out += "\r\n";
  for (const auto& [name, value] : extra_headers_) {
    if (!safe_header(name, value)) continue;
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  extra_headers_.clear();
  out += "\r\n";
  return out;
}

std::shared_ptr<Handshake> HttpSession::make_handshake(const Request& req) {
  auto hs = std::make_shared<Handshake>();
  hs->url = std::string(req.target());
  std::string name;
  for (const auto& field : req) {
    name.assign(field.name_string());
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    hs->add_header(name, field.value());
  }
  hs->shrink();
  hs->secure = secure_;
  if (!peer_address_.empty()) {
    hs->address = peer_address_;
  } else {
    boost::system::error_code ec;
    const auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) hs->address = remote.address().to_string();
  }
  hs->time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  return hs;
}

std::string HttpSession::take_leftover() {
  // Bytes the client sent after its request head belong to the WebSocket stream.
  const auto data = buffer_.data();
  std::string leftover(static_cast<const char*>(data.data()), data.size());
  buffer_.consume(buffer_.size());
  stream_.expires_never();
  return leftover;
}

void HttpSession::serve_file(const Request& req, std::string_view raw_path) {
  bool ok = false;
  std::string rel = percent_decode(raw_path, ok);
  if (!ok || rel.empty() || rel[0] != '/' || rel.find('\0') != std::string::npos) {
    respond(http::status::bad_request, "text/plain", "Bad Request", false);
    return;
  }
  // Refuse any path with a ".." segment: nothing outside the served directory is reachable.
  for (size_t i = 0; i < rel.size();) {
    size_t j = rel.find('/', i + 1);
    if (j == std::string::npos) j = rel.size();
    if (rel.compare(i, j - i, "/..") == 0) {
      respond(http::status::forbidden, "text/plain", "Forbidden", false);
      return;
    }
    i = j;
  }
  if (rel.back() == '/') rel += "index.html";
  std::filesystem::path file = std::filesystem::path(server_->opts.serve_static) / rel.substr(1);
  std::error_code fec;
  if (std::filesystem::is_directory(file, fec)) file /= "index.html";
  http::file_body::value_type body;
  beast::error_code ec;
  body.open(file.string().c_str(), beast::file_mode::scan, ec);
  if (ec) {
    respond(http::status::not_found, "text/plain", "Not Found", req.keep_alive());
    return;
  }
  const auto size = body.size();
  auto res = std::make_shared<http::response<http::file_body>>(
      std::piecewise_construct, std::make_tuple(std::move(body)), std::make_tuple(http::status::ok, req.version()));
  res->set(http::field::server, "collabio");
  res->set(http::field::content_type, mime_type(file.string()));
  res->set(http::field::cache_control, "no-cache");
  move_extra_headers(res->base());
  res->content_length(size);
  res->keep_alive(req.keep_alive());
  if (req.method() == http::verb::head) {
    // Beast sends the body of a file_body response; for HEAD answer with headers only.
    respond(http::status::ok, std::string(mime_type(file.string())), "", req.keep_alive());
    return;
  }
  stream_.expires_after(std::chrono::milliseconds(server_->opts.handshake_timeout));
  http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, size_t) {
    self->after_write(ec, res->keep_alive());
  });
}

void HttpSession::respond(http::status status, std::string_view content_type, std::string body, bool keep_alive,
                          std::shared_ptr<void> hold) {
  auto res = std::make_shared<http::response<http::string_body>>(status, 11);
  res->set(http::field::server, "collabio");
  if (!content_type.empty()) res->set(http::field::content_type, content_type);
  move_extra_headers(res->base());
  res->body() = std::move(body);
  res->prepare_payload();
  res->keep_alive(keep_alive && !single_request_);
  stream_.expires_after(std::chrono::milliseconds(server_->opts.handshake_timeout));
  writing_ = true;
  http::async_write(stream_, *res, [self = shared_from_this(), res, hold = std::move(hold)](beast::error_code ec, size_t) {
    self->after_write(ec, res->keep_alive());
  });
}

void HttpSession::write_raw_and_close(std::string bytes) {
  auto buf = std::make_shared<std::string>(std::move(bytes));
  stream_.expires_after(std::chrono::milliseconds(server_->opts.handshake_timeout));
  net::async_write(stream_, net::buffer(*buf), [self = shared_from_this(), buf](beast::error_code ec, size_t) {
    self->after_write(ec, false);
  });
}

void HttpSession::after_write(beast::error_code ec, bool keep_alive) {
  writing_ = false;
  if (exchange_session_ && !exchange_is_get_) exchange_session_->poll_post_done(exchange_.get());
  exchange_session_.reset();
  exchange_.reset();
  if (ec || !keep_alive || single_request_ || server_->closing()) {
    if (shutdown_timer_) shutdown_timer_->cancel();
    boost::system::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
    return;
  }
  do_read();
}

void start_http_session(const std::shared_ptr<ServerImpl>& server, tcp::socket socket) {
  auto s = std::make_shared<HttpSession>(server, std::move(socket));
  server->track_http(s);
  s->run();
}

void cancel_http_session(const std::shared_ptr<HttpSession>& s) { s->cancel(); }

}  // namespace collabio::core
