// Socket.IO packets from one client: CONNECT, DISCONNECT, EVENT/ACK and their binary forms
// (socket.io's Client#ondata and socket.io-parser's Decoder).
#include "sio/client.h"

#include <algorithm>

#include "core/eio_connection.h"
#include "socketio/packet.h"

namespace collabio::sio {

using core::Event;

void Client::on_binary(std::string&& data) {
  // A binary Engine.IO message is a Socket.IO attachment; one is expected only while a
  // BINARY_EVENT/BINARY_ACK is being reassembled (socket.io-parser: "got binary data when not
  // reconstructing a packet").
  if (!pending_) return fail("got binary data when not reconstructing a packet");
  pending_->ev.attachments.push_back(std::move(data));
  if (--pending_->remaining > 0) return;
  Event ev = std::move(pending_->ev);
  pending_.reset();
  std::string err;
  if (!socketio::check_placeholders(ev.data, static_cast<uint32_t>(ev.attachments.size()), err)) return fail(err);
  server_.push_event(std::move(ev));
}

void Client::on_message(std::string_view text) {
  // A text packet while attachments are awaited breaks the reassembly.
  if (pending_) return fail("got plaintext data when reconstructing a packet");
  socketio::Packet p;
  std::string err;
  if (!socketio::parse_packet(text, p, err, server_.opts.max_attachments)) return fail(err);
  const uint64_t conn = session_.id();
  using T = socketio::PacketType;
  switch (p.type) {
    case T::Connect:
      server_.push_event(Event::connect(conn, std::move(p.nsp), std::string(p.data), session_.handshake()));
      return;
    case T::Disconnect:
      if (!namespace_connected(p.nsp)) return;
      set_namespace(p.nsp, false);
      server_.push_event(Event::namespace_disconnect(conn, p.nsp));
      server_.disconnect(conn, std::move(p.nsp), {}, false);
      return;
    case T::Event:
    case T::BinaryEvent:
    case T::Ack:
    case T::BinaryAck: {
      // socket.io ignores packets for a namespace the client has not joined.
      if (!namespace_connected(p.nsp)) return;
      const bool is_event = p.type == T::Event || p.type == T::BinaryEvent;
      if (!is_event && !p.id) return fail("invalid payload");
      // Ack ids reach JavaScript as numbers: keep them within 2^53.
      const int64_t ack = p.id ? static_cast<int64_t>(*p.id & 0x1FFFFFFFFFFFFFull) : -1;
      Event ev = is_event ? Event::client_event(conn, std::move(p.nsp), std::string(p.data), ack)
                          : Event::client_ack(conn, std::move(p.nsp), std::string(p.data), ack);
      if (p.attachments > 0) {
        ev.attachments.reserve(p.attachments);
        pending_ = std::make_unique<PendingBinary>(PendingBinary{std::move(ev), p.attachments});
        return;
      }
      server_.push_event(std::move(ev));
      return;
    }
    case T::ConnectError:
      return;  // only servers send CONNECT_ERROR; socket.io ignores one from a client
  }
}

bool Client::established() const {
  std::lock_guard lk(ns_mu_);
  return any_namespace_;
}

void Client::on_close() {
  pending_.reset();
  std::lock_guard lk(ns_mu_);
  namespaces_.clear();
}

void Client::fail(std::string error) {
  if (!session_.open()) return;
  server_.push_event(Event::packet_error(session_.id(), std::move(error)));
  session_.protocol_error();
}

bool Client::namespace_connected(const std::string& nsp) const {
  std::lock_guard lk(ns_mu_);
  return std::find(namespaces_.begin(), namespaces_.end(), nsp) != namespaces_.end();
}

void Client::set_namespace(const std::string& nsp, bool connected) {
  std::lock_guard lk(ns_mu_);
  const auto it = std::find(namespaces_.begin(), namespaces_.end(), nsp);
  if (connected) {
    if (it == namespaces_.end()) namespaces_.push_back(nsp);
    any_namespace_ = true;
  } else if (it != namespaces_.end()) {
    namespaces_.erase(it);
  }
}

}  // namespace collabio::sio
