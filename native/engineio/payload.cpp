// Engine.IO v4 long-polling payloads ('\x1e'-separated packets, binary as 'b' + base64).
#include <array>

#include "engineio/packet.h"

namespace collabio::engineio {
namespace {

constexpr std::string_view kBase64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Maps a base64 character (standard or url-safe) to its 6-bit value; -1 for anything else.
constexpr std::array<int8_t, 256> make_decode_table() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (size_t i = 0; i < kBase64Alphabet.size(); ++i) t[static_cast<uint8_t>(kBase64Alphabet[i])] = static_cast<int8_t>(i);
  t[static_cast<uint8_t>('-')] = 62;
  t[static_cast<uint8_t>('_')] = 63;
  return t;
}
constexpr auto kDecodeTable = make_decode_table();

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back(kBase64Alphabet[v & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest == 1) {
    const uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.append("==");
  } else if (rest == 2) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8);
    out.push_back(kBase64Alphabet[(v >> 18) & 63]);
    out.push_back(kBase64Alphabet[(v >> 12) & 63]);
    out.push_back(kBase64Alphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

bool base64_decode(std::string_view text, std::string& out) {
  // Padding is optional, but when present it must complete the last group of four.
  if (text.size() % 4 == 0 && !text.empty()) {
    if (text.back() == '=') text.remove_suffix(1);
    if (!text.empty() && text.back() == '=') text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) return false;
  out.clear();
  out.reserve(text.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = kDecodeTable[static_cast<uint8_t>(c)];
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

bool decode_payload(std::string_view body, std::vector<PollingPacket>& out) {
  // An empty body is one empty element, which engine.io-parser decodes as an error packet.
  size_t pos = 0;
  while (true) {
    const size_t end = body.find(kPayloadSeparator, pos);
    const std::string_view element = body.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    if (element.empty()) return false;
    PollingPacket packet;
    if (element.front() == 'b') {
      packet.binary = true;
      if (!base64_decode(element.substr(1), packet.data)) return false;
    } else {
      PacketType type;
      std::string_view data;
      if (!parse_text_packet(element, type, data)) return false;
      packet.data.assign(element);
    }
    out.push_back(std::move(packet));
    if (end == std::string_view::npos) return true;
    pos = end + 1;
  }
}

void append_to_payload(std::string& out, size_t index, bool binary, std::string_view data) {
  if (index > 0) out.push_back(kPayloadSeparator);
  if (binary) {
    out.push_back('b');
    out += base64_encode(data);
  } else {
    out.append(data);
  }
}

std::string encode_payload(const std::vector<PollingPacket>& packets) {
  std::string out;
  for (size_t i = 0; i < packets.size(); ++i) append_to_payload(out, i, packets[i].binary, packets[i].data);
  return out;
}

}  // namespace collabio::engineio
