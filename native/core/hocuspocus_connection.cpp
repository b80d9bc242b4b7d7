#include "core/hocuspocus_connection.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "core/documents.h"
#include "yjs/hocuspocus_protocol.h"

namespace collabio::core {

namespace hp = yjs::hocuspocus;

namespace {

// Messages (over all documents of a socket) a client may send before their documents are attached
// (authorization or loading pending); as Hocuspocus's maxUnauthenticatedQueueMessages.
constexpr size_t kMaxEarlyMessages = 1000;

// Tags SharedMessage frames as Hocuspocus's (the address completes the key).
constexpr char kProtocolTag = 0;


std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

void start_hocuspocus_connection(const std::shared_ptr<ServerImpl>& server, tcp::socket socket,
                                 std::shared_ptr<const Handshake> handshake, std::string http_response,
                                 std::string leftover) {
  auto c = std::make_shared<HocuspocusConnection>(server, std::move(socket), std::move(handshake));
  server->register_connection(c);
  c->start({ws::raw_bytes(std::move(http_response))}, std::move(leftover));
}

HocuspocusConnection::HocuspocusConnection(std::shared_ptr<ServerImpl> server, tcp::socket socket,
                                           std::shared_ptr<const Handshake> hs)
    : WsConnection(Kind::HocuspocusDocuments, server, std::move(socket),
                   server->docs ? server->docs->opts.max_message : (1u << 20)),
      handshake_(std::move(hs)),
      keepalive_(executor()) {}

void HocuspocusConnection::on_started() {
  // Registered before this check: a connection that missed the shutdown's snapshot of the table
  // sees closing() here, so none outlives io.close().
  if (server_->closing()) {
    do_close(ws::kGoingAway, "server shutting down", false);
    return;
  }
  if (!server_->docs || !server_->docs->opts.enabled) {
    do_close(ws::kPolicyViolation, "documents are not enabled on this server", false);
    return;
  }
  schedule_keepalive();
}

void HocuspocusConnection::send(const std::vector<uint8_t>& message) { enqueue(ws::binary_frame(message)); }

void HocuspocusConnection::on_ws_message(bool, std::string&& payload) {
  alive_ = true;
  const auto& opts = server_->docs->opts;
  if (hp::is_pong(bytes(payload))) return;
  hp::Message m;
  try {
    m = hp::parse_message(bytes(payload));
  } catch (const hp::ProtocolError& e) {
    const bool unsupported = e.kind() == hp::ProtocolError::Kind::UnknownMessageType ||
                             e.kind() == hp::ProtocolError::Kind::NotFromClient;
    do_close(unsupported ? kUnsupportedData : static_cast<uint16_t>(ws::kInvalidPayload), e.what(), true);
    return;
  }
  if (m.address.size() > opts.max_name_bytes) {
    do_close(ws::kPolicyViolation, "document name longer than " + std::to_string(opts.max_name_bytes) + " bytes",
             true);
    return;
  }
  auto it = sessions_.find(std::string(m.address));
  if (it == sessions_.end()) {
    if (std::holds_alternative<hp::CloseMessage>(m.body)) return;  // nothing to close
    if (sessions_.size() >= opts.max_documents_per_connection) {
      do_close(ws::kPolicyViolation,
               "more than " + std::to_string(opts.max_documents_per_connection) + " documents on one connection",
               true);
      return;
    }
    Session s;
    s.peer_id = server_->next_connection_id();
    s.document = std::string(m.document);
    it = sessions_.emplace(std::string(m.address), std::move(s)).first;
  }
  Session& s = it->second;
  const std::string& address = it->first;

  if (auto* token = std::get_if<hp::TokenMessage>(&m.body)) {
    // A token for an attached (or authorizing) document is ignored, as Hocuspocus does.
    if (s.state != Session::State::AwaitingToken) return;
    s.state = Session::State::Authorizing;
    if (opts.authorize) {
      // The application decides (lib/documents.js); messages that arrive meanwhile are kept.
      server_->push_event(
          Event::doc_auth_hocuspocus(id(), s.document, std::string(token->token), s.peer_id, address, handshake_));
      return;
    }
    send(hp::encode_authenticated(address, false));
    attach(address, s, false);
    return;
  }
  if (std::holds_alternative<hp::CloseMessage>(m.body)) {
    // The provider detached this document: forget it (the socket stays).
    detach(s);
    sessions_.erase(it);
    return;
  }
  if (s.state != Session::State::Attached) {
    s.early_bytes += payload.size();
    early_bytes_ += payload.size();
    if (++early_count_ > kMaxEarlyMessages || early_bytes_ > opts.max_message) {
      do_close(ws::kPolicyViolation, "too many messages before the documents were authorized", true);
      return;
    }
    s.early.emplace_back(std::move(payload), m.body_offset);
    return;
  }
  // dispatch, as YjsConnection::on_ws_message: handled here when the document's strand is idle.
  // Counted against this socket's inbound budget until the document has handled (and stored) it.
  auto hold = server_->to_documents->hold(id(), payload.size());
  net::dispatch(s.doc->strand(), [doc = s.doc, peer = s.peer_id, msg = std::move(payload), at = m.body_offset,
                                  hold = std::move(hold)]() mutable {
    doc->on_message(peer, std::move(msg), at, &HocuspocusConnection::decode, std::move(hold));
  });
}

bool HocuspocusConnection::pause_reading(const InboundBudget::MakeResume& make_resume) {
  return server_->to_documents->pause_if_over(id(), make_resume);
}

void HocuspocusConnection::authorized(const std::string& address, int mode, std::string reason) {
  net::post(executor(), [self = self_as<HocuspocusConnection>(), address, mode, reason = std::move(reason)] {
    if (self->closing()) return;
    auto it = self->sessions_.find(address);
    if (it == self->sessions_.end() || it->second.state != Session::State::Authorizing) return;
    if (mode == kDocAuthRefuse) {
      // As Hocuspocus: PermissionDenied for this document; the socket and its other documents stay.
      self->send(hp::encode_permission_denied(address, reason.empty() ? "permission-denied" : reason));
      self->drop_early(it->second);
      self->sessions_.erase(it);
      return;
    }
    self->send(hp::encode_authenticated(address, mode == kDocAuthReadOnly));
    self->attach(address, it->second, mode == kDocAuthReadOnly);
  });
}

void HocuspocusConnection::attach(const std::string& address, Session& s, bool read_only) {
  auto doc = server_->docs->acquire(s.document);
  if (!doc) {
    do_close(1013, "too many documents loaded", false);  // 1013: try again later
    return;
  }
  s.state = Session::State::Attached;
  s.doc = doc;
  auto early = std::move(s.early);
  drop_early(s);
  auto peer = std::make_shared<HocuspocusPeer>(s.peer_id, self_as<HocuspocusConnection>(), address);
  net::post(doc->strand(), [doc, peer, read_only, early = std::move(early), server = server_]() mutable {
    doc->add_peer(peer, read_only);
    for (auto& [msg, at] : early) doc->on_message(peer->peer_id(), std::move(msg), at, &HocuspocusConnection::decode);
    server->docs->release(doc);
  });
}

void HocuspocusConnection::drop_early(Session& s) {
  early_bytes_ -= s.early_bytes;
  early_count_ -= s.early.size();
  s.early.clear();
  s.early_bytes = 0;
}

void HocuspocusConnection::detach(Session& s) {
  drop_early(s);
  if (s.doc) net::post(s.doc->strand(), [doc = s.doc, id = s.peer_id] { doc->remove_peer(id); });
}

void HocuspocusConnection::on_closed(const std::string&) {
  keepalive_.cancel();
  for (auto& [address, s] : sessions_) detach(s);
  sessions_.clear();
}

// As y-websocket connections: WebSocket pings detect dead peers; no pong (and no message) for a
// whole period closes. (Hocuspocus 4.7 sends no application Ping either; the provider's own 30 s
// timeout is fed by the awareness renewals every client sends.)
void HocuspocusConnection::schedule_keepalive() {
  keepalive_.expires_after(std::chrono::milliseconds(server_->docs->opts.keepalive_ms));
  keepalive_.async_wait([self = self_as<HocuspocusConnection>()](boost::system::error_code ec) {
    if (ec || self->closing()) return;
    if (!self->alive_) {
      self->do_close(ws::kPolicyViolation, "ping timeout", true);
      return;
    }
    self->alive_ = false;
    self->enqueue(ws::make_frame(ws::Opcode::Ping, {}));
    self->schedule_keepalive();
  });
}

void HocuspocusConnection::decode(Document& doc, uint64_t peer, std::span<const uint8_t> body) {
  hp::Body parsed;
  try {
    parsed = hp::parse_body(body);
  } catch (const std::exception& e) {
    // Validated on the socket's strand already; kept for safety.
    doc.close_peer(peer, ws::kInvalidPayload, std::string("invalid message: ") + e.what());
    return;
  }
  if (auto* s = std::get_if<hp::SyncMessage>(&parsed)) {
    if (s->type == yjs::sync::SyncType::SyncStep1) {
      doc.sync_step1(peer, s->data);
    } else {
      doc.write(peer, s->data);
    }
    return;
  }
  if (auto* a = std::get_if<hp::AwarenessMessage>(&parsed)) {
    doc.awareness(peer, a->update);
    return;
  }
  if (std::holds_alternative<hp::QueryAwarenessMessage>(parsed)) {
    doc.query_awareness(peer);
    return;
  }
  if (auto* st = std::get_if<hp::StatelessMessage>(&parsed)) {
    doc.stateless(peer, st->payload);
    return;
  }
  // Token and Close are handled on the socket's strand.
}

// ---------------------------------------------------------------------------------------------
// HocuspocusPeer

void HocuspocusPeer::send(const std::vector<uint8_t>& message) { socket_->enqueue(ws::binary_frame(message)); }

// Hocuspocus speaks first only with awareness; the sync starts with the provider's SyncStep1.
void HocuspocusPeer::joined(std::span<const uint8_t>, std::span<const uint8_t> awareness) {
  if (!awareness.empty()) send(hp::encode_awareness(address_, awareness));
}

// As Hocuspocus: our SyncStep1 (the provider answers with what we lack), then the provider's diff.
void HocuspocusPeer::answer_sync_step1(std::span<const uint8_t> state_vector, std::vector<uint8_t>&& diff) {
  ws::Frame frames[2] = {ws::binary_frame(hp::encode_sync_step1(address_, state_vector)),
                         ws::binary_frame(hp::encode_sync_step2(address_, diff))};
  socket_->enqueue(frames, 2, false);
}

void HocuspocusPeer::answer_query_awareness(std::span<const uint8_t> awareness) {
  send(hp::encode_awareness(address_, awareness));
}

void HocuspocusPeer::deliver_update(const SharedMessage& update) {
  socket_->enqueue(update.frame(&kProtocolTag, address_,
                                [&] { return ws::binary_frame(hp::encode_update(address_, update.payload())); }));
}

void HocuspocusPeer::deliver_awareness(const SharedMessage& awareness) {
  socket_->enqueue(awareness.frame(&kProtocolTag, address_,
                                   [&] { return ws::binary_frame(hp::encode_awareness(address_, awareness.payload())); }));
}

void HocuspocusPeer::write_acknowledged(bool saved) { send(hp::encode_sync_status(address_, saved)); }

void HocuspocusPeer::deliver_stateless(std::string_view payload) { send(hp::encode_stateless(address_, payload)); }

// Whatever ends a peer ends its whole socket: bad input (the client misbehaved; the close code says
// why), a document closed by the application (disconnectAll) or failing. The provider reconnects
// and authenticates each of its documents again, which is how it recovers from the last two.
// (Hocuspocus sends a per-document Close message instead, after which the 4.x provider stays
// detached from that document until it is recreated.)
void HocuspocusPeer::close_peer(uint16_t code, const std::string& reason) { socket_->close(code, reason); }

}  // namespace collabio::core
