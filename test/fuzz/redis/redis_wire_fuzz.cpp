// The Redis adapter's wire codec on hostile channel payloads: notepack.io's msgpack
// (socketio/notepack.h) and the broadcast messages (socketio/redis_wire.h). Any bytes give a
// decoded value or an error, never a crash. What the msgpack decoder accepts encodes again and
// decodes to the same text (when the input held no literal "_placeholder" key, which re-encoding
// turns into a binary as socket.io-parser would). A decoded broadcast re-encodes and decodes to
// the same packet.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "socketio/notepack.h"
#include "socketio/redis_wire.h"

namespace notepack = collabio::socketio::notepack;
namespace wire = collabio::socketio::redis_wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);  // bytes as chars
  std::string error;

  wire::ClassicBroadcast classic;
  if (wire::decode_classic_broadcast(bytes, classic, error)) {
    wire::ClassicBroadcast again;
    if (!wire::decode_classic_broadcast(wire::encode_classic_broadcast(classic), again, error)) std::abort();
    if (again.packet.data_json != classic.packet.data_json || again.packet.attachments != classic.packet.attachments) std::abort();
  }
  wire::ClusterMessage cluster;
  if (wire::decode_cluster_message(bytes, cluster, error)) {
    wire::WirePacket packet;
    wire::BroadcastOpts opts;
    std::optional<std::string> request_id;
    (void)wire::decode_cluster_broadcast(cluster, packet, opts, request_id, error);
  }

  std::string json;
  std::vector<std::string> attachments;
  if (!notepack::to_json(bytes, json, attachments, error)) return 0;
  std::string encoded;
  if (!notepack::from_json(json, attachments, encoded, error)) {
    if (error != "illegal attachments") std::abort();  // our own JSON text always parses
    return 0;
  }
  std::string again;
  std::vector<std::string> again_attachments;
  if (!notepack::to_json(encoded, again, again_attachments, error)) std::abort();
  if (json.find("_placeholder") == std::string::npos && (again != json || again_attachments != attachments)) std::abort();
  return 0;
}
