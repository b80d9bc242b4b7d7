// Validation of binary attachment placeholders ({"_placeholder":true,"num":N}) after reassembly.
#include <charconv>
#include <cmath>
#include <cstring>
#include <vector>

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "socketio/json_scan.h"
#include "socketio/packet.h"

namespace collabio::socketio {
namespace {

// SAX handler. Like socket.io-parser's reconstructPacket, an object is a placeholder when its
// (last) "_placeholder" member is `true`, whatever other members it has; for duplicate keys the
// last one wins, as with JSON.parse.
class PlaceholderHandler {
 public:
  PlaceholderHandler(uint32_t attachments, std::string& error) : used_(attachments, false), error_(error) {}

  bool Null() { return value(Kind::Other); }
  bool Bool(bool b) { return value(b ? Kind::True : Kind::Other); }
  bool Int(int) { return value(Kind::Other); }
  bool Uint(unsigned) { return value(Kind::Other); }
  bool Int64(int64_t) { return value(Kind::Other); }
  bool Uint64(uint64_t) { return value(Kind::Other); }
  bool Double(double) { return value(Kind::Other); }
  bool String(const char*, rapidjson::SizeType, bool) { return value(Kind::Other); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
    double d = 0;
    const auto [end, ec] = std::from_chars(s, s + n, d);
    // Out-of-range numbers cannot be valid indices; NaN makes every comparison below fail.
    if (ec != std::errc() || end != s + n) d = std::nan("");
    return value(Kind::Number, d);
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    const std::string_view key(s, n);
    Frame& f = frames_.back();
    f.pending = key == "_placeholder" ? Pending::Placeholder : key == "num" ? Pending::Num : Pending::Other;
    return true;
  }
  bool StartObject() {
    value(Kind::Other);
    frames_.push_back(Frame{true});
    return true;
  }
  bool StartArray() {
    value(Kind::Other);
    frames_.push_back(Frame{false});
    return true;
  }
  bool EndArray(rapidjson::SizeType) {
    frames_.pop_back();
    return true;
  }
  bool EndObject(rapidjson::SizeType) {
    const Frame f = frames_.back();
    frames_.pop_back();
    if (!f.placeholder) return true;
    const double n = f.num;
    if (!f.num_is_number || !(n >= 0) || !(n < static_cast<double>(used_.size())) || std::floor(n) != n) {
      error_ = "illegal attachments";
      return false;
    }
    used_[static_cast<size_t>(n)] = true;
    return true;
  }

  bool all_used() const {
    for (size_t i = 0; i < used_.size(); ++i)
      if (!used_[i]) return false;
    return true;
  }

 private:
  enum class Kind : uint8_t { True, Number, Other };
  enum class Pending : uint8_t { None, Placeholder, Num, Other };
  struct Frame {
    bool is_object = false;
    bool placeholder = false;
    bool num_is_number = false;
    double num = 0;
    Pending pending = Pending::None;
  };

  // Assigns a value to the pending key of the innermost object, if any.
  bool value(Kind kind, double number = 0) {
    if (frames_.empty() || !frames_.back().is_object) return true;
    Frame& f = frames_.back();
    if (f.pending == Pending::Placeholder) {
      f.placeholder = kind == Kind::True;
    } else if (f.pending == Pending::Num) {
      f.num_is_number = kind == Kind::Number;
      f.num = number;
    }
    f.pending = Pending::None;
    return true;
  }

  // Owner: the calling thread, for the duration of one check_placeholders call.
  std::vector<Frame> frames_;
  std::vector<bool> used_;
  std::string& error_;
};

}  // namespace

bool check_placeholders(std::string_view json, uint32_t attachments, std::string& error) {
  if (std::memchr(json.data(), '\0', json.size()) != nullptr) {
    error = "NUL byte in JSON";
    return false;
  }
  constexpr unsigned kFlags =
      rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag | rapidjson::kParseNumbersAsStringsFlag;
  const auto run = [&](std::string_view text, rapidjson::ParseResult& result) {
    rapidjson::MemoryStream stream(text.data(), text.size());
    rapidjson::Reader reader;
    PlaceholderHandler handler(attachments, error);
    result = reader.Parse<kFlags>(stream, handler);
    return handler.all_used();
  };
  rapidjson::ParseResult ok;
  bool all_used = run(json, ok);
  if (!ok && ok.Code() == rapidjson::kParseErrorStringUnicodeSurrogateInvalid) {
    // JSON.parse accepts unpaired surrogate escapes; see mask_lone_surrogates.
    all_used = run(mask_lone_surrogates(json), ok);
  }
  if (!ok) {
    if (ok.Code() != rapidjson::kParseErrorTermination) error = "invalid JSON";
    return false;
  }
  if (!all_used) {
    error = "unused attachment";
    return false;
  }
  return true;
}

}  // namespace collabio::socketio
