#include "core/eio_connection.h"

#include "engineio/packet.h"
#include "socketio/packet.h"

namespace collabio::core {

void start_eio_connection(const std::shared_ptr<ServerImpl>& server, tcp::socket socket,
                          std::shared_ptr<const Handshake> handshake, std::string http_response,
                          std::string leftover) {
  auto c = std::make_shared<EioConnection>(server, std::move(socket), std::move(handshake));
  server->register_connection(c);
  const auto& o = server->opts;
  const std::string open = engineio::open_packet(engineio::generate_sid(), false, o.ping_interval, o.ping_timeout,
                                                 o.max_http_buffer_size);
  // The 101 response and the open packet leave in one write.
  c->start({std::make_shared<const std::string>(std::move(http_response)), ws::make_frame(ws::Opcode::Text, open)},
           std::move(leftover));
}

EioConnection::EioConnection(std::shared_ptr<ServerImpl> server, tcp::socket socket, std::shared_ptr<const Handshake> hs)
    // A message may not exceed maxHttpBufferSize (Engine.IO maxPayload), whatever its framing.
    : WsConnection(Kind::EngineIo, server, std::move(socket), server->opts.max_http_buffer_size),
      handshake_(std::move(hs)),
      ping_timer_(executor()),
      connect_timer_(executor()) {}

void EioConnection::on_started() {
  const auto& o = server_->opts;
  schedule_ping(o.ping_interval, false);
  connect_timer_.expires_after(std::chrono::milliseconds(o.connect_timeout));
  connect_timer_.async_wait([self = self_as<EioConnection>()](boost::system::error_code ec) {
    if (ec || self->closing()) return;
    bool any;
    {
      std::lock_guard lk(self->ns_mu_);
      any = self->any_namespace_;
    }
    // socket.io closes a client that joined no namespace in time (Client#setup, connectTimeout).
    if (!any) self->do_close(ws::kPolicyViolation, "forced close", false);
  });
}

void EioConnection::on_closed(const std::string& reason) {
  pending_.reset();
  ping_timer_.cancel();
  connect_timer_.cancel();
  {
    std::lock_guard lk(ns_mu_);
    namespaces_.clear();
  }
  server_->push_event(Event{Event::kClose, id(), {}, reason, -1, {}, nullptr});
}

void EioConnection::on_ws_message(bool binary, std::string&& payload) {
  if (!binary) {
    on_text_packet(payload);
    return;
  }
  // A binary Engine.IO message is a Socket.IO attachment; one is expected only while a
  // BINARY_EVENT/BINARY_ACK is being reassembled (socket.io-parser: "got binary data when not
  // reconstructing a packet").
  if (!pending_) return fail_packet("got binary data when not reconstructing a packet");
  pending_->ev.attachments.push_back(std::move(payload));
  if (--pending_->remaining > 0) return;
  Event ev = std::move(pending_->ev);
  pending_.reset();
  std::string err;
  if (!socketio::check_placeholders(ev.data, static_cast<uint32_t>(ev.attachments.size()), err)) {
    return fail_packet(err);
  }
  server_->push_event(std::move(ev));
}

void EioConnection::on_text_packet(std::string_view text) {
  engineio::PacketType type;
  std::string_view data;
  if (!engineio::parse_text_packet(text, type, data)) return fail("parse error");
  switch (type) {
    case engineio::PacketType::Pong:
      if (awaiting_pong_) schedule_ping(server_->opts.ping_interval, false);
      return;
    case engineio::PacketType::Message:
      // A text packet while attachments are awaited breaks the reassembly.
      if (pending_) return fail_packet("got plaintext data when reconstructing a packet");
      on_socketio_packet(data);
      return;
    case engineio::PacketType::Close:
      do_close(ws::kNormal, "transport close", false);
      return;
    case engineio::PacketType::Ping:
      if (data == "probe") {
        // Upgrade probe on a WebSocket that already carries the session: answer like engine.io.
        enqueue(ws::make_frame(ws::Opcode::Text, "3probe"));
        return;
      }
      // In v4 only the server pings (engine.io: "invalid heartbeat direction").
      return fail("transport error");
    case engineio::PacketType::Upgrade:
    case engineio::PacketType::Noop:
      return;
    case engineio::PacketType::Open:
      return fail("parse error");
  }
}

void EioConnection::on_socketio_packet(std::string_view text) {
  socketio::Packet p;
  std::string err;
  if (!socketio::parse_packet(text, p, err, server_->opts.max_attachments)) return fail_packet(err);
  using T = socketio::PacketType;
  switch (p.type) {
    case T::Connect:
      server_->push_event(Event{Event::kConnect, id(), std::move(p.nsp), std::string(p.data), -1, {}, handshake_});
      return;
    case T::Disconnect:
      if (!namespace_connected(p.nsp)) return;
      set_namespace(p.nsp, false);
      server_->push_event(Event{Event::kNspDisconnect, id(), p.nsp, {}, -1, {}, nullptr});
      server_->disconnect(id(), std::move(p.nsp), {}, false);
      return;
    case T::Event:
    case T::BinaryEvent:
    case T::Ack:
    case T::BinaryAck: {
      // socket.io ignores packets for a namespace the client has not joined.
      if (!namespace_connected(p.nsp)) return;
      const bool is_event = p.type == T::Event || p.type == T::BinaryEvent;
      if (!is_event && !p.id) return fail_packet("invalid payload");
      // Ack ids reach JavaScript as numbers: keep them within 2^53.
      const int64_t ack = p.id ? static_cast<int64_t>(*p.id & 0x1FFFFFFFFFFFFFull) : -1;
      Event ev{is_event ? Event::kEvent : Event::kAck, id(), std::move(p.nsp), std::string(p.data), ack, {}, nullptr};
      if (p.attachments > 0) {
        ev.attachments.reserve(p.attachments);
        pending_ = PendingBinary{std::move(ev), p.attachments};
        return;
      }
      server_->push_event(std::move(ev));
      return;
    }
    case T::ConnectError:
      return;  // only servers send CONNECT_ERROR; socket.io ignores one from a client
  }
}

void EioConnection::fail_packet(std::string error) {
  if (closing()) return;
  server_->push_event(Event{Event::kError, id(), {}, std::move(error), -1, {}, nullptr});
  do_close(0, "forced close", true);
}

bool EioConnection::namespace_connected(const std::string& nsp) {
  std::lock_guard lk(ns_mu_);
  return namespaces_.count(nsp) != 0;
}

void EioConnection::set_namespace(const std::string& nsp, bool connected) {
  std::lock_guard lk(ns_mu_);
  if (connected) {
    namespaces_.insert(nsp);
    any_namespace_ = true;
  } else {
    namespaces_.erase(nsp);
  }
}

// Engine.IO v4 heartbeat: the server pings every pingInterval; no pong within pingTimeout closes
// the session with "ping timeout".
void EioConnection::schedule_ping(uint32_t delay_ms, bool expect_pong) {
  awaiting_pong_ = expect_pong;
  const uint64_t gen = ++ping_generation_;
  ping_timer_.expires_after(std::chrono::milliseconds(delay_ms));
  ping_timer_.async_wait([self = self_as<EioConnection>(), gen](boost::system::error_code ec) {
    if (ec || self->closing() || gen != self->ping_generation_) return;
    if (self->awaiting_pong_) {
      self->do_close(ws::kPolicyViolation, "ping timeout", true);
      return;
    }
    static const ws::Frame ping = ws::make_frame(ws::Opcode::Text, "2");
    self->enqueue(ping);
    self->schedule_ping(self->server_->opts.ping_timeout, true);
  });
}

}  // namespace collabio::core
