#include "core/yjs_connection.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "core/documents.h"
#include "yjs/sync_protocol.h"

namespace collabio::core {

namespace sync = yjs::sync;

namespace {
// Messages a client may send before its document is attached (authorization or loading pending).
constexpr size_t kMaxEarlyMessages = 256;

// Tags SharedMessage frames as y-websocket's.
constexpr char kProtocolTag = 0;
}  // namespace

void start_yjs_connection(const std::shared_ptr<ServerImpl>& server, tcp::socket socket,
                          std::shared_ptr<const Handshake> handshake, std::string doc_name,
                          std::string http_response, std::string leftover, ws::Deflate deflate) {
  auto c = std::make_shared<YjsConnection>(server, std::move(socket), std::move(handshake), std::move(doc_name),
                                           deflate);
  server->register_connection(c);
  c->start({ws::raw_bytes(std::move(http_response))}, std::move(leftover));
}

YjsConnection::YjsConnection(std::shared_ptr<ServerImpl> server, tcp::socket socket,
                             std::shared_ptr<const Handshake> hs, std::string doc_name, ws::Deflate deflate)
    : WsConnection(Kind::YjsDocument, server, std::move(socket),
                   server->docs ? server->docs->opts.max_message : (1u << 20), deflate),
      DocPeer(WsConnection::id()),
      doc_name_(std::move(doc_name)),
      handshake_(std::move(hs)),
      keepalive_(executor()) {}

void YjsConnection::on_started() {
  // Registered (start_yjs_connection) before this check: a connection that missed the shutdown's
  // snapshot of the table sees closing() here, so none outlives io.close().
  if (server_->closing()) {
    do_close(ws::kGoingAway, "server shutting down", false);
    return;
  }
  if (!server_->docs || !server_->docs->opts.enabled) {
    do_close(ws::kPolicyViolation, "documents are not enabled on this server", false);
    return;
  }
  schedule_keepalive();
  if (server_->docs->opts.authorize) {
    // The application decides (lib/documents.js); frames that arrive meanwhile are kept.
    server_->push_event(Event::doc_auth(id(), doc_name_, handshake_));
    return;
  }
  decided_ = true;
  attach(false);
}

void YjsConnection::authorized(int mode, std::string reason) {
  net::post(executor(), [self = self_as<YjsConnection>(), mode, reason = std::move(reason)] {
    if (self->decided_ || self->closing()) return;
    self->decided_ = true;
    if (mode == kDocAuthRefuse) {
      const std::string why = reason.empty() ? "permission denied" : reason;
      const auto msg = sync::encode_permission_denied(why);
      self->enqueue(ws::make_frame(ws::Opcode::Binary,
                                   std::string_view(reinterpret_cast<const char*>(msg.data()), msg.size())));
      self->do_close(kForbidden, why, false);
      return;
    }
    self->attach(mode == kDocAuthReadOnly);
  });
}

void YjsConnection::attach(bool read_only) {
  auto doc = server_->docs->acquire(doc_name_);
  if (!doc) {
    do_close(1013, "too many documents loaded", false);  // 1013: try again later
    return;
  }
  doc_ = doc;
  auto self = self_as<YjsConnection>();
  auto early = std::move(early_);
  early_.clear();
  early_bytes_ = 0;
  net::post(doc->strand(), [doc, self, read_only, early = std::move(early)]() mutable {
    doc->add_peer(self, read_only);
    for (auto& m : early) doc->on_message(self->peer_id(), std::move(m), 0, &YjsConnection::decode);
    self->server_->docs->release(doc);
  });
}

void YjsConnection::on_ws_message(bool, std::string&& payload) {
  alive_ = true;
  if (!doc_) {
    early_bytes_ += payload.size();
    if (early_.size() >= kMaxEarlyMessages || early_bytes_ > server_->docs->opts.max_message) {
      do_close(ws::kPolicyViolation, "too many messages before the document was ready", true);
      return;
    }
    early_.push_back(std::move(payload));
    return;
  }
  // Text or binary alike: the bytes are a y-websocket message; the document's strand decodes it.
  // dispatch, not post: when the document's strand is idle (the common case) the message is handled
  // right here, on this I/O thread, inside the document's strand; a post would hand every update
  // to another thread (a wake-up through the scheduler) before the relay starts. When the strand
  // is busy on another thread the message is queued behind its work, in order, as a post would.
  // The message counts against this connection's inbound budget until the document has handled
  // (and stored) it.
  auto hold = server_->to_documents->hold(id(), payload.size());
  net::dispatch(doc_->strand(), [doc = doc_, id = peer_id(), msg = std::move(payload), hold = std::move(hold)]() mutable {
    doc->on_message(id, std::move(msg), 0, &YjsConnection::decode, std::move(hold));
  });
}

bool YjsConnection::pause_reading(const InboundBudget::MakeResume& make_resume) {
  return server_->to_documents->pause_if_over(id(), make_resume);
}

void YjsConnection::on_closed(const std::string&) {
  keepalive_.cancel();
  early_.clear();
  if (doc_) net::post(doc_->strand(), [doc = doc_, id = peer_id()] { doc->remove_peer(id); });
}

// The y-websocket provider reconnects after 30 s without a message; WebSocket pings from us keep
// proxies happy and detect dead peers: no pong (and no message) for a whole period closes.
void YjsConnection::schedule_keepalive() {
  keepalive_.expires_after(std::chrono::milliseconds(server_->docs->opts.keepalive_ms));
  keepalive_.async_wait([self = self_as<YjsConnection>()](boost::system::error_code ec) {
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

// ---- DocPeer ----

// The server speaks first: its state vector, then who is here.
void YjsConnection::joined(std::span<const uint8_t> state_vector, std::span<const uint8_t> awareness) {
  ws::Frame frames[2] = {ws::binary_frame(sync::encode_sync_step1(state_vector)), nullptr};
  size_t n = 1;
  if (!awareness.empty()) frames[n++] = ws::binary_frame(sync::encode_awareness(awareness));
  enqueue(frames, n, false);
}

void YjsConnection::answer_sync_step1(std::span<const uint8_t>, std::vector<uint8_t>&& diff) {
  enqueue(ws::binary_frame(sync::encode_sync_step2(std::move(diff))));
}

void YjsConnection::answer_query_awareness(std::span<const uint8_t> awareness) {
  enqueue(ws::binary_frame(sync::encode_awareness(awareness)));
}

void YjsConnection::deliver_update(const SharedMessage& update) {
  enqueue(update.frame(&kProtocolTag, {}, [&] { return ws::binary_frame(sync::encode_update(update.payload())); }));
}

void YjsConnection::deliver_awareness(const SharedMessage& awareness) {
  enqueue(awareness.frame(&kProtocolTag, {}, [&] { return ws::binary_frame(sync::encode_awareness(awareness.payload())); }));
}

void YjsConnection::decode(Document& doc, uint64_t peer, std::span<const uint8_t> message) {
  sync::ParsedMessage parsed;
  try {
    parsed = sync::parse_message(message);
  } catch (const sync::ProtocolError& e) {
    // Unknown message types are ignored for forward compatibility (as the reference server);
    // anything malformed closes only this connection.
    if (e.kind() == sync::ProtocolError::Kind::UnknownMessageType) return;
    doc.close_peer(peer, ws::kInvalidPayload, std::string("invalid message: ") + e.what());
    return;
  } catch (const std::exception& e) {
    doc.close_peer(peer, ws::kInvalidPayload, std::string("invalid message: ") + e.what());
    return;
  }
  if (auto* s = std::get_if<sync::SyncMessage>(&parsed.message)) {
    if (s->type == sync::SyncType::SyncStep1) {
      doc.sync_step1(peer, s->data);
    } else {
      doc.write(peer, s->data);
    }
    return;
  }
  if (auto* a = std::get_if<sync::AwarenessMessage>(&parsed.message)) {
    doc.awareness(peer, a->update);
    return;
  }
  if (std::holds_alternative<sync::QueryAwarenessMessage>(parsed.message)) {
    doc.query_awareness(peer);
    return;
  }
  // Auth messages from a client mean nothing to the server.
}

}  // namespace collabio::core
