// The messages of @socket.io/redis-adapter 8.x on Redis channels, as pure functions: channel
// names, and the broadcast messages converted to and from the core's form of a Socket.IO packet
// (JSON text with `_placeholder` objects + binary attachments; see packet.h and notepack.h).
//
// Classic adapter (redis-adapter lib/index.ts, createAdapter): PUBLISH / PSUBSCRIBE.
//   broadcasts   `${key}#${nsp}#` (several rooms or none) and `${key}#${nsp}#${room}#` (one room),
//                payload msgpack `[uid, packet, opts]`, packet `{type, data, nsp[, id]}`;
//   requests     `${key}-request#${nsp}#`, JSON (or msgpack for BROADCAST) objects
//                `{uid, requestId?, type: RequestType, ...}`;
//   responses    `${key}-response#${nsp}#` and `${key}-response#${nsp}#${uid}#`;
//   servers      PUBSUB NUMSUB of the request channel.
// Sharded adapter (redis-adapter lib/sharded-adapter.ts over socket.io-adapter's ClusterAdapter):
// SPUBLISH / SSUBSCRIBE.
//   messages     `${key}#${nsp}#`, and `${key}#${nsp}#${room}#` for single-room broadcasts in the
//                dynamic subscription modes; responses `${key}#${nsp}#${uid}#`;
//   payload      `{type: MessageType, data, uid, nsp}` as JSON, or msgpack when data holds a binary;
//                a BROADCAST's data is `{packet: {type, data}, opts, requestId?}` (no nsp in packet);
//   servers      PUBSUB SHARDNUMSUB of `${key}#${nsp}#`.
// opts is `{rooms: [...], except: [...], flags: {volatile?, compress?, local?, timeout?, ...}}`.
// Every decoder takes untrusted bytes and returns false with a reason; nothing throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "socketio/packet.h"

namespace collabio::socketio::redis_wire {

/// redis-adapter lib/index.ts RequestType (classic adapter requests and responses).
enum class RequestType : uint8_t {
  Sockets = 0,
  AllRooms = 1,
  RemoteJoin = 2,
  RemoteLeave = 3,
  RemoteDisconnect = 4,
  RemoteFetch = 5,
  ServerSideEmit = 6,
  Broadcast = 7,
  BroadcastClientCount = 8,
  BroadcastAck = 9,
};

/// socket.io-adapter lib/cluster-adapter.ts MessageType (sharded adapter messages).
enum class MessageType : uint8_t {
  InitialHeartbeat = 1,
  Heartbeat = 2,
  Broadcast = 3,
  SocketsJoin = 4,
  SocketsLeave = 5,
  DisconnectSockets = 6,
  FetchSockets = 7,
  FetchSocketsResponse = 8,
  ServerSideEmit = 9,
  ServerSideEmitResponse = 10,
  BroadcastClientCount = 11,
  BroadcastAck = 12,
  AdapterClose = 13,
};

/// The classic adapter's channels for one namespace. Example for key "socket.io", nsp "/chat",
/// uid "Ab3dE9": broadcast "socket.io#/chat#", request "socket.io-request#/chat#", response
/// "socket.io-response#/chat#", specific_response "socket.io-response#/chat#Ab3dE9#".
struct ClassicChannels {
  std::string broadcast;  // also the PSUBSCRIBE pattern's prefix: broadcast + "*"
  std::string request;
  std::string response;
  std::string specific_response;
};
ClassicChannels classic_channels(std::string_view key, std::string_view nsp, std::string_view uid);

/// `${prefix}${room}#`: the channel of a single-room broadcast (classic), or of a room in the
/// sharded adapter's dynamic modes, where `prefix` is `${key}#${nsp}#`.
std::string room_channel(std::string_view prefix, std::string_view room);

/// The room a broadcast channel names: "" for `prefix` itself, "r" for `${prefix}r#`; nullopt
/// when the channel does not start with `prefix` or does not end with '#'.
std::optional<std::string> room_of_channel(std::string_view channel, std::string_view prefix);

/// The sharded adapter's channels: main `${key}#${nsp}#` and response `${key}#${nsp}#${uid}#`.
struct ShardedChannels {
  std::string main;
  std::string response;
};
ShardedChannels sharded_channels(std::string_view key, std::string_view nsp, std::string_view uid);

/// A Socket.IO packet as the adapters carry it. `type` is the core's: BinaryEvent / BinaryAck
/// when `attachments` is not empty (on the wire it is EVENT / ACK with the binaries inline).
/// `data_json` is the payload (for an event, the array of name and arguments) with placeholders
/// indexing `attachments`.
struct WirePacket {
  PacketType type = PacketType::Event;
  std::string nsp = "/";
  std::optional<uint64_t> id;
  std::string data_json = "[]";
  std::vector<std::string> attachments;
};

/// The broadcast options. Of the flags, these four are read and written; others are ignored
/// (socket.io 4 sets no others on a broadcast).
struct BroadcastOpts {
  std::vector<std::string> rooms;
  std::vector<std::string> except;
  bool volatile_ = false;
  bool local = false;
  std::optional<bool> compress;
  std::optional<uint64_t> timeout_ms;
};

/// A classic broadcast: msgpack `[uid, packet, opts]`.
struct ClassicBroadcast {
  std::string uid;
  WirePacket packet;
  BroadcastOpts opts;
};
bool decode_classic_broadcast(std::string_view payload, ClassicBroadcast& out, std::string& error);
/// Always msgpack, as RedisAdapter#broadcast; the packet carries `nsp`. The encoders return an
/// empty string when a placeholder in `data_json` indexes no attachment.
std::string encode_classic_broadcast(const ClassicBroadcast& message);

/// A sharded (cluster) message: `{type, data, uid, nsp}`. `data_json` is `data` with
/// placeholders indexing `attachments` ("null" when absent).
struct ClusterMessage {
  MessageType type = MessageType::Broadcast;
  std::string uid;
  std::string nsp = "/";
  std::string data_json = "null";
  std::vector<std::string> attachments;
};
/// JSON when the payload starts with '{', msgpack otherwise (sharded-adapter.ts onRawMessage).
bool decode_cluster_message(std::string_view payload, ClusterMessage& out, std::string& error);
/// JSON when there are no attachments, msgpack otherwise (sharded-adapter.ts encode()).
std::string encode_cluster_message(const ClusterMessage& message);

/// A cluster BROADCAST's data `{packet, opts, requestId?}` (requestId: a broadcast with acks).
/// The packet carries no nsp on the wire: `packet.nsp` is set from the message's.
bool decode_cluster_broadcast(const ClusterMessage& message, WirePacket& packet, BroadcastOpts& opts,
                              std::optional<std::string>& request_id, std::string& error);
ClusterMessage make_cluster_broadcast(std::string_view uid, const WirePacket& packet, const BroadcastOpts& opts,
                                      const std::optional<std::string>& request_id);

/// Any payload of the request and response channels: JSON text as is when it starts with '{',
/// else msgpack converted to JSON text + attachments.
bool decode_payload(std::string_view payload, std::string& json, std::vector<std::string>& attachments, std::string& error);

/// The Socket.IO text of a wire packet for the core's encoder: encode_packet(...) with the type
/// made BinaryEvent / BinaryAck when there are attachments (they follow as binary frames).
std::string to_socketio_text(const WirePacket& packet);

}  // namespace collabio::socketio::redis_wire
