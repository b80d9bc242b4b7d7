// libFuzzer target: a y-websocket frame as a document connection receives it. The frame goes
// through sync::parse_message and then where the server would route it: SyncStep1's state vector
// into Doc::encodeStateAsUpdate (a diff for the client), SyncStep2 / Update into Doc::applyUpdate,
// Awareness into an awareness Registry. Only the documented exceptions (DecodeError and its
// subclasses) may escape; anything else (or a sanitizer report) is a bug.
// Seed corpus: test/fuzz/corpus/ysync_message/.
#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

#include "yjs/awareness.h"
#include "yjs/doc.h"
#include "yjs/sync_protocol.h"

using namespace collabio::yjs;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> frame(data, size);
  sync::ParsedMessage parsed;
  try {
    parsed = sync::parse_message(frame);
  } catch (const DecodeError&) {
    return 0;
  }
  Doc doc;
  awareness::Registry registry;
  try {
    if (const auto* s = std::get_if<sync::SyncMessage>(&parsed.message)) {
      if (s->type == sync::SyncType::SyncStep1) {
        doc.encodeStateAsUpdate(s->data);
      } else {
        doc.applyUpdate(s->data);
        // What a newcomer would get must decode.
        const auto state = doc.encodeStateAsUpdate();
        Doc other;
        other.applyUpdate(state);
      }
      sync::is_document_write(parsed.message);
    } else if (const auto* a = std::get_if<sync::AwarenessMessage>(&parsed.message)) {
      registry.apply(1, a->update, 0);
      registry.encode_all();
      registry.remove_connection(1);
    }
  } catch (const DecodeError&) {
  }
  return 0;
}
