// Update-only helpers for stored update logs (yjs updates.js mergeUpdates, diffUpdate,
// encodeStateVectorFromUpdate). They work on decoded struct lists and never garbage-collect.
#include "yjs/doc.h"
#include "yjs/update.h"

namespace collabio::yjs {

std::vector<uint8_t> mergeUpdates(const std::vector<std::span<const uint8_t>>& updates) {
  if (updates.size() == 1) {
    decodeUpdate(updates[0]);  // validate, as the other paths do
    return {updates[0].begin(), updates[0].end()};
  }
  std::vector<std::vector<StructRef>> sources;
  DeleteSet ds;
  for (const auto& u : updates) {
    DecodedUpdate d = decodeUpdate(u);
    for (auto& [client, ranges] : DeleteSet::fromSequence(d.ds).clients) {
      auto& dst = ds.clients[client];
      dst.insert(dst.end(), ranges.begin(), ranges.end());
    }
    sources.push_back(flatten(std::move(d)));
  }
  ds.sortAndMerge();
  lib0::Encoder e;
  writeStructSequence(e, mergeStructSequences(sources));
  ds.write(e);
  return e.take();
}

std::vector<uint8_t> diffUpdate(std::span<const uint8_t> update, std::span<const uint8_t> stateVector) {
  const StateVector sv = decodeStateVector(stateVector);
  DecodedUpdate d = decodeUpdate(update);
  const DeleteSet ds = DeleteSet::fromSequence(d.ds);
  lib0::Encoder e;
  writeStructSequence(e, diffStructSequence(flatten(std::move(d)), sv));
  ds.write(e);
  return e.take();
}

std::vector<uint8_t> encodeStateVectorFromUpdate(std::span<const uint8_t> update) {
  const DecodedUpdate d = decodeUpdate(update);
  // Output order follows the update, as yjs writes while reading.
  std::vector<std::pair<uint64_t, uint64_t>> entries;
  for (const auto& c : d.clients) {
    uint64_t clock = 0;
    for (const auto& s : c.refs) {
      if (s.id.clock != clock || s.kind == kRefSkip) break;  // must start at 0; stop at a Skip
      clock = s.end();
    }
    if (clock > 0) entries.emplace_back(c.client, clock);
  }
  lib0::Encoder e;
  e.writeVarUint(entries.size());
  for (const auto& [client, clock] : entries) {
    e.writeVarUint(client);
    e.writeVarUint(clock);
  }
  return e.take();
}

}  // namespace collabio::yjs
