#include "redis/slots.h"

#include <array>
#include <charconv>
#include <strings.h>

namespace collabio::redis {
namespace {

constexpr std::array<uint16_t, 256> make_crc_table() {
  std::array<uint16_t, 256> table{};
  for (int i = 0; i < 256; ++i) {
    uint16_t crc = static_cast<uint16_t>(i << 8);
    for (int bit = 0; bit < 8; ++bit) crc = static_cast<uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    table[i] = crc;
  }
  return table;
}
constexpr auto kCrcTable = make_crc_table();

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

template <class Int>
bool parse_int(std::string_view s, Int& out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// "host:port", "[::1]:port" or "::1:port" (Redis writes IPv6 without brackets): the last colon
// splits.
bool parse_address(std::string_view text, std::string& host, uint16_t& port) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  if (!parse_int(text.substr(colon + 1), port) || port == 0) return false;
  host.assign(h);
  return true;
}

bool reply_int(const Reply& r, int64_t& out) {
  if (r.type == Reply::Type::Integer) {
    out = r.integer;
    return true;
  }
  return r.is_string() && parse_int(std::string_view(r.str), out);
}

}  // namespace

uint16_t crc16(std::string_view bytes) {
  uint16_t crc = 0;
  for (unsigned char c : bytes) crc = static_cast<uint16_t>((crc << 8) ^ kCrcTable[((crc >> 8) ^ c) & 0xff]);
  return crc;
}

uint16_t key_slot(std::string_view key) {
  const size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return crc16(key) & (kSlotCount - 1);
}

std::optional<uint16_t> command_slot(const std::vector<std::string>& args) {
  if (args.size() < 2) return std::nullopt;
  const std::string& verb = args[0];
  if (iequals(verb, "EVAL") || iequals(verb, "EVALSHA") || iequals(verb, "FCALL")) {
    size_t numkeys = 0;
    if (args.size() < 4 || !parse_int(std::string_view(args[2]), numkeys) || numkeys == 0) return std::nullopt;
    return key_slot(args[3]);
  }
  if (iequals(verb, "XREAD") || iequals(verb, "XREADGROUP")) {
    for (size_t i = 1; i + 1 < args.size(); ++i) {
      if (iequals(args[i], "STREAMS")) return key_slot(args[i + 1]);
    }
    return std::nullopt;
  }
  for (std::string_view keyless : {"PING", "PUBLISH", "CLUSTER", "INFO", "ASKING", "CLIENT", "AUTH", "SELECT", "SCRIPT"}) {
    if (iequals(verb, keyless)) return std::nullopt;
  }
  return key_slot(args[1]);
}

std::string hash_tag_for_slot(uint16_t slot) {
  slot &= kSlotCount - 1;
  // Every slot is reached by a decimal number below 2^20 (checked by slots_test), usually within
  // a few ten thousand tries.
  for (uint32_t i = 0;; ++i) {
    std::string tag = std::to_string(i);
    if (key_slot(tag) == slot) return tag;
  }
}

bool parse_cluster_slots(const Reply& reply, std::vector<SlotRange>& out) {
  out.clear();
  if (reply.type != Reply::Type::Array) return false;
  for (const Reply& range : reply.elements) {
    if (range.type != Reply::Type::Array || range.elements.size() < 3) return false;
    int64_t first = 0, last = 0, port = 0;
    if (!reply_int(range.elements[0], first) || !reply_int(range.elements[1], last)) return false;
    if (first < 0 || last < first || last >= kSlotCount) return false;
    const Reply& master = range.elements[2];
    if (master.type != Reply::Type::Array || master.elements.size() < 2 || !master.elements[0].is_string()) return false;
    if (!reply_int(master.elements[1], port) || port <= 0 || port > 65535) return false;
    SlotRange r;
    r.first = static_cast<uint16_t>(first);
    r.last = static_cast<uint16_t>(last);
    r.host = master.elements[0].str == "?" ? std::string() : master.elements[0].str;
    r.port = static_cast<uint16_t>(port);
    out.push_back(std::move(r));
  }
  return true;
}

std::optional<Redirect> parse_redirect(std::string_view error) {
  Redirect r;
  if (error.substr(0, 6) == "MOVED ") {
    r.kind = Redirect::Kind::Moved;
    error.remove_prefix(6);
  } else if (error.substr(0, 4) == "ASK ") {
    r.kind = Redirect::Kind::Ask;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const size_t space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  if (!parse_int(error.substr(0, space), r.slot) || r.slot >= kSlotCount) return std::nullopt;
  if (!parse_address(error.substr(space + 1), r.host, r.port)) return std::nullopt;
  return r;
}

}  // namespace collabio::redis
