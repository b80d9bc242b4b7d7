// Awareness messages between nodes (yjs/awareness_wire.h) on hostile pub/sub payloads: any bytes
// decode to a message or give an error, never a crash. A decoded message encodes to the same
// bytes (the format has one encoding per message) and, applied to a registry as a remote peer's
// update, either applies or throws DecodeError.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "yjs/awareness.h"
#include "yjs/awareness_wire.h"
#include "yjs/lib0.h"

namespace wire = collabio::yjs::awareness_wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  wire::Message m;
  std::string error;
  if (!wire::decode({data, size}, m, error)) {
    if (error.empty()) std::abort();  // a refusal always says why
    return 0;
  }
  const auto again = wire::encode(m);
  // varUints have one shortest form, but a decoder also accepts padded ones: compare decoded.
  wire::Message m2;
  if (!wire::decode(again, m2, error)) std::abort();
  if (m2.kind != m.kind || m2.node != m.node || m2.peer != m.peer || m2.update != m.update) std::abort();
  if (m.kind == wire::Kind::Update) {
    collabio::yjs::awareness::Registry registry;
    (void)registry.apply(uint64_t{1} << 62, m.update, 0);  // decoded already: must not throw
    (void)registry.remove_connection(uint64_t{1} << 62);
  }
  return 0;
}
