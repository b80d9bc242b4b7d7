// Minimal WebSocket (RFC 6455) framing shared by the bench load generator and the ceiling server.
//
// Only what the benchmark needs: unfragmented text/binary frames, close, ping/pong. No extensions.
// Server frames are unmasked; client frames are masked with a fresh random key per frame, as RFC
// 6455 §5.3 requires of clients and as browsers and `ws` clients do. (A zero key would flatter the
// servers: `ws` skips unmasking when the key is zero.) The keys come from a per-thread
// xoshiro-style generator seeded by std::random_device: unpredictable enough for a benchmark,
// which defends against no proxy.
#pragma once

#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <time.h>

namespace bench {

inline uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

enum Opcode : uint8_t { kCont = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };

// A random 32-bit mask key (splitmix64 over a per-thread random seed).
inline uint32_t mask_key() {
  thread_local uint64_t state = (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}();
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return uint32_t(z ^ (z >> 31));
}

// Appends one complete frame (FIN set) to `out`.
inline void append_frame(std::string& out, uint8_t opcode, std::string_view payload, bool masked) {
  const size_t n = payload.size();
  out.push_back(char(0x80 | opcode));
  const uint8_t mask_bit = masked ? 0x80 : 0;
  if (n < 126) {
    out.push_back(char(mask_bit | n));
  } else if (n <= 0xffff) {
    out.push_back(char(mask_bit | 126));
    out.push_back(char(n >> 8));
    out.push_back(char(n & 0xff));
  } else {
    out.push_back(char(mask_bit | 127));
    for (int i = 7; i >= 0; --i) out.push_back(char((uint64_t(n) >> (8 * i)) & 0xff));
  }
  if (!masked) {
    out.append(payload);
    return;
  }
  uint8_t key[4];
  const uint32_t k = mask_key();
  std::memcpy(key, &k, 4);
  out.append(reinterpret_cast<const char*>(key), 4);
  const size_t at = out.size();
  out.append(payload);
  // RFC 6455 §5.3: octet i is XORed with key[i % 4]; eight octets at a time, then the tail.
  uint8_t* d = reinterpret_cast<uint8_t*>(out.data() + at);
  uint64_t k8;
  const uint8_t key8[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
  std::memcpy(&k8, key8, 8);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, d + i, 8);
    w ^= k8;
    std::memcpy(d + i, &w, 8);
  }
  for (; i < n; ++i) d[i] ^= key[i % 4];
}

inline std::string make_frame(uint8_t opcode, std::string_view payload, bool masked) {
  std::string s;
  s.reserve(payload.size() + 14);
  append_frame(s, opcode, payload, masked);
  return s;
}

struct Frame {
  uint8_t opcode = 0;
  bool fin = true;
  std::string_view payload;  // points into the caller's buffer (unmasked in place)
  size_t consumed = 0;       // bytes of the buffer this frame used
};

// Parses one frame from data[0..len). Returns nullopt when more bytes are needed. Unmasks the payload
// in place. `max_payload` bounds a frame; a bigger one sets `too_big`.
inline std::optional<Frame> parse_frame(char* data, size_t len, size_t max_payload, bool& too_big) {
  too_big = false;
  if (len < 2) return std::nullopt;
  const auto* p = reinterpret_cast<const uint8_t*>(data);  // bytes of a char buffer, same object
  Frame f;
  f.fin = (p[0] & 0x80) != 0;
  f.opcode = p[0] & 0x0f;
  const bool masked = (p[1] & 0x80) != 0;
  uint64_t n = p[1] & 0x7f;
  size_t pos = 2;
  if (n == 126) {
    if (len < 4) return std::nullopt;
    n = (uint64_t(p[2]) << 8) | p[3];
    pos = 4;
  } else if (n == 127) {
    if (len < 10) return std::nullopt;
    n = 0;
    for (int i = 0; i < 8; ++i) n = (n << 8) | p[2 + i];
    pos = 10;
  }
  if (n > max_payload) {
    too_big = true;
    return std::nullopt;
  }
  std::array<uint8_t, 4> key{};
  if (masked) {
    if (len < pos + 4) return std::nullopt;
    std::memcpy(key.data(), p + pos, 4);
    pos += 4;
  }
  if (len < pos + n) return std::nullopt;
  char* payload = data + pos;
  if (masked) {
    // Eight octets at a time, then the tail (RFC 6455 §5.3: octet i ^= key[i % 4]).
    const uint8_t key8[8] = {key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3]};
    uint64_t k8;
    std::memcpy(&k8, key8, 8);
    uint64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t w;
      std::memcpy(&w, payload + i, 8);
      w ^= k8;
      std::memcpy(payload + i, &w, 8);
    }
    for (; i < n; ++i) payload[i] = char(uint8_t(payload[i]) ^ key[i & 3]);
  }
  f.payload = std::string_view(payload, size_t(n));
  f.consumed = pos + size_t(n);
  return f;
}

// ---- SHA-1 and base64, only for Sec-WebSocket-Accept (RFC 6455 §4.2.2) ----
inline std::array<uint8_t, 20> sha1(std::string_view msg) {
  uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
  std::string m(msg);
  const uint64_t bits = uint64_t(msg.size()) * 8;
  m.push_back(char(0x80));
  while (m.size() % 64 != 56) m.push_back('\0');
  for (int i = 7; i >= 0; --i) m.push_back(char((bits >> (8 * i)) & 0xff));
  auto rol = [](uint32_t x, int c) { return (x << c) | (x >> (32 - c)); };
  for (size_t off = 0; off < m.size(); off += 64) {
    uint32_t w[80];
    for (int i = 0; i < 16; ++i) {
      const auto* b = reinterpret_cast<const uint8_t*>(m.data() + off + 4 * i);  // bytes of a string
      w[i] = (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | b[3];
    }
    for (int i = 16; i < 80; ++i) w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; ++i) {
      uint32_t f, k;
      if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999; }
      else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1; }
      else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC; }
      else { f = b ^ c ^ d; k = 0xCA62C1D6; }
      const uint32_t t = rol(a, 5) + f + e + k + w[i];
      e = d; d = c; c = rol(b, 30); b = a; a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
  }
  std::array<uint8_t, 20> out{};
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 4; ++j) out[4 * i + j] = uint8_t(h[i] >> (24 - 8 * j));
  return out;
}

inline std::string base64(const uint8_t* data, size_t n) {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = uint32_t(data[i]) << 16;
    if (i + 1 < n) v |= uint32_t(data[i + 1]) << 8;
    if (i + 2 < n) v |= data[i + 2];
    out.push_back(tbl[(v >> 18) & 63]);
    out.push_back(tbl[(v >> 12) & 63]);
    out.push_back(i + 1 < n ? tbl[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < n ? tbl[v & 63] : '=');
  }
  return out;
}

inline std::string ws_accept_key(std::string_view client_key) {
  std::string s(client_key);
  s += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  const auto d = sha1(s);
  return base64(d.data(), d.size());
}

// Case-insensitive header lookup in a raw HTTP head ("Name: value\r\n" lines).
inline std::string_view header_value(std::string_view head, std::string_view name) {
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    const size_t start = pos + 2;
    const size_t end = head.find("\r\n", start);
    const std::string_view line = head.substr(start, end == std::string_view::npos ? head.npos : end - start);
    const size_t colon = line.find(':');
    if (colon == name.size()) {
      bool eq = true;
      for (size_t i = 0; i < colon && eq; ++i) eq = std::tolower(uint8_t(line[i])) == std::tolower(uint8_t(name[i]));
      if (eq) {
        std::string_view v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
        return v;
      }
    }
    pos = end;
  }
  return {};
}

}  // namespace bench
