#include "core/ws_frame.h"

#include <cstring>

#include "core/ws_deflate.h"

// SHA-1 and base64 for the accept key: Beast's own helpers (detail namespace, but stable across
// Boost releases since 1.70 and header-only), so we need no crypto library for one hash.
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/core/detail/sha1.hpp>

namespace collabio::core::ws {

size_t header_size(size_t payload_size) {
  if (payload_size < 126) return 2;
  if (payload_size <= 0xFFFF) return 4;
  return 10;
}

std::string encode_frame(Opcode op, std::string_view payload, bool rsv1) { return encode_frame(op, {}, payload, rsv1); }

std::string encode_frame(Opcode op, std::string_view head, std::string_view tail, bool rsv1) {
  std::string out;
  const size_t n = head.size() + tail.size();
  out.resize(header_size(n) + n);
  auto* p = reinterpret_cast<uint8_t*>(out.data());  // std::string storage viewed as bytes
  p[0] = 0x80 | (rsv1 ? 0x40 : 0) | static_cast<uint8_t>(op);
  size_t h = 2;
  if (n < 126) {
    p[1] = static_cast<uint8_t>(n);
  } else if (n <= 0xFFFF) {
    p[1] = 126;
    p[2] = static_cast<uint8_t>(n >> 8);
    p[3] = static_cast<uint8_t>(n);
    h = 4;
  } else {
    p[1] = 127;
    for (int i = 0; i < 8; ++i) p[2 + i] = static_cast<uint8_t>(static_cast<uint64_t>(n) >> (56 - 8 * i));
    h = 10;
  }
  if (!head.empty()) std::memcpy(p + h, head.data(), head.size());
  if (!tail.empty()) std::memcpy(p + h + head.size(), tail.data(), tail.size());
  return out;
}

Frame make_frame(Opcode op, std::string_view payload, bool compressible) {
  const bool data = op == Opcode::Text || op == Opcode::Binary;
  return std::make_shared<const OutFrame>(encode_frame(op, payload), data && compressible, header_size(payload.size()));
}

Frame make_frame(Opcode op, std::string_view head, std::string_view tail, bool compressible) {
  const bool data = op == Opcode::Text || op == Opcode::Binary;
  return std::make_shared<const OutFrame>(encode_frame(op, head, tail), data && compressible,
                                          header_size(head.size() + tail.size()));
}

Frame binary_frame(std::span<const uint8_t> message) {
  return make_frame(Opcode::Binary, std::string_view(reinterpret_cast<const char*>(message.data()), message.size()));
}

Frame raw_bytes(std::string bytes) { return std::make_shared<const OutFrame>(std::move(bytes), false, 0); }

Frame make_compressed_frame(const OutFrame& original, std::string_view body) {
  const auto op = static_cast<Opcode>(static_cast<uint8_t>(original.data()[0]) & 0x0F);
  return std::make_shared<const OutFrame>(encode_frame(op, body, true), false, header_size(body.size()));
}

std::shared_ptr<const OutFrame> OutFrame::deflated(int window_bits, int level) const {
  std::lock_guard lk(mu_);
  if (cached_bits_ == window_bits) return cached_;
  std::shared_ptr<const OutFrame> out;
  const std::string body = deflate_message(payload(), window_bits, level);
  if (header_size(body.size()) + body.size() < bytes_.size()) out = make_compressed_frame(*this, body);
  if (cached_bits_ == 0) {
    cached_bits_ = window_bits;
    cached_ = out;
  }
  return out;
}

std::string encode_close(uint16_t code, std::string_view reason) {
  if (code == 0) return encode_frame(Opcode::Close, {});  // no status code (the peer sees 1005)
  if (reason.size() > 123) reason = reason.substr(0, 123);
  std::string body;
  body.push_back(static_cast<char>(code >> 8));
  body.push_back(static_cast<char>(code & 0xFF));
  body.append(reason);
  return encode_frame(Opcode::Close, body);
}

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    // Fast path over ASCII, 8 bytes at a time.
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    const uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

std::string accept_key(std::string_view key) {
  namespace bd = boost::beast::detail;
  if (key.size() != 24) return {};
  char decoded[bd::base64::decoded_size(24) + 1];
  const auto r = bd::base64::decode(decoded, key.data(), key.size());
  if (r.first != 16) return {};  // must be the base64 of 16 bytes
  static constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  bd::sha1_context ctx;
  bd::init(ctx);
  bd::update(ctx, key.data(), key.size());
  bd::update(ctx, guid.data(), guid.size());
  char digest[bd::sha1_context::digest_size];
  bd::finish(ctx, digest);
  std::string out(bd::base64::encoded_size(sizeof digest), '\0');
  out.resize(bd::base64::encode(out.data(), digest, sizeof digest));
  return out;
}

size_t Parser::fail(uint16_t code, std::string msg) {
  error_code_ = code;
  error_ = std::move(msg);
  return npos;
}

size_t Parser::feed(const uint8_t* data, size_t size, Handler& handler, uint64_t max_delivered) {
  size_t pos = 0;
  uint64_t delivered = 0;  // payload bytes of the data messages this call handed on
  bool full = false;       // they reached max_delivered: stop before the next whole frame
  yielded_ = false;
  while (!closed_) {
    const size_t avail = size - pos;
    if (avail < 2) break;
    const uint8_t* p = data + pos;
    const bool fin = p[0] & 0x80;
    const bool rsv1 = p[0] & 0x40;
    if (p[0] & 0x30) return fail(kProtocolError, "reserved bits set");
    const auto op = static_cast<uint8_t>(p[0] & 0x0F);
    // RFC 7692 section 6: RSV1 marks the first frame of a compressed data message.
    if (rsv1 && !(deflate_ && (op == static_cast<uint8_t>(Opcode::Text) || op == static_cast<uint8_t>(Opcode::Binary))))
      return fail(kProtocolError, "reserved bits set");
    if (!(p[1] & 0x80)) return fail(kProtocolError, "client frame not masked");
    uint64_t len = p[1] & 0x7F;
    size_t h = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = (uint64_t(p[2]) << 8) | p[3];
      h = 4;
      if (len < 126) return fail(kProtocolError, "non-minimal length");
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      h = 10;
      if (len >> 63) return fail(kProtocolError, "length has the most significant bit set");
      if (len <= 0xFFFF) return fail(kProtocolError, "non-minimal length");
    }
    const bool control = op & 0x08;
    if (control) {
      if (!fin) return fail(kProtocolError, "fragmented control frame");
      if (len > 125) return fail(kProtocolError, "control frame too long");
    } else if (op > 2) {
      return fail(kProtocolError, "unknown opcode");
    } else {
      // Limit checked on the header, before the payload is buffered.
      if (message_.size() + len > max_message_) return fail(kTooBig, "message too big");
      if (op == 0 && !in_message_) return fail(kProtocolError, "continuation without a message");
      if (op != 0 && in_message_) return fail(kProtocolError, "new message inside a fragmented one");
    }
    h += 4;  // masking key
    if (avail < h) break;
    if (avail - h < len) break;
    if (full) {
      yielded_ = true;
      return pos;
    }
    uint8_t mask[4];
    std::memcpy(mask, p + h - 4, 4);
    const uint8_t* payload = p + h;
    const size_t n = static_cast<size_t>(len);
    pos += h + n;

    if (control) {
      char buf[125];
      for (size_t i = 0; i < n; ++i) buf[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
      std::string_view body(buf, n);
      if (op == static_cast<uint8_t>(Opcode::Ping)) {
        handler.on_ping(body);
      } else if (op == static_cast<uint8_t>(Opcode::Pong)) {
        handler.on_pong(body);
      } else if (op == static_cast<uint8_t>(Opcode::Close)) {
        if (n == 1) return fail(kProtocolError, "close frame with a one-byte body");
        uint16_t code = kNormal;
        std::string_view reason;
        if (n >= 2) {
          code = static_cast<uint16_t>((uint8_t(buf[0]) << 8) | uint8_t(buf[1]));
          reason = body.substr(2);
          if (!valid_utf8(reason)) return fail(kInvalidPayload, "close reason is not UTF-8");
        }
        closed_ = true;
        handler.on_close(code, reason);
      } else {
        return fail(kProtocolError, "unknown control opcode");
      }
      continue;
    }

    if (op != 0) {
      in_message_ = true;
      message_binary_ = op == static_cast<uint8_t>(Opcode::Binary);
      message_compressed_ = rsv1;
    }
    const size_t old = message_.size();
    message_.resize(old + n);
    char* dst = message_.data() + old;
    for (size_t i = 0; i < n; ++i) dst[i] = static_cast<char>(payload[i] ^ mask[i & 3]);
    if (fin) {
      in_message_ = false;
      std::string msg;
      if (message_compressed_) {
        const InflateResult r = inflate_message(message_, max_message_, msg);
        std::string().swap(message_);  // the compressed bytes, with their capacity
        if (r == InflateResult::TooBig) return fail(kTooBig, "message too big");
        if (r == InflateResult::Invalid) return fail(kInvalidPayload, "invalid compressed data");
      } else {
        msg.swap(message_);
      }
      if (!message_binary_ && !valid_utf8(msg)) return fail(kInvalidPayload, "text frame is not UTF-8");
      delivered += msg.size();
      handler.on_message(message_binary_, std::move(msg));
      full = delivered >= max_delivered;  // after a delivery: every call makes progress
    }
  }
  return pos;
}

}  // namespace collabio::core::ws
