#include "socketio/notepack.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <charconv>
#include <cmath>
#include <cstring>

namespace collabio::socketio::notepack {
namespace {

// --- JSON text as JSON.stringify writes it ---

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

void append_escaped(uint32_t cp, std::string& out) {
  switch (cp) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default: break;
  }
  if (cp < 0x20) {
    static const char* hex = "0123456789abcdef";
    out += "\\u00";
    out.push_back(hex[cp >> 4]);
    out.push_back(hex[cp & 15]);
    return;
  }
  append_utf8(cp, out);
}

// --- JavaScript's Date#toISOString, for msgpack timestamps ---

void append_iso_date(double ms, std::string& out) {
  // TimeClip: NaN or beyond +-8.64e15 ms is an invalid Date, which JSON.stringify prints as null.
  if (!std::isfinite(ms) || std::fabs(ms) > 8.64e15) {
    out += "null";
    return;
  }
  const int64_t t = static_cast<int64_t>(std::trunc(ms)) + 0;
  int64_t days = t / 86400000;
  int64_t rem = t % 86400000;
  if (rem < 0) {
    rem += 86400000;
    --days;
  }
  // civil_from_days (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
  const int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[64];
  const char* year_fmt = (y >= 0 && y <= 9999) ? "%04lld" : (y < 0 ? "-%06lld" : "+%06lld");
  int n = std::snprintf(buf, sizeof buf, year_fmt, static_cast<long long>(y < 0 ? -y : y));
  n += std::snprintf(buf + n, sizeof buf - n, "-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(m),
                     static_cast<long long>(d), static_cast<long long>(rem / 3600000),
                     static_cast<long long>(rem / 60000 % 60), static_cast<long long>(rem / 1000 % 60),
                     static_cast<long long>(rem % 1000));
  out += '"';
  out.append(buf, static_cast<size_t>(n));
  out += '"';
}

// --- msgpack -> JSON ---

class Decoder {
 public:
  Decoder(std::string_view bytes, std::string& json, std::vector<std::string>& attachments)
      : p_(reinterpret_cast<const uint8_t*>(bytes.data())), end_(p_ + bytes.size()), json_(json), attachments_(attachments) {}

  bool run(std::string& error) {
    bool undefined = false;
    if (!value(0, undefined)) {
      error = error_;
      return false;
    }
    if (undefined) json_ += "null";
    if (p_ != end_) {
      error = "msgpack: " + std::to_string(end_ - p_) + " trailing bytes";
      return false;
    }
    return true;
  }

 private:
  bool fail(const char* why) {
    error_ = std::string("msgpack: ") + why;
    return false;
  }
  bool need(size_t n) { return static_cast<size_t>(end_ - p_) >= n ? true : fail("truncated input"); }
  uint64_t be(size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | p_[i];
    p_ += n;
    return v;
  }

  // Writes one value. `undefined` is set (and nothing written) for notepack's undefined.
  bool value(uint32_t depth, bool& undefined) {
    if (depth > kMaxDepth) return fail("nested too deep");
    if (!need(1)) return false;
    const uint8_t b = *p_++;
    if (b < 0x80) return integer(b);
    if (b < 0x90) return map(b & 0x0f, depth);
    if (b < 0xa0) return array(b & 0x0f, depth);
    if (b < 0xc0) return str(b & 0x1f);
    if (b >= 0xe0) return integer(static_cast<int8_t>(b));
    switch (b) {
      case 0xc0: json_ += "null"; return true;
      case 0xc2: json_ += "false"; return true;
      case 0xc3: json_ += "true"; return true;
      case 0xc4: return need(1) && bin(be(1));
      case 0xc5: return need(2) && bin(be(2));
      case 0xc6: return need(4) && bin(be(4));
      case 0xc7: return need(2) && ext(be(1));
      case 0xc8: return need(3) && ext(be(2));
      case 0xc9: return need(5) && ext(be(4));
      case 0xca: {
        if (!need(4)) return false;
        const uint32_t bits = static_cast<uint32_t>(be(4));
        float f;
        std::memcpy(&f, &bits, 4);  // IEEE 754 single, big-endian on the wire
        append_js_number(f, json_);
        return true;
      }
      case 0xcb: {
        if (!need(8)) return false;
        const uint64_t bits = be(8);
        double d;
        std::memcpy(&d, &bits, 8);  // IEEE 754 double, big-endian on the wire
        append_js_number(d, json_);
        return true;
      }
      case 0xcc: return need(1) && integer(static_cast<double>(be(1)));
      case 0xcd: return need(2) && integer(static_cast<double>(be(2)));
      case 0xce: return need(4) && integer(static_cast<double>(be(4)));
      case 0xcf: {
        if (!need(8)) return false;
        const double hi = static_cast<double>(be(4)) * 4294967296.0;
        return integer(hi + static_cast<double>(be(4)));  // notepack: hi * 2^32 + lo, in doubles
      }
      case 0xd0: return need(1) && integer(static_cast<int8_t>(be(1)));
      case 0xd1: return need(2) && integer(static_cast<int16_t>(be(2)));
      case 0xd2: return need(4) && integer(static_cast<int32_t>(be(4)));
      case 0xd3: {
        if (!need(8)) return false;
        const double hi = static_cast<double>(static_cast<int32_t>(be(4))) * 4294967296.0;
        return integer(hi + static_cast<double>(be(4)));
      }
      case 0xd4: return fixext(1, undefined);
      case 0xd5: return fixext(2, undefined);
      case 0xd6: return fixext(4, undefined);
      case 0xd7: return fixext(8, undefined);
      case 0xd8: return fixext(16, undefined);
      case 0xd9: return need(1) && str(be(1));
      case 0xda: return need(2) && str(be(2));
      case 0xdb: return need(4) && str(be(4));
      case 0xdc: return need(2) && array(be(2), depth);
      case 0xdd: return need(4) && array(be(4), depth);
      case 0xde: return need(2) && map(be(2), depth);
      case 0xdf: return need(4) && map(be(4), depth);
      default: return fail("reserved type byte 0xc1");
    }
  }

  bool integer(double v) {
    append_js_number(v, json_);
    return true;
  }

  bool str(uint64_t len) {
    if (!need(len)) return false;
    append_js_string(std::string_view(reinterpret_cast<const char*>(p_), len), json_);  // bytes as chars
    p_ += len;
    return true;
  }

  bool bin(uint64_t len) {
    if (!need(len)) return false;
    json_ += "{\"_placeholder\":true,\"num\":" + std::to_string(attachments_.size()) + "}";
    attachments_.emplace_back(reinterpret_cast<const char*>(p_), len);  // bytes as chars
    p_ += len;
    return true;
  }

  // ext 8/16/32: type 0 is an ArrayBuffer (a binary for socket.io), type -1 with 12 bytes a
  // timestamp 96; any other type decodes to [type, Buffer].
  bool ext(uint64_t len) {
    if (!need(1)) return false;
    const int8_t type = static_cast<int8_t>(be(1));
    if (type == 0) return bin(len);
    if (type == -1) {
      if (len != 12) return fail("timestamp 96 of the wrong length");
      if (!need(12)) return false;
      const double ns = static_cast<double>(be(4));
      const double hi = static_cast<double>(static_cast<int32_t>(be(4)));
      const double lo = static_cast<double>(be(4));
      append_iso_date((hi * 4294967296.0 + lo) * 1e3 + ns / 1e6, json_);
      return true;
    }
    return typed_bin(type, len);
  }

  bool fixext(uint64_t len, bool& undefined) {
    if (!need(1)) return false;
    const int8_t type = static_cast<int8_t>(be(1));
    if (len == 1 && type == 0) {  // notepack's undefined
      if (!need(1)) return false;
      p_ += 1;
      undefined = true;
      return true;
    }
    if (len == 4 && type == -1) {  // timestamp 32
      if (!need(4)) return false;
      append_iso_date(static_cast<double>(be(4)) * 1e3, json_);
      return true;
    }
    if (len == 8 && type == 0) {  // notepack's old Date: milliseconds as int64
      if (!need(8)) return false;
      const double hi = static_cast<double>(static_cast<int32_t>(be(4))) * 4294967296.0;
      append_iso_date(hi + static_cast<double>(be(4)), json_);
      return true;
    }
    if (len == 8 && type == -1) {  // timestamp 64: 30-bit nanoseconds, 34-bit seconds
      if (!need(8)) return false;
      const uint32_t hi = static_cast<uint32_t>(be(4));
      const double lo = static_cast<double>(be(4));
      const double s = static_cast<double>(hi & 3) * 4294967296.0 + lo;
      append_iso_date(s * 1e3 + static_cast<double>(hi >> 2) / 1e6, json_);
      return true;
    }
    return typed_bin(type, len);
  }

  bool typed_bin(int8_t type, uint64_t len) {
    json_ += '[';
    append_js_number(type, json_);
    json_ += ',';
    if (!bin(len)) return false;
    json_ += ']';
    return true;
  }

  bool array(uint64_t n, uint32_t depth) {
    // Each element takes at least one byte: a count beyond the input is truncated input.
    if (!need(n)) return false;
    json_ += '[';
    for (uint64_t i = 0; i < n; ++i) {
      if (i) json_ += ',';
      bool undefined = false;
      if (!value(depth + 1, undefined)) return false;
      if (undefined) json_ += "null";
    }
    json_ += ']';
    return true;
  }

  bool map(uint64_t n, uint32_t depth) {
    if (n > static_cast<uint64_t>(end_ - p_) / 2) return fail("truncated input");
    json_ += '{';
    bool first = true;
    for (uint64_t i = 0; i < n; ++i) {
      const size_t mark = json_.size();
      if (!first) json_ += ',';
      if (!key()) return false;
      json_ += ':';
      bool undefined = false;
      if (!value(depth + 1, undefined)) return false;
      if (undefined) {
        json_.resize(mark);  // JSON.stringify omits properties whose value is undefined
      } else {
        first = false;
      }
    }
    json_ += '}';
    return true;
  }

  // A map key as JavaScript turns it into a property name (String(key)).
  bool key() {
    if (!need(1)) return false;
    const uint8_t b = *p_;
    const bool is_str = (b >= 0xa0 && b < 0xc0) || b == 0xd9 || b == 0xda || b == 0xdb;
    if (is_str) {
      bool undefined = false;
      return value(0, undefined);
    }
    const bool is_number = b < 0x80 || b >= 0xe0 || (b >= 0xca && b <= 0xd3);
    if (!is_number && b != 0xc0 && b != 0xc2 && b != 0xc3) return fail("a map key that is not a string or a number");
    std::string text;
    text.swap(json_);
    bool undefined = false;
    const bool ok = value(0, undefined);
    text.swap(json_);
    if (!ok) return false;
    append_js_string(text, json_);
    return true;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  std::string& json_;
  std::vector<std::string>& attachments_;
  std::string error_;
};

// --- JSON -> msgpack, with notepack's choice of formats ---

class Encoder {
 public:
  Encoder(const std::vector<std::string>& attachments, std::string& out) : attachments_(attachments), out_(out) {}

  bool value(const rapidjson::Value& v, uint32_t depth, std::string& error) {
    if (depth > kMaxDepth) {
      error = "msgpack: nested too deep";
      return false;
    }
    switch (v.GetType()) {
      case rapidjson::kNullType: out_.push_back(static_cast<char>(0xc0)); return true;
      case rapidjson::kFalseType: out_.push_back(static_cast<char>(0xc2)); return true;
      case rapidjson::kTrueType: out_.push_back(static_cast<char>(0xc3)); return true;
      case rapidjson::kStringType: str(std::string_view(v.GetString(), v.GetStringLength())); return true;
      case rapidjson::kNumberType: number(v.GetDouble()); return true;
      case rapidjson::kArrayType: {
        header(v.Size(), 0x90, 0xdc, 0xdd);
        for (const auto& e : v.GetArray()) {
          if (!value(e, depth + 1, error)) return false;
        }
        return true;
      }
      case rapidjson::kObjectType: {
        const auto placeholder = v.FindMember("_placeholder");
        if (placeholder != v.MemberEnd() && placeholder->value.IsTrue()) return attachment(v, error);
        header(v.MemberCount(), 0x80, 0xde, 0xdf);
        for (const auto& m : v.GetObject()) {
          str(std::string_view(m.name.GetString(), m.name.GetStringLength()));
          if (!value(m.value, depth + 1, error)) return false;
        }
        return true;
      }
    }
    return true;
  }

 private:
  void be(uint64_t v, size_t n) {
    for (size_t i = n; i-- > 0;) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void header(size_t n, uint8_t fix, uint8_t b16, uint8_t b32) {
    if (n < 16) {
      out_.push_back(static_cast<char>(fix | n));
    } else if (n < 0x10000) {
      out_.push_back(static_cast<char>(b16));
      be(n, 2);
    } else {
      out_.push_back(static_cast<char>(b32));
      be(n, 4);
    }
  }
  void str(std::string_view s) {
    const size_t n = s.size();
    if (n < 32) {
      out_.push_back(static_cast<char>(0xa0 | n));
    } else if (n < 0x100) {
      out_.push_back(static_cast<char>(0xd9));
      be(n, 1);
    } else if (n < 0x10000) {
      out_.push_back(static_cast<char>(0xda));
      be(n, 2);
    } else {
      out_.push_back(static_cast<char>(0xdb));
      be(n, 4);
    }
    out_.append(s);
  }
  void bin(std::string_view s) {
    const size_t n = s.size();
    if (n < 0x100) {
      out_.push_back(static_cast<char>(0xc4));
      be(n, 1);
    } else if (n < 0x10000) {
      out_.push_back(static_cast<char>(0xc5));
      be(n, 2);
    } else {
      out_.push_back(static_cast<char>(0xc6));
      be(n, 4);
    }
    out_.append(s);
  }
  // notepack: an integral finite number takes the smallest integer form, any other a float 64.
  // (Integers of 2^64 and beyond, which notepack garbles, are written as float 64 here.)
  void number(double d) {
    if (std::isfinite(d) && std::floor(d) == d && d >= -9223372036854775808.0 && d < 18446744073709551616.0) {
      if (d >= 0) {
        const auto u = static_cast<uint64_t>(d);
        if (u < 0x80) {
          out_.push_back(static_cast<char>(u));
        } else if (u < 0x100) {
          out_.push_back(static_cast<char>(0xcc));
          be(u, 1);
        } else if (u < 0x10000) {
          out_.push_back(static_cast<char>(0xcd));
          be(u, 2);
        } else if (u < 0x100000000ull) {
          out_.push_back(static_cast<char>(0xce));
          be(u, 4);
        } else {
          out_.push_back(static_cast<char>(0xcf));
          be(u, 8);
        }
        return;
      }
      const auto i = static_cast<int64_t>(d);
      if (i >= -0x20) {
        out_.push_back(static_cast<char>(static_cast<uint8_t>(i)));
      } else if (i >= -0x80) {
        out_.push_back(static_cast<char>(0xd0));
        be(static_cast<uint64_t>(i), 1);
      } else if (i >= -0x8000) {
        out_.push_back(static_cast<char>(0xd1));
        be(static_cast<uint64_t>(i), 2);
      } else if (i >= -0x80000000ll) {
        out_.push_back(static_cast<char>(0xd2));
        be(static_cast<uint64_t>(i), 4);
      } else {
        out_.push_back(static_cast<char>(0xd3));
        be(static_cast<uint64_t>(i), 8);
      }
      return;
    }
    uint64_t bits;
    std::memcpy(&bits, &d, 8);  // IEEE 754 double, big-endian on the wire
    out_.push_back(static_cast<char>(0xcb));
    be(bits, 8);
  }
  // socket.io-parser reconstructPacket: `num` must be a number indexing the attachments.
  bool attachment(const rapidjson::Value& v, std::string& error) {
    const auto num = v.FindMember("num");
    if (num == v.MemberEnd() || !num->value.IsNumber() || !num->value.IsUint() ||
        num->value.GetUint() >= attachments_.size()) {
      error = "illegal attachments";
      return false;
    }
    bin(attachments_[num->value.GetUint()]);
    return true;
  }

  const std::vector<std::string>& attachments_;
  std::string& out_;
};

}  // namespace

void append_js_number(double v, std::string& out) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  if (v == 0) {
    out += '0';  // also -0
    return;
  }
  // Shortest round-trip digits and exponent, then ECMA-262 Number::toString's layout.
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));
  if (sci.front() == '-') {
    out += '-';
    sci.remove_prefix(1);
  }
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits.push_back(c);
  }
  int exp10 = 0;
  const std::string_view exp_text = sci.substr(e_pos + 1);
  std::from_chars(exp_text.data() + (exp_text.front() == '+' ? 1 : 0), exp_text.data() + exp_text.size(), exp10);
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<size_t>(n));
    out += '.';
    out.append(digits, static_cast<size_t>(n), std::string::npos);
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits, 1, std::string::npos);
    }
    out += 'e';
    out += n - 1 >= 0 ? '+' : '-';
    out += std::to_string(std::abs(n - 1));
  }
}

void append_js_string(std::string_view s, std::string& out) {
  out += '"';
  // The WHATWG UTF-8 decoder: each maximal invalid subpart becomes one U+FFFD.
  uint32_t cp = 0;
  int needed = 0;
  int seen = 0;
  uint8_t lower = 0x80;
  uint8_t upper = 0xbf;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<uint8_t>(s[i]);
    if (needed == 0) {
      if (b < 0x80) {
        append_escaped(b, out);
      } else if (b >= 0xc2 && b <= 0xdf) {
        needed = 1;
        cp = b & 0x1f;
      } else if (b >= 0xe0 && b <= 0xef) {
        if (b == 0xe0) lower = 0xa0;
        if (b == 0xed) upper = 0x9f;
        needed = 2;
        cp = b & 0x0f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        if (b == 0xf0) lower = 0x90;
        if (b == 0xf4) upper = 0x8f;
        needed = 3;
        cp = b & 0x07;
      } else {
        append_utf8(0xfffd, out);
      }
      continue;
    }
    if (b < lower || b > upper) {
      cp = 0;
      needed = seen = 0;
      lower = 0x80;
      upper = 0xbf;
      append_utf8(0xfffd, out);
      --i;  // the byte starts the next sequence
      continue;
    }
    lower = 0x80;
    upper = 0xbf;
    cp = (cp << 6) | (b & 0x3f);
    if (++seen == needed) {
      append_utf8(cp, out);
      cp = 0;
      needed = seen = 0;
    }
  }
  if (needed != 0) append_utf8(0xfffd, out);
  out += '"';
}

bool to_json(std::string_view bytes, std::string& json, std::vector<std::string>& attachments, std::string& error) {
  json.clear();
  attachments.clear();
  return Decoder(bytes, json, attachments).run(error);
}

bool from_json(std::string_view json, const std::vector<std::string>& attachments, std::string& out, std::string& error) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag | rapidjson::kParseValidateEncodingFlag>(
      json.data(), json.size());
  if (doc.HasParseError()) {
    error = std::string("invalid JSON: ") + rapidjson::GetParseError_En(doc.GetParseError());
    return false;
  }
  out.clear();
  return Encoder(attachments, out).value(doc, 0, error);
}

}  // namespace collabio::socketio::notepack
