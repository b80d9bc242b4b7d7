#include "socketio/json_scan.h"

#include <cstring>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

namespace collabio::socketio {
namespace {

// SAX handler that records the root kind and the first element of a root array. It keeps only a
// depth counter, so memory does not grow with nesting (RapidJSON's iterative parser keeps its own
// heap stack).
class ShapeHandler {
 public:
  explicit ShapeHandler(JsonShape& shape) : shape_(shape) {}

  bool Null() { return value(JsonKind::Null, {}); }
  bool Bool(bool) { return value(JsonKind::Bool, {}); }
  bool Int(int) { return value(JsonKind::Number, {}); }
  bool Uint(unsigned) { return value(JsonKind::Number, {}); }
  bool Int64(int64_t) { return value(JsonKind::Number, {}); }
  bool Uint64(uint64_t) { return value(JsonKind::Number, {}); }
  bool Double(double) { return value(JsonKind::Number, {}); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) { return value(JsonKind::Number, {s, n}); }
  bool String(const char* s, rapidjson::SizeType n, bool) { return value(JsonKind::String, {s, n}); }
  bool Key(const char*, rapidjson::SizeType, bool) { return true; }
  bool StartObject() {
    value(JsonKind::Object, {});
    ++depth_;
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    --depth_;
    return true;
  }
  bool StartArray() {
    value(JsonKind::Array, {});
    ++depth_;
    return true;
  }
  bool EndArray(rapidjson::SizeType n) {
    --depth_;
    if (depth_ == 0) shape_.array_size = n;
    return true;
  }

 private:
  bool value(JsonKind kind, std::string_view text) {
    if (depth_ == 0) {
      shape_.kind = kind;
    } else if (depth_ == 1 && shape_.kind == JsonKind::Array && !have_first_) {
      have_first_ = true;
      shape_.first_kind = kind;
      shape_.first_text.assign(text);
    }
    return true;
  }

  JsonShape& shape_;
  size_t depth_ = 0;
  bool have_first_ = false;
};

int hex_value(std::string_view s, size_t at) {
  if (at + 4 > s.size()) return -1;
  int v = 0;
  for (size_t k = at; k < at + 4; ++k) {
    const char c = s[k];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

}  // namespace

std::string mask_lone_surrogates(std::string_view json) {
  std::string out(json);
  bool in_string = false;
  for (size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    if (!in_string) {
      if (c == '"') in_string = true;
      continue;
    }
    if (c == '"') {
      in_string = false;
    } else if (c == '\\' && i + 1 < out.size()) {
      if (out[i + 1] != 'u') {
        ++i;  // two-character escape
        continue;
      }
      const int cp = hex_value(out, i + 2);
      if (cp < 0) continue;  // malformed: RapidJSON reports it
      const bool high = cp >= 0xD800 && cp <= 0xDBFF;
      const bool low = cp >= 0xDC00 && cp <= 0xDFFF;
      if (high && i + 7 < out.size() && out[i + 6] == '\\' && out[i + 7] == 'u') {
        const int next = hex_value(out, i + 8);
        if (next >= 0xDC00 && next <= 0xDFFF) {
          i += 11;  // a proper pair
          continue;
        }
      }
      if (high || low) out.replace(i + 2, 4, "fffd");
      i += 5;
    }
  }
  return out;
}

bool inspect_json(std::string_view json, JsonShape& shape, std::string& error) {
  shape = JsonShape{};
  // RapidJSON treats NUL as end of input; a raw NUL is never valid JSON anyway.
  if (std::memchr(json.data(), '\0', json.size()) != nullptr) {
    error = "NUL byte in JSON";
    return false;
  }
  rapidjson::MemoryStream stream(json.data(), json.size());
  rapidjson::Reader reader;
  ShapeHandler handler(shape);
  constexpr unsigned kFlags =
      rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag | rapidjson::kParseNumbersAsStringsFlag;
  rapidjson::ParseResult ok = reader.Parse<kFlags>(stream, handler);
  if (!ok && ok.Code() == rapidjson::kParseErrorStringUnicodeSurrogateInvalid) {
    const std::string masked = mask_lone_surrogates(json);
    rapidjson::MemoryStream retry(masked.data(), masked.size());
    shape = JsonShape{};
    ShapeHandler retry_handler(shape);
    ok = reader.Parse<kFlags>(retry, retry_handler);
  }
  if (!ok) {
    error = std::string("invalid JSON: ") + rapidjson::GetParseError_En(ok.Code());
    return false;
  }
  return true;
}

}  // namespace collabio::socketio
