// libFuzzer target: a Hocuspocus message as a Hocuspocus connection receives it. The message goes
// through hocuspocus::parse_message (address, type, body), then parse_body from the body offset
// (what the document's strand does), then where the server would route it: SyncStep1's state
// vector into Doc::encodeStateAsUpdate, SyncStep2 / Update into Doc::applyUpdate, Awareness into
// an awareness Registry. Replies are encoded with the parsed address and must parse back to the
// same address. Only DecodeError (and its subclasses) may escape the decoders; anything else, a
// mismatch, or a sanitizer report is a bug.
// Seed corpus: test/fuzz/corpus/hocuspocus_message/ (make-hocuspocus-corpus.js).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <variant>

#include "yjs/awareness.h"
#include "yjs/doc.h"
#include "yjs/hocuspocus_protocol.h"

using namespace collabio::yjs;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> frame(data, size);
  hocuspocus::is_pong(frame);
  hocuspocus::Message m;
  try {
    m = hocuspocus::parse_message(frame);
  } catch (const DecodeError&) {
    return 0;
  }
  check(m.body_offset <= size);
  check(m.document.size() <= m.address.size());
  check(m.address.substr(0, m.document.size()) == m.document);
  // The document's strand parses the body again from the offset: same kind of message.
  const auto body = hocuspocus::parse_body(frame.subspan(m.body_offset));
  check(body.index() == m.body.index());

  {
    // Server messages carry the client's address: it must read back unchanged.
    const auto update = hocuspocus::encode_update(m.address, frame);
    lib0::Decoder d(update);
    check(d.readVarStringView() == m.address);
  }

  Doc doc;
  awareness::Registry registry;
  try {
    if (const auto* s = std::get_if<hocuspocus::SyncMessage>(&m.body)) {
      if (s->type == sync::SyncType::SyncStep1) {
        doc.encodeStateAsUpdate(s->data);
      } else {
        doc.applyUpdate(s->data);
        const auto state = doc.encodeStateAsUpdate();
        Doc other;
        other.applyUpdate(state);
      }
    } else if (const auto* a = std::get_if<hocuspocus::AwarenessMessage>(&m.body)) {
      registry.apply(1, a->update, 0);
      const auto all = registry.encode_all();
      hocuspocus::encode_awareness(m.address, all);
      registry.remove_connection(1);
    } else if (const auto* st = std::get_if<hocuspocus::StatelessMessage>(&m.body)) {
      const auto out = hocuspocus::encode_stateless(m.address, st->payload);
      lib0::Decoder d(out);
      check(d.readVarStringView() == m.address);
      check(d.readVarUint() == static_cast<uint64_t>(hocuspocus::MessageType::Stateless));
      check(d.readVarStringView() == st->payload);
    }
  } catch (const DecodeError&) {
  }
  return 0;
}
