#include "sio/redis_adapter.h"

#include "core/server_impl.h"
#include "socketio/notepack.h"
#include "socketio/packet.h"
#include "socketio/redis_wire.h"

namespace collabio::sio {

namespace wire = socketio::redis_wire;
using core::Event;

namespace {

// socket.io ids are 20 characters: the sharded adapter's "dynamic" mode publishes a broadcast to
// one room on the room's own channel unless the room looks like a socket id (sharded-adapter.ts).
bool looks_like_a_socket_id(const std::string& room) { return room.size() == 20; }

// The wire form of a packet the host encoded (Socket.IO text + attachments); false if the text
// does not parse (a host bug: the packet is then delivered locally only).
bool wire_packet(const Broadcast& b, wire::WirePacket& out) {
  socketio::Packet p;
  std::string error;
  if (!socketio::parse_packet(b.packet, p, error, static_cast<uint32_t>(b.attachments.size()) + 1)) return false;
  if (p.attachments != b.attachments.size()) return false;
  out.type = p.type;
  out.nsp = p.nsp;
  out.id = p.id;
  out.data_json.assign(p.data.data(), p.data.size());
  out.attachments = b.attachments;
  return true;
}

// A reply as JSON text for the host: bulk and status strings as strings (bytes copied as they are,
// control characters, quote and backslash escaped), integers as numbers, arrays as arrays, nil as
// null. Error replies do not come here.
void append_json(const redis::Reply& r, std::string& out) {
  switch (r.type) {
    case redis::Reply::Type::Nil:
      out += "null";
      return;
    case redis::Reply::Type::Integer:
      out += std::to_string(r.integer);
      return;
    case redis::Reply::Type::Array:
      out.push_back('[');
      for (size_t i = 0; i < r.elements.size(); ++i) {
        if (i) out.push_back(',');
        append_json(r.elements[i], out);
      }
      out.push_back(']');
      return;
    default:
      break;
  }
  static const char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (const unsigned char c : r.str) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20) {
      out += "\\u00";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

wire::BroadcastOpts wire_opts(const Broadcast& b) {
  wire::BroadcastOpts o;
  o.rooms = b.rooms;
  o.except = b.except;
  o.volatile_ = b.is_volatile;
  if (!b.compress) o.compress = false;  // socket.io sets the flag only when compress() was called
  return o;
}

}  // namespace

RedisAdapter::RedisAdapter(core::ServerImpl& server, LocalAdapter& local, RedisAdapterOptions options)
    : server_(server), local_(local), options_(std::move(options)) {
  redis::Options o;
  o.endpoint = options_.endpoint;
  o.tls = options_.tls;
  o.role = redis::Role::Subscriber;
  sub_ = std::make_unique<redis::Connection>(server_.ioc, o);
  // Both connections go to one endpoint with one set of credentials, so they fail and recover
  // together: only the subscriber logs, and an outage (or a refused password) is said once.
  o.role = redis::Role::Commands;
  o.log = [](std::string_view) {};
  pub_ = std::make_unique<redis::Connection>(server_.ioc, o);
}

RedisAdapter::~RedisAdapter() {
  // The connections' destructors wait for a handler running on another thread; none runs after.
  blocking_.reset();
  sub_.reset();
  pub_.reset();
}

void RedisAdapter::start() {
  // The connections never outlive this adapter (see the destructor): `this` is valid in the handler.
  sub_->on_message([this](redis::Message&& m) { on_message(std::move(m)); });
  pub_->start();
  sub_->start();
}

void RedisAdapter::broadcast(const Broadcast& b) {
  local_.broadcast(b);
  if (b.local) return;
  wire::WirePacket packet;
  if (!wire_packet(b, packet)) return;
  const std::string channel_prefix = prefix(b.nsp);
  if (!options_.sharded) {
    wire::ClassicBroadcast m{options_.uid, std::move(packet), wire_opts(b)};
    std::string payload = wire::encode_classic_broadcast(m);
    if (payload.empty()) return;
    // One room: that room's channel, which nodes without the room ignore (redis-adapter index.ts).
    pub_->command({"PUBLISH", b.rooms.size() == 1 ? wire::room_channel(channel_prefix, b.rooms[0]) : channel_prefix,
                   std::move(payload)});
    return;
  }
  const auto m = wire::make_cluster_broadcast(options_.uid, packet, wire_opts(b), std::nullopt);
  std::string payload = wire::encode_cluster_message(m);
  if (payload.empty()) return;
  const bool dynamic = b.rooms.size() == 1 && !looks_like_a_socket_id(b.rooms[0]);
  pub_->command({"SPUBLISH", dynamic ? wire::room_channel(channel_prefix, b.rooms[0]) : channel_prefix, std::move(payload)});
}

void RedisAdapter::set_namespace(const std::string& nsp, bool on) {
  if (options_.sharded) {
    const auto c = wire::sharded_channels(options_.key, nsp, options_.uid);
    if (on) {
      subscribe(redis::SubscriptionKind::Shard, {c.main}, nsp, ChannelKind::Message);
      subscribe(redis::SubscriptionKind::Shard, {c.response}, nsp, ChannelKind::Response);
    } else {
      unsubscribe(redis::SubscriptionKind::Shard, {c.main, c.response});
    }
    return;
  }
  const auto c = wire::classic_channels(options_.key, nsp, options_.uid);
  if (on) {
    subscribe(redis::SubscriptionKind::Pattern, {c.broadcast + "*"}, nsp, ChannelKind::Broadcast);
    subscribe(redis::SubscriptionKind::Channel, {c.request}, nsp, ChannelKind::Request);
    subscribe(redis::SubscriptionKind::Channel, {c.response, c.specific_response}, nsp, ChannelKind::Response);
  } else {
    unsubscribe(redis::SubscriptionKind::Pattern, {c.broadcast + "*"});
    unsubscribe(redis::SubscriptionKind::Channel, {c.request, c.response, c.specific_response});
  }
}

void RedisAdapter::set_room(const std::string& nsp, const std::string& room, bool on) {
  if (!options_.sharded) return;
  std::string channel = wire::room_channel(prefix(nsp), room);
  if (on) {
    subscribe(redis::SubscriptionKind::Shard, {std::move(channel)}, nsp, ChannelKind::Message);
  } else {
    unsubscribe(redis::SubscriptionKind::Shard, {std::move(channel)});
  }
}

void RedisAdapter::subscribe(redis::SubscriptionKind kind, std::vector<std::string> channels, const std::string& nsp,
                             ChannelKind channel_kind) {
  {
    std::lock_guard lk(channels_mu_);
    for (const auto& c : channels) channels_[c] = Channel{nsp, channel_kind};
  }
  sub_->subscribe(kind, std::move(channels));
}

void RedisAdapter::unsubscribe(redis::SubscriptionKind kind, std::vector<std::string> channels) {
  {
    std::lock_guard lk(channels_mu_);
    for (const auto& c : channels) channels_.erase(c);
  }
  sub_->unsubscribe(kind, std::move(channels));
}

void RedisAdapter::publish(const std::string& channel, const std::string& json,
                           const std::vector<std::string>& attachments, bool msgpack) {
  std::string payload = json;
  if (msgpack) {
    std::string error;
    if (!socketio::notepack::from_json(json, attachments, payload, error)) {
      server_.push_event(Event::adapter_bad_message({}, "cannot encode a message: " + error));
      return;
    }
  }
  pub_->command({options_.sharded ? "SPUBLISH" : "PUBLISH", channel, std::move(payload)});
}

void RedisAdapter::server_count(const std::string& nsp, int64_t id) {
  std::vector<std::string> args{"PUBSUB"};
  if (options_.sharded) {
    args.push_back("SHARDNUMSUB");
    args.push_back(prefix(nsp));
  } else {
    args.push_back("NUMSUB");
    args.push_back(wire::classic_channels(options_.key, nsp, options_.uid).request);
  }
  // The reply handler runs on the connection's strand; push_event is thread-safe.
  core::ServerImpl* server = &server_;
  pub_->command(std::move(args), [server, id, nsp](std::error_code ec, redis::Reply r) {
    std::string count;
    std::string error;
    if (ec) {
      error = ec.message();
    } else if (r.is_error()) {
      error = r.str;
    } else if (r.type != redis::Reply::Type::Array || r.elements.size() != 2 ||
               r.elements[1].type != redis::Reply::Type::Integer) {
      error = "unexpected reply to PUBSUB";
    } else {
      count = std::to_string(r.elements[1].integer);
    }
    server->push_event(Event::adapter_reply(id, nsp, std::move(count), std::move(error)));
  });
}

void RedisAdapter::command(std::vector<std::string> args, int64_t id, bool blocking) {
  redis::Connection* conn = pub_.get();
  if (blocking) {
    if (!blocking_) {
      blocking_ = pub_->duplicate(redis::Role::Commands);
      blocking_->start();
    }
    conn = blocking_.get();
  }
  core::ServerImpl* server = &server_;
  conn->command(std::move(args), [server, id](std::error_code ec, redis::Reply r) {
    std::string reply_json;
    std::string error;
    if (ec) {
      error = ec.message();
    } else if (r.is_error()) {
      error = r.str.empty() ? "error reply" : r.str;
    } else {
      append_json(r, reply_json);
    }
    server->push_event(Event::adapter_command_reply(id, std::move(reply_json), std::move(error)));
  });
}

// ---- the subscriber's strand ----

void RedisAdapter::on_message(redis::Message&& m) {
  Channel c;
  {
    std::lock_guard lk(channels_mu_);
    const auto it = channels_.find(m.kind == redis::SubscriptionKind::Pattern ? m.pattern : m.channel);
    if (it == channels_.end()) return;  // unsubscribed meanwhile
    c = it->second;
  }
  switch (c.kind) {
    case ChannelKind::Broadcast:
      return on_classic_broadcast(c.nsp, m.payload);
    case ChannelKind::Request:
      return to_host(c.nsp, "request", m.payload);
    case ChannelKind::Response:
      if (options_.sharded) return on_sharded_message(c.nsp, c.kind, m.payload);
      return to_host(c.nsp, "response", m.payload);
    case ChannelKind::Message:
      return on_sharded_message(c.nsp, c.kind, m.payload);
  }
}

void RedisAdapter::on_classic_broadcast(const std::string& nsp, const std::string& payload) {
  wire::ClassicBroadcast m;
  std::string error;
  if (!wire::decode_classic_broadcast(payload, m, error)) return bad_message(prefix(nsp), error);
  if (m.uid == options_.uid) return;      // our own broadcast, delivered when it was published
  if (m.packet.nsp != nsp) return;        // another namespace's (redis-adapter ignores them too)
  if (m.opts.local) return;
  deliver_remote(Broadcast{nsp, std::move(m.opts.rooms), std::move(m.opts.except), wire::to_socketio_text(m.packet),
                           std::move(m.packet.attachments), m.opts.volatile_, true, m.opts.compress.value_or(true)});
}

void RedisAdapter::on_sharded_message(const std::string& nsp, ChannelKind kind, const std::string& payload) {
  wire::ClusterMessage m;
  std::string error;
  if (!wire::decode_cluster_message(payload, m, error)) return bad_message(prefix(nsp), error);
  if (m.uid == options_.uid || m.nsp != nsp) return;
  if (kind == ChannelKind::Message && m.type == wire::MessageType::Broadcast) {
    wire::WirePacket packet;
    wire::BroadcastOpts opts;
    std::optional<std::string> request_id;
    if (!wire::decode_cluster_broadcast(m, packet, opts, request_id, error)) return bad_message(prefix(nsp), error);
    if (!request_id) {
      if (opts.local) return;
      deliver_remote(Broadcast{nsp, std::move(opts.rooms), std::move(opts.except), wire::to_socketio_text(packet),
                               std::move(packet.attachments), opts.volatile_, true, opts.compress.value_or(true)});
      return;
    }
    // A broadcast with acks: each recipient needs its own ack id, which the host assigns.
  }
  to_host(nsp, kind == ChannelKind::Response ? "response" : "message", payload);
}

void RedisAdapter::to_host(const std::string& nsp, const char* kind, const std::string& payload) {
  std::string json;
  std::vector<std::string> attachments;
  std::string error;
  if (!wire::decode_payload(payload, json, attachments, error)) return bad_message(nsp, error);
  server_.push_event(Event::adapter_message(nsp, std::move(json), std::move(attachments), kind));
}

void RedisAdapter::bad_message(const std::string& channel, const std::string& error) {
  server_.adapter_bad_messages.fetch_add(1, std::memory_order_relaxed);
  server_.push_event(Event::adapter_bad_message(channel, error));
}

void RedisAdapter::deliver_remote(Broadcast b) {
  // Adapter state belongs to the command strand; the adapter may be gone by the time this runs.
  server_.command([weak = weak_from_this(), b = std::move(b)] {
    if (auto self = weak.lock()) self->local_.broadcast(b);
  });
}

}  // namespace collabio::sio
