// MessagePack as notepack.io 3.x writes and reads it (the codec of @socket.io/redis-adapter 8.x),
// converted from and to the core's form of a Socket.IO payload: JSON text in which every binary
// is a placeholder `{"_placeholder":true,"num":N}` and N indexes a list of attachments
// (socket.io-parser's deconstructPacket form).
//
// to_json(bytes) gives the text JSON.stringify prints for notepack.decode(bytes) once its Buffers
// are replaced by placeholders, in order of appearance: numbers as JavaScript prints them,
// invalid UTF-8 replaced by U+FFFD as Buffer#toString does, a timestamp extension (a Date) as its
// ISO string (Date#toJSON), notepack's `undefined` (fixext 1, type 0) omitted from objects and
// null in arrays. Only object key order may differ from JavaScript's (which puts integer-like keys
// first); values are the same.
//
// from_json(json, attachments) gives the bytes notepack.encode writes for JSON.parse(json) with
// the placeholders replaced by the attachments' Buffers: integers in the smallest int/uint form,
// other numbers as float 64, strings as str 8/16/32 (fixstr), binaries as bin 8/16/32.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace collabio::socketio::notepack {

/// Deepest nesting of arrays and maps accepted by to_json and from_json.
inline constexpr uint32_t kMaxDepth = 256;

/// Decodes one msgpack value that spans all of `bytes`. On failure (truncated input, trailing
/// bytes, a reserved type byte 0xc1, nesting deeper than kMaxDepth, a map key that is not a
/// string, number, boolean or nil) returns false and sets `error`; `json` and `attachments` are
/// then unspecified.
bool to_json(std::string_view bytes, std::string& json, std::vector<std::string>& attachments, std::string& error);

/// Encodes JSON text whose placeholders index `attachments`. False with `error` when the JSON is
/// invalid, nests deeper than kMaxDepth, or a placeholder's `num` is not an index of
/// `attachments` (socket.io-parser: "illegal attachments").
bool from_json(std::string_view json, const std::vector<std::string>& attachments, std::string& out, std::string& error);

/// Appends `value` as JavaScript's Number#toString prints it (JSON.stringify: NaN and infinities
/// are `null`, -0 is `0`): 1, 0.1, 1.5e-7, 1e+21, 123456789012345680000.
void append_js_number(double value, std::string& out);

/// Appends `utf8` as a JSON string literal with JSON.stringify's escapes; invalid UTF-8 is
/// replaced by U+FFFD first (the WHATWG decoder, as Node's Buffer#toString).
void append_js_string(std::string_view utf8, std::string& out);

}  // namespace collabio::socketio::notepack
