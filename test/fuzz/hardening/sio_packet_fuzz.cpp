// libFuzzer target: what an Engine.IO / Socket.IO client can send. The input is tried as
//  - a WebSocket text frame: Engine.IO packet -> Socket.IO packet -> (binary packets) the
//    placeholder check that runs when all attachments have arrived (EioConnection);
//  - a long-polling body (decode_payload, with its base64 binary packets).
// Invariants beyond "no crash, no sanitizer report": a packet that parses re-encodes (header +
// verbatim JSON) to text that parses to the same packet.
// Seed corpus: test/fuzz/corpus/sio_packet/.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engineio/packet.h"
#include "socketio/packet.h"

using namespace collabio;

namespace {

void check_socketio(std::string_view text, uint32_t max_attachments) {
  socketio::Packet p;
  std::string err;
  if (!socketio::parse_packet(text, p, err, max_attachments)) return;
  // What the core forwards to JavaScript is the payload verbatim: the tail of the packet text.
  if (p.data.size() > text.size() || text.substr(text.size() - p.data.size()) != p.data) __builtin_trap();
  // Round trip through the encoder (the Redis adapter's wire packets are encoded with it).
  const std::string again = socketio::encode_packet(p.type, p.nsp, p.id, p.attachments, p.data);
  socketio::Packet q;
  std::string err2;
  if (!socketio::parse_packet(again, q, err2, max_attachments)) __builtin_trap();
  if (q.type != p.type || q.nsp != p.nsp || q.id != p.id || q.attachments != p.attachments || q.data != p.data)
    __builtin_trap();
  if (p.attachments > 0) {
    // The reassembly check with the declared count, and with counts a liar might deliver.
    socketio::check_placeholders(p.data, p.attachments, err);
    socketio::check_placeholders(p.data, p.attachments + 1, err);
    if (p.attachments > 1) socketio::check_placeholders(p.data, p.attachments - 1, err);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // First byte: the maxAttachments setting (0..15); the rest is the wire text.
  const uint32_t max_attachments = data[0] & 0x0F;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);  // bytes as text

  engineio::PacketType type;
  std::string_view payload;
  if (engineio::parse_text_packet(text, type, payload) && type == engineio::PacketType::Message)
    check_socketio(payload, max_attachments);
  // The Socket.IO layer alone too (the Engine.IO digit is often what the fuzzer mutates away).
  check_socketio(text, max_attachments);

  std::vector<engineio::PollingPacket> packets;
  if (engineio::decode_payload(text, packets)) {
    // Our encoder's output decodes to the same packets.
    std::vector<engineio::PollingPacket> again;
    if (!engineio::decode_payload(engineio::encode_payload(packets), again) || again.size() != packets.size())
      __builtin_trap();
    for (size_t i = 0; i < packets.size(); ++i)
      if (again[i].binary != packets[i].binary || again[i].data != packets[i].data) __builtin_trap();
  }
  for (const auto& pk : packets)
    if (!pk.binary && engineio::parse_text_packet(pk.data, type, payload) && type == engineio::PacketType::Message)
      check_socketio(payload, max_attachments);
  return 0;
}
