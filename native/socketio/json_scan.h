// Validation and shallow inspection of untrusted JSON text with RapidJSON's SAX reader.
// Iterative (no recursion, so deep nesting cannot overflow the stack), UTF-8 validated, numbers
// kept as text (nothing is converted or stored: the text itself is what gets forwarded).
#pragma once

#include <string>
#include <string_view>

namespace collabio::socketio {

enum class JsonKind : uint8_t { Null, Bool, Number, String, Object, Array };

/// What a packet's validity rules need to know about a JSON document.
struct JsonShape {
  JsonKind kind = JsonKind::Null;   ///< kind of the root value
  size_t array_size = 0;            ///< root array: number of elements
  JsonKind first_kind = JsonKind::Null;  ///< root array with >= 1 element: kind of element 0
  std::string first_text;           ///< element 0 when a String (unescaped) or a Number (raw text)
};

/// Parses `json` (one complete value; surrounding whitespace allowed, as JSON.parse does) and fills
/// `shape`. Returns false with a short reason in `error` when it is not valid JSON: syntax errors,
/// invalid UTF-8 inside strings, embedded NUL bytes, numbers beyond the double range (JSON.parse
/// would give Infinity; JSON.stringify never writes them).
/// Unpaired surrogate escapes such as "\ud800" are accepted, as JSON.parse does (JS strings sliced
/// through an emoji contain them); in `first_text` they read as U+FFFD.
bool inspect_json(std::string_view json, JsonShape& shape, std::string& error);

/// A copy of `json` where every unpaired UTF-16 surrogate escape inside a string (`\ud800` not
/// followed by a low surrogate escape, or a lone `\udc00`) becomes `\ufffd`; same length, so offsets
/// are kept. Used to retry a parse that RapidJSON refused with kParseErrorStringUnicodeSurrogateInvalid.
std::string mask_lone_surrogates(std::string_view json);

}  // namespace collabio::socketio
