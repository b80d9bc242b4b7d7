// libFuzzer target for the Yjs engine: arbitrary bytes go to the lib0 decoder, the update
// decoder, Doc::applyUpdate (one or several updates into one document, so pending structs and
// deletes get exercised), the update-only helpers and encodeStateAsUpdate.
//
// Input layout: byte 0 selects what to check; the rest is a list of chunks, each prefixed with a
// 16-bit little-endian length (a short tail is one last chunk). Seed corpus: corpus/yjs/
// (real updates recorded from yjs sessions, see make-corpus.js).
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "yjs/doc.h"
#include "yjs/update.h"

using namespace collabio::yjs;

namespace {

std::vector<std::span<const uint8_t>> chunks(std::span<const uint8_t> in) {
  std::vector<std::span<const uint8_t>> out;
  size_t i = 0;
  while (i < in.size() && out.size() < 64) {
    if (in.size() - i < 2) {
      out.push_back(in.subspan(i));
      break;
    }
    const size_t n = in[i] | (size_t(in[i + 1]) << 8);
    i += 2;
    const size_t take = n < in.size() - i ? n : in.size() - i;
    out.push_back(in.subspan(i, take));
    i += take;
  }
  return out;
}

// Our own encodings must always decode.
void mustDecode(std::span<const uint8_t> update) {
  try {
    decodeUpdate(update);
  } catch (const DecodeError&) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const auto parts = chunks({data + 1, size - 1});
  switch (mode % 4) {
    case 0: {  // lib0 primitives
      for (const auto& p : parts) {
        try {
          lib0::Decoder d(p);
          while (d.hasContent()) {
            switch (d.readUint8() % 5) {
              case 0: d.readVarUint(); break;
              case 1: d.readVarInt(); break;
              case 2: d.readVarString(); break;
              case 3: d.readVarUint8Array(); break;
              default: lib0::anyToJson(d.readAnyRaw()); break;
            }
          }
        } catch (const DecodeError&) {
        }
      }
      break;
    }
    case 1:
    case 2: {  // updates into one document
      Doc doc;
      Doc copy;
      for (const auto& p : parts) {
        try {
          doc.applyUpdate(p);
        } catch (const DecodeError&) {
        }
      }
      const auto full = doc.encodeStateAsUpdate();
      mustDecode(full);
      copy.applyUpdate(full);
      (void)doc.rootTextToString("text");
      (void)doc.rootMapToJson("map");
      (void)doc.rootArrayToJson("array");
      try {
        if (!parts.empty()) mustDecode(doc.encodeStateAsUpdate(parts.back()));
      } catch (const DecodeError&) {
      }
      mustDecode(doc.encodeStateAsUpdate(doc.encodeStateVector()));
      break;
    }
    default: {  // update-only helpers
      try {
        mustDecode(mergeUpdates(parts));
      } catch (const DecodeError&) {
      }
      for (const auto& p : parts) {
        try {
          encodeStateVectorFromUpdate(p);
          if (parts.size() > 1) mustDecode(diffUpdate(p, parts[0]));
        } catch (const DecodeError&) {
        }
      }
      break;
    }
  }
  return 0;
}
