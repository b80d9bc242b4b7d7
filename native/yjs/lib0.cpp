#include "yjs/lib0.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace collabio::yjs::lib0 {

namespace {

[[noreturn]] void fail(const char* what) { throw DecodeError(what); }

// Decodes one UTF-8 sequence at s[i]; returns the code point and advances i, or -1 if invalid.
int32_t decodeUtf8At(std::string_view s, size_t& i) {
  const auto b0 = static_cast<uint8_t>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  size_t n;
  uint32_t cp;
  uint32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    n = 1, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 2, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 3, cp = b0 & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (s.size() - i <= n) return -1;
  for (size_t k = 1; k <= n; ++k) {
    const auto b = static_cast<uint8_t>(s[i + k]);
    if ((b & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  i += n + 1;
  return static_cast<int32_t>(cp);
}

// Latin-1 bytes (code points below U+0100) as UTF-8: one byte below 0x80, two from there on.
template <class Out>
void appendLatin1AsUtf8(Out& out, std::string_view s) {
  using Byte = typename Out::value_type;
  for (const char ch : s) {
    const auto c = static_cast<uint8_t>(ch);
    if (c < 0x80) {
      out.push_back(static_cast<Byte>(c));
    } else {
      out.push_back(static_cast<Byte>(0xC0 | (c >> 6)));
      out.push_back(static_cast<Byte>(0x80 | (c & 0x3F)));
    }
  }
}

}  // namespace

uint8_t Decoder::readUint8() {
  if (pos_ >= buf_.size()) fail("unexpected end of data");
  return buf_[pos_++];
}

uint64_t Decoder::readVarUint() {
  uint64_t num = 0;
  unsigned shift = 0;
  while (pos_ < buf_.size()) {
    const uint8_t r = buf_[pos_++];
    if (shift >= 56) fail("varUint out of range");
    num |= uint64_t{r & 0x7Fu} << shift;
    if (num > kMaxSafeInteger) fail("varUint out of range");
    if (r < 0x80) return num;
    shift += 7;
  }
  fail("unexpected end of data");
}

int64_t Decoder::readVarInt(bool* negativeZero) {
  const uint8_t first = readUint8();
  uint64_t num = first & 0x3Fu;
  const bool negative = (first & 0x40) != 0;
  if (first & 0x80) {
    unsigned shift = 6;
    while (true) {
      if (pos_ >= buf_.size()) fail("unexpected end of data");
      const uint8_t r = buf_[pos_++];
      if (shift >= 55) fail("varInt out of range");
      num |= uint64_t{r & 0x7Fu} << shift;
      if (num > kMaxSafeInteger) fail("varInt out of range");
      if (r < 0x80) break;
      shift += 7;
    }
  }
  if (negativeZero) *negativeZero = negative && num == 0;
  return negative ? -static_cast<int64_t>(num) : static_cast<int64_t>(num);
}

std::span<const uint8_t> Decoder::readBytes(size_t n) {
  if (n > remaining()) fail("unexpected end of data");
  auto out = buf_.subspan(pos_, n);
  pos_ += n;
  return out;
}

std::span<const uint8_t> Decoder::readVarUint8Array() {
  const uint64_t len = readVarUint();
  if (len > remaining()) fail("unexpected end of data");
  return readBytes(static_cast<size_t>(len));
}

std::string_view Decoder::readVarStringView() {
  auto bytes = readVarUint8Array();
  // Reinterpreting bytes as chars is the documented way to view a byte buffer as text.
  std::string_view s(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (!isValidUtf8(s)) fail("invalid UTF-8 string");
  return s;
}

std::u16string Decoder::readVarStringUtf16() {
  auto bytes = readVarUint8Array();
  return utf8ToUtf16(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

float Decoder::readFloat32() {
  auto b = readBytes(4);
  uint32_t v = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  return std::bit_cast<float>(v);
}

double Decoder::readFloat64() {
  auto b = readBytes(8);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | b[i];
  return std::bit_cast<double>(v);
}

int64_t Decoder::readBigInt64() {
  auto b = readBytes(8);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | b[i];
  return static_cast<int64_t>(v);
}

std::span<const uint8_t> Decoder::readAnyRaw() {
  const size_t start = pos_;
  // Remaining child counts of the open containers; object entries count key+value as one.
  // A count cannot exceed the bytes left (each child takes at least one byte), so the stack is
  // bounded by the input size. `isObject` tells whether a key precedes each child.
  struct Frame {
    uint64_t left;
    bool isObject;
  };
  std::vector<Frame> stack;
  while (true) {
    if (!stack.empty()) {
      if (stack.back().left == 0) {
        stack.pop_back();
        if (stack.empty()) break;
        continue;
      }
      --stack.back().left;
      if (stack.back().isObject) readVarStringView();
    }
    const uint8_t tag = readUint8();
    switch (tag) {
      case kAnyUndefined:
      case kAnyNull:
      case kAnyFalse:
      case kAnyTrue:
        break;
      case kAnyInteger:
        readVarInt();
        break;
      case kAnyFloat32:
        readBytes(4);
        break;
      case kAnyFloat64:
      case kAnyBigInt:
        readBytes(8);
        break;
      case kAnyString:
        readVarStringView();
        break;
      case kAnyUint8Array:
        readVarUint8Array();
        break;
      case kAnyObject:
      case kAnyArray: {
        const uint64_t n = readVarUint();
        if (n > remaining()) fail("any: container length exceeds input");
        if (stack.size() >= kMaxAnyDepth) fail("any: nested deeper than 256 levels");
        stack.push_back({n, tag == kAnyObject});
        continue;
      }
      default:
        fail("any: unknown type tag");
    }
    if (stack.empty()) break;
  }
  return buf_.subspan(start, pos_ - start);
}

void Encoder::writeVarUint(uint64_t v) {
  while (v > 0x7F) {
    buf_.push_back(static_cast<uint8_t>(0x80 | (v & 0x7F)));
    v >>= 7;
  }
  buf_.push_back(static_cast<uint8_t>(v));
}

void Encoder::writeVarInt(int64_t v, bool negativeZero) {
  const bool negative = v < 0 || (v == 0 && negativeZero);
  uint64_t num = v < 0 ? static_cast<uint64_t>(-(v + 1)) + 1 : static_cast<uint64_t>(v);
  buf_.push_back(static_cast<uint8_t>((num > 0x3F ? 0x80 : 0) | (negative ? 0x40 : 0) | (num & 0x3F)));
  num >>= 6;
  while (num > 0) {
    buf_.push_back(static_cast<uint8_t>((num > 0x7F ? 0x80 : 0) | (num & 0x7F)));
    num >>= 7;
  }
}

void Encoder::writeVarStringUtf16(std::u16string_view s) {
  writeVarUint(utf8Length(s));
  for (size_t i = 0; i < s.size(); ++i) {
    uint32_t cp = s[i];
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      if (cp <= 0xDBFF && i + 1 < s.size() && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (s[i + 1] - 0xDC00);
        ++i;
      } else {
        cp = 0xFFFD;
      }
    }
    if (cp < 0x80) {
      buf_.push_back(static_cast<uint8_t>(cp));
    } else if (cp < 0x800) {
      buf_.push_back(static_cast<uint8_t>(0xC0 | (cp >> 6)));
      buf_.push_back(static_cast<uint8_t>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      buf_.push_back(static_cast<uint8_t>(0xE0 | (cp >> 12)));
      buf_.push_back(static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F)));
      buf_.push_back(static_cast<uint8_t>(0x80 | (cp & 0x3F)));
    } else {
      buf_.push_back(static_cast<uint8_t>(0xF0 | (cp >> 18)));
      buf_.push_back(static_cast<uint8_t>(0x80 | ((cp >> 12) & 0x3F)));
      buf_.push_back(static_cast<uint8_t>(0x80 | ((cp >> 6) & 0x3F)));
      buf_.push_back(static_cast<uint8_t>(0x80 | (cp & 0x3F)));
    }
  }
}

void Encoder::writeVarStringLatin1(std::string_view s) {
  size_t high = 0;
  for (const char c : s) high += static_cast<uint8_t>(c) >> 7;
  writeVarUint(s.size() + high);
  if (high == 0) {
    writeBytes(s);
    return;
  }
  appendLatin1AsUtf8(buf_, s);
}

void Encoder::writeFloat32(float v) {
  const auto u = std::bit_cast<uint32_t>(v);
  for (int i = 3; i >= 0; --i) buf_.push_back(static_cast<uint8_t>(u >> (i * 8)));
}

void Encoder::writeFloat64(double v) {
  const auto u = std::bit_cast<uint64_t>(v);
  for (int i = 7; i >= 0; --i) buf_.push_back(static_cast<uint8_t>(u >> (i * 8)));
}

void Encoder::writeBigInt64(int64_t v) {
  const auto u = static_cast<uint64_t>(v);
  for (int i = 7; i >= 0; --i) buf_.push_back(static_cast<uint8_t>(u >> (i * 8)));
}

bool isValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // ASCII fast path.
    if (static_cast<uint8_t>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    if (decodeUtf8At(s, i) < 0) return false;
  }
  return true;
}

std::u16string utf8ToUtf16(std::string_view s) {
  std::u16string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const int32_t cp = decodeUtf8At(s, i);
    if (cp < 0) fail("invalid UTF-8 string");
    if (cp < 0x10000) {
      out.push_back(static_cast<char16_t>(cp));
    } else {
      const uint32_t v = static_cast<uint32_t>(cp) - 0x10000;
      out.push_back(static_cast<char16_t>(0xD800 + (v >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + (v & 0x3FF)));
    }
  }
  return out;
}

size_t utf8Length(std::u16string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char16_t c = s[i];
    if (c < 0x80) {
      n += 1;
    } else if (c < 0x800) {
      n += 2;
    } else if (c >= 0xD800 && c <= 0xDBFF && i + 1 < s.size() && s[i + 1] >= 0xDC00 && s[i + 1] <= 0xDFFF) {
      n += 4;
      ++i;
    } else {
      n += 3;  // BMP character or a lone surrogate written as U+FFFD
    }
  }
  return n;
}

std::string utf16ToUtf8(std::u16string_view s) {
  Encoder e;
  e.writeVarStringUtf16(s);
  Decoder d(e.buffer());
  return std::string(d.readVarStringView());
}

std::string latin1ToUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  appendLatin1AsUtf8(out, s);
  return out;
}

void appendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  for (const char ch : s) {
    const auto c = static_cast<uint8_t>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(ch);
        }
    }
  }
  out.push_back('"');
}

namespace {

void appendNumber(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";  // JSON.stringify(NaN/Infinity) === 'null'
    return;
  }
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    out += std::to_string(static_cast<int64_t>(v));
    return;
  }
  // Shortest representation that reads back as the same double, as JavaScript prints numbers.
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, res.ptr);
}

}  // namespace

std::string anyToJson(std::span<const uint8_t> raw) {
  Decoder d(raw);
  std::string out;
  struct Frame {
    uint64_t left;
    bool isObject;
    bool first;
  };
  std::vector<Frame> stack;
  while (true) {
    if (!stack.empty()) {
      Frame& f = stack.back();
      if (f.left == 0) {
        out.push_back(f.isObject ? '}' : ']');
        stack.pop_back();
        if (stack.empty()) break;
        continue;
      }
      --f.left;
      if (!f.first) out.push_back(',');
      f.first = false;
      if (f.isObject) {
        appendJsonString(out, d.readVarStringView());
        out.push_back(':');
      }
    }
    const uint8_t tag = d.readUint8();
    switch (tag) {
      case kAnyUndefined:
      case kAnyNull: out += "null"; break;
      case kAnyFalse: out += "false"; break;
      case kAnyTrue: out += "true"; break;
      case kAnyInteger: out += std::to_string(d.readVarInt()); break;
      case kAnyFloat32: appendNumber(out, d.readFloat32()); break;
      case kAnyFloat64: appendNumber(out, d.readFloat64()); break;
      case kAnyBigInt: out += std::to_string(d.readBigInt64()); break;
      case kAnyString: appendJsonString(out, d.readVarStringView()); break;
      case kAnyUint8Array: {
        auto bytes = d.readVarUint8Array();
        out.push_back('[');
        for (size_t i = 0; i < bytes.size(); ++i) {
          if (i) out.push_back(',');
          out += std::to_string(bytes[i]);
        }
        out.push_back(']');
        break;
      }
      case kAnyObject:
      case kAnyArray: {
        const uint64_t n = d.readVarUint();
        if (n > d.remaining()) fail("any: container length exceeds input");
        out.push_back(tag == kAnyObject ? '{' : '[');
        stack.push_back({n, tag == kAnyObject, true});
        continue;
      }
      default: fail("any: unknown type tag");
    }
    if (stack.empty()) break;
  }
  return out;
}

}  // namespace collabio::yjs::lib0
