// Yjs update format v1 as data: struct refs, item content, delete sets and state vectors
// (yjs 13.6 src/utils/encoding.js readClientsStructRefs, UpdateDecoder.js / UpdateEncoder.js V1,
// DeleteSet.js, updates.js).
//
//   update      = structs deleteSet
//   structs     = varUint(numClients) { varUint(numStructs) varUint(client) varUint(clock) struct* }*
//   deleteSet   = varUint(numClients) { varUint(client) varUint(numRanges) { varUint(clock) varUint(len) }* }*
//   stateVector = varUint(n) { varUint(client) varUint(clock) }*
//
// Owner: none; these are values.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "yjs/lib0.h"

namespace collabio::yjs {

/// A Yjs id: (client, clock). Clocks are 64-bit (lib0 allows up to 2^53-1).
struct ID {
  uint64_t client = 0;
  uint64_t clock = 0;
  friend bool operator==(const ID&, const ID&) = default;
};

/// Low five bits of a struct's info byte.
enum ContentRef : uint8_t {
  kRefGC = 0,
  kRefDeleted = 1,
  kRefJSON = 2,
  kRefBinary = 3,
  kRefString = 4,
  kRefEmbed = 5,
  kRefFormat = 6,
  kRefType = 7,
  kRefAny = 8,
  kRefDoc = 9,
  kRefSkip = 10,
};

/// Type refs of ContentType (yjs ContentType.js typeRefs).
enum TypeRef : uint8_t {
  kTypeArray = 0,
  kTypeMap = 1,
  kTypeText = 2,
  kTypeXmlElement = 3,
  kTypeXmlFragment = 4,
  kTypeXmlHook = 5,
  kTypeXmlText = 6,
};

struct Type;  // integrated shared type (doc.cpp); opaque here

/// Heap part of non-string content. Kept raw (as received) where yjs would parse and re-serialize;
/// for input produced by yjs the bytes are the same.
struct ContentData {
  ContentData();                   // out of line: Type is incomplete here
  ~ContentData();                  // defined where Type is complete (doc.cpp)
  std::vector<std::string> elems;  // JSON: JSON texts ("undefined" allowed); Any: raw `any` encodings
  std::string a;                   // Binary bytes | Embed JSON | Format key | Type node/hook name | Doc guid
  std::string b;                   // Format JSON value | Doc options (raw `any`, normalized like yjs)
  uint8_t typeRef = 0;             // Type content
  std::unique_ptr<Type> type;      // Type content once integrated into a Doc (never copied)

  /// Writes content of kind `ref` (not String or Deleted) from `offset` (ContentX.write).
  void write(lib0::Encoder& e, uint8_t ref, uint64_t offset) const;
  /// JSON / Any: moves the elements from `offset` on into a new ContentData (ContentX.splice).
  std::unique_ptr<ContentData> splitElems(uint64_t offset);
  /// JSON / Any: appends the elements of `right` (moved out).
  void appendElems(ContentData& right);
  /// Approximate heap bytes held (the object included, an integrated Type excluded).
  size_t heapBytes() const;
};

/// Item content. String text is UTF-16 (yjs lengths and split offsets are UTF-16 code units).
/// Deleted content has no payload: its length is the struct's length.
struct Content {
  uint8_t ref = kRefDeleted;
  std::u16string str;
  std::unique_ptr<ContentData> data;

  Content() = default;
  Content(Content&&) noexcept = default;
  Content& operator=(Content&&) noexcept = default;
  Content(const Content& o);  // deep copy (an integrated Type is not copied)
  Content& operator=(const Content& o);

  /// Countable content counts towards a type's length (Deleted and Format do not).
  bool countable() const { return ref != kRefDeleted && ref != kRefFormat; }
  /// Splits at `offset` (0 < offset < length): this keeps [0, offset), the result holds the rest.
  /// Splitting a string inside a surrogate pair turns both halves into U+FFFD (yjs #248).
  Content splice(uint64_t offset, uint64_t length);
  /// Appends `right` if yjs merges this content kind (String, Deleted, JSON, Any).
  bool mergeWith(Content& right);
  /// Writes the content from `offset` (ContentX.write(encoder, offset)); `length` is the struct's.
  void write(lib0::Encoder& e, uint64_t offset, uint64_t length) const;
  /// Approximate heap bytes held.
  size_t heapBytes() const;
};

/// Reads content of kind `ref` (1..9). Returns its length. Zero-length content is an error.
uint64_t readContent(lib0::Decoder& d, uint8_t ref, Content& out);

/// A struct as decoded from an update, before integration (GC, Skip or Item).
struct StructRef {
  // (Flags first: a large update decodes into one StructRef per struct, so padding counts.)
  uint8_t kind = kRefGC;  // kRefGC, kRefSkip, or the item's content ref
  bool hasOrigin = false;
  bool hasRightOrigin = false;
  // Parent info, present only when neither origin is (otherwise copied from the neighbours).
  enum ParentKind : uint8_t { kNoParent, kRootParent, kIdParent } parentKind = kNoParent;
  bool hasParentSub = false;
  ID id;
  uint64_t length = 0;
  ID origin;
  ID rightOrigin;
  ID parentId;             // kIdParent
  std::string parentName;  // kRootParent
  std::string parentSub;
  Content content;

  bool isItem() const { return kind != kRefGC && kind != kRefSkip; }
  uint64_t end() const { return id.clock + length; }
  /// Writes this struct starting at `offset` (Item.write / GC.write / Skip.write).
  void write(lib0::Encoder& e, uint64_t offset) const;
  /// The part from `diff` on (updates.js sliceStruct): origin becomes (client, clock + diff - 1).
  StructRef slice(uint64_t diff) const;
};

/// Per client, sorted ranges [clock, clock + len) (DeleteSet.js).
struct DeleteSet {
  struct Range {
    uint64_t clock;
    uint64_t len;
  };
  std::map<uint64_t, std::vector<Range>> clients;

  bool empty() const { return clients.empty(); }
  void add(uint64_t client, uint64_t clock, uint64_t len) { clients[client].push_back({clock, len}); }
  /// sortAndMergeDeleteSet: sort ranges and merge overlapping/adjacent ones.
  void sortAndMerge();
  /// Merges `other` in (then sortAndMerge).
  void merge(const DeleteSet& other);
  /// Sum of range lengths (used to detect change).
  uint64_t coverage() const;
  bool contains(ID id) const;
  /// writeDeleteSet: clients in descending order.
  void write(lib0::Encoder& e) const;
  /// readDeleteSet (ranges kept in input order; zero-length ranges dropped).
  static DeleteSet read(lib0::Decoder& d);

  /// One client entry as it appears on the wire.
  struct Entry {
    uint64_t client;
    std::vector<Range> ranges;
  };
  /// The entries in the order readAndApplyDeleteSet applies them (the order matters for which
  /// items are deleted directly and which through their parent type, hence for merging).
  using Sequence = std::vector<Entry>;
  static Sequence readSequence(lib0::Decoder& d);
  static DeleteSet fromSequence(const Sequence& seq);
  /// Clients in descending order, as a DeleteSet written by yjs and read back is applied.
  Sequence toSequence() const;
};

/// A decoded update: client sections in input order (Skip structs included), and the delete set.
struct DecodedUpdate {
  struct ClientStructs {
    uint64_t client;
    std::vector<StructRef> refs;
  };
  std::vector<ClientStructs> clients;
  DeleteSet::Sequence ds;
};

/// Decodes a whole v1 update. Throws DecodeError on malformed input, including references that
/// cannot be valid (an origin, right origin or parent of the same client at or after the struct).
/// Zero-length GC/Skip structs are dropped; zero-length items are errors. Repeated client
/// sections are kept (consumers decide). Trailing bytes are ignored, as yjs does.
DecodedUpdate decodeUpdate(std::span<const uint8_t> update);

using StateVector = std::map<uint64_t, uint64_t>;
/// Throws DecodeError on malformed input. An empty span decodes as the empty state vector.
StateVector decodeStateVector(std::span<const uint8_t> sv);
/// Clients in descending order (writeStateVector).
std::vector<uint8_t> encodeStateVector(const StateVector& sv);

/// All structs of an update in wire order (client sections as they come, Skips included), the
/// sequence yjs's LazyStructReader walks.
std::vector<StructRef> flatten(DecodedUpdate&& update);

/// The struct part of Y.mergeUpdates (updates.js mergeUpdatesV2), ported step by step so that the
/// result is the one yjs produces: sources are walked highest client first, lowest clock first;
/// where structs overlap, the one met first wins and the other is sliced; gaps become Skip
/// structs; adjacent GC (and Skip) structs are joined. Skips in the sources are ignored.
std::vector<StructRef> mergeStructSequences(const std::vector<std::vector<StructRef>>& sources);

/// Writes a struct sequence as the struct section of an update (updates.js LazyStructWriter):
/// each run of one client becomes a section starting at its first struct's clock.
void writeStructSequence(lib0::Encoder& e, const std::vector<StructRef>& seq);

/// The part of a struct sequence a peer with `sv` lacks (updates.js diffUpdateV2).
std::vector<StructRef> diffStructSequence(const std::vector<StructRef>& seq, const StateVector& sv);

}  // namespace collabio::yjs
