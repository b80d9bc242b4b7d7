// lib0 binary encoding as yjs and y-protocols use it (lib0/encoding.js, lib0/decoding.js).
//
// Every read is bounds-checked: truncated or malformed input throws DecodeError, never reads past
// the span. Integers are limited to 2^53 - 1 like JavaScript's readVarUint (so clock + length sums
// never overflow 64 bits). Strings are UTF-8 on the wire; lib0 decodes them with a fatal
// TextDecoder, so invalid UTF-8 is an error here too. Yjs measures strings in UTF-16 code units,
// hence the UTF-16 helpers.
//
// Owner: none. Decoder and Encoder are values used by one thread at a time.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace collabio::yjs {

/// Thrown for malformed or truncated input (lib0 data, Yjs updates, state vectors).
struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

namespace lib0 {

/// Largest integer lib0 reads (Number.MAX_SAFE_INTEGER).
inline constexpr uint64_t kMaxSafeInteger = (uint64_t{1} << 53) - 1;

/// `any` type tags (lib0 encoding.writeAny).
enum AnyTag : uint8_t {
  kAnyUndefined = 127,
  kAnyNull = 126,
  kAnyInteger = 125,
  kAnyFloat32 = 124,
  kAnyFloat64 = 123,
  kAnyBigInt = 122,
  kAnyFalse = 121,
  kAnyTrue = 120,
  kAnyString = 119,
  kAnyObject = 118,
  kAnyArray = 117,
  kAnyUint8Array = 116,
};

/// Reads lib0 values from a byte view. The view must outlive the decoder and every view it returns.
class Decoder {
 public:
  explicit Decoder(std::span<const uint8_t> buf) : buf_(buf) {}

  bool hasContent() const { return pos_ < buf_.size(); }
  size_t pos() const { return pos_; }
  size_t remaining() const { return buf_.size() - pos_; }

  uint8_t readUint8();
  /// varUint: 7 bits per byte, least significant group first. Values above 2^53-1 are errors.
  uint64_t readVarUint();
  /// varInt: first byte = continuation 0x80, sign 0x40, 6 bits; then 7 bits per byte.
  /// `negativeZero` (optional) reports the sign bit on a zero value (lib0 can encode -0).
  int64_t readVarInt(bool* negativeZero = nullptr);
  /// varUint length + bytes; the returned view points into the input.
  std::span<const uint8_t> readVarUint8Array();
  /// varUint length + UTF-8 bytes, validated; the view points into the input.
  std::string_view readVarStringView();
  std::string readVarString() { return std::string(readVarStringView()); }
  /// The same string converted to UTF-16 (yjs string lengths are UTF-16 code units).
  std::u16string readVarStringUtf16();
  /// Big-endian floats and bigint as lib0 writes them.
  float readFloat32();
  double readFloat64();
  int64_t readBigInt64();
  std::span<const uint8_t> readBytes(size_t n);
  /// Validates one `any` value and returns its raw encoding (a view into the input). Nesting is
  /// handled without recursion, so deep input cannot overflow the stack. Values nested deeper than
  /// kMaxAnyDepth are refused (DecodeError): lib0's readAny in every JS client is recursive, and a
  /// value it cannot decode would make the whole document unloadable for every client that syncs it.
  std::span<const uint8_t> readAnyRaw();
  static constexpr size_t kMaxAnyDepth = 256;

 private:
  std::span<const uint8_t> buf_;
  size_t pos_ = 0;
};

/// Appends lib0 values to a byte vector.
class Encoder {
 public:
  Encoder() = default;

  /// Room for `n` bytes in all (a large output then grows by one allocation, not by doubling).
  void reserve(size_t n) { buf_.reserve(n); }
  void writeUint8(uint8_t v) { buf_.push_back(v); }
  void writeVarUint(uint64_t v);
  void writeVarInt(int64_t v, bool negativeZero = false);
  void writeBytes(std::span<const uint8_t> bytes) { buf_.insert(buf_.end(), bytes.begin(), bytes.end()); }
  void writeBytes(std::string_view bytes) { buf_.insert(buf_.end(), bytes.begin(), bytes.end()); }
  void writeVarUint8Array(std::span<const uint8_t> bytes) {
    writeVarUint(bytes.size());
    writeBytes(bytes);
  }
  /// `s` must be UTF-8 (it is written as is).
  void writeVarString(std::string_view s) {
    writeVarUint(s.size());
    writeBytes(s);
  }
  /// UTF-16 to UTF-8 like TextEncoder: a lone surrogate becomes U+FFFD.
  void writeVarStringUtf16(std::u16string_view s);
  /// `s` holds Latin-1 (one byte per code point below U+0100), written as UTF-8.
  void writeVarStringLatin1(std::string_view s);
  void writeFloat32(float v);
  void writeFloat64(double v);
  void writeBigInt64(int64_t v);

  size_t size() const { return buf_.size(); }
  const std::vector<uint8_t>& buffer() const { return buf_; }
  std::vector<uint8_t> take() { return std::move(buf_); }

 private:
  std::vector<uint8_t> buf_;
};

/// Strict UTF-8 validation (as TextDecoder with fatal: true): no overlongs, surrogates or > U+10FFFF.
bool isValidUtf8(std::string_view s);
/// Converts valid UTF-8 to UTF-16. Throws DecodeError on invalid input.
std::u16string utf8ToUtf16(std::string_view s);
/// Converts UTF-16 to UTF-8; lone surrogates become U+FFFD (as TextEncoder).
std::string utf16ToUtf8(std::u16string_view s);
/// Number of UTF-8 bytes utf16ToUtf8 would produce.
size_t utf8Length(std::u16string_view s);
/// Converts Latin-1 (code points below U+0100, one byte each) to UTF-8.
std::string latin1ToUtf8(std::string_view s);

/// Renders one raw `any` encoding as JSON text (undefined -> null, Uint8Array -> array of numbers,
/// bigint -> number). Throws DecodeError if `raw` is not a valid `any`.
std::string anyToJson(std::span<const uint8_t> raw);
/// Appends `s` as a JSON string literal (with quotes) to `out`.
void appendJsonString(std::string& out, std::string_view s);

}  // namespace lib0
}  // namespace collabio::yjs
