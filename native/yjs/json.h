// JSON text validation with the grammar of ECMAScript JSON.parse (yjs parses ContentJSON,
// ContentEmbed and ContentFormat values with JSON.parse and rejects the update if that throws).
// Iterative: nesting depth is not limited by the stack.
#pragma once

#include <string_view>

namespace collabio::yjs {

/// True if `text` is exactly one JSON value (surrounding whitespace allowed), as JSON.parse accepts.
bool isValidJson(std::string_view text);

}  // namespace collabio::yjs
