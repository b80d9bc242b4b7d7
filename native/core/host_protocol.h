// The numbers the core and its JavaScript host agree on: the kinds of Event, how an event batch is
// laid out for JavaScript, the answers to a document's authorization, and the handshake answer
// that means "allowed". They are defined here only: the addon exports each of them by name as
// `binding.constants` (native/addon/addon.cpp, ExportConstants), and lib/constants.js reads them
// there, failing at load when a name it needs is missing. Nothing in lib/ retypes these numbers.
//
// To add an event kind: add it to EventKinds (in its range) and to kEventKindNames, then use
// constants.eventKinds.NAME in lib/.
#pragma once

#include <cstdint>
#include <string_view>

namespace collabio::core {

// Kinds of Event (server.h). A base of Event, so that the kinds read Event::kConnect.
//
// An Event has eight generic fields (what JavaScript receives of each event); what each holds
// depends on the kind. The table is the contract; Event's named constructors (server.h), one per
// row, are the only way to build an Event and fill the fields by these names, so that a producer
// says "method", not "nsp". A blank is unset.
//
//   kind               conn         nsp          data            ack_id       attachments  handshake  extra
//   kConnect           session      namespace    auth JSON                                 request
//   kEvent, kAck       session      namespace    args JSON       ack id (-1)  binary args
//   kNspDisconnect     session      namespace
//   kClose             session                   reason
//   kError             session                   parser message
//   kDocAuth           connection   document     token (Hp)      peer (Hp)                 request    address (Hp)
//   kDocCreate/Unload/Load/Idle     document
//   kDocUpdate                      document                                  updates
//   kReply                          document     error ("")      request id   binary result           text result
//   kDocStateless      peer         document     payload
//   kHandshake         request id   transport    HTTP method                               request
//   kConnectionError                HTTP method  message         error code                request    context JSON
//   kUpgrade           session                   transport
//   kWarning                                     what failed                                          warning code
//   kAdapterMessage                 namespace    JSON text                    binary args             message type
//                                   (channel)    (why, "bad")                                         ("bad")
//   kAdapterReply                   namespace    server count    request id                           error ("")
//   kAdapterCommandReply                         reply JSON      request id                           error ("")
//
// (Hp: Hocuspocus only. Session: the Engine.IO session's connection id.)
struct EventKinds {
  enum Kind : uint8_t {
    // Socket.IO (1..6): lib/server.js
    kConnect = 1,        // Socket.IO CONNECT for `nsp`; data = auth JSON or ""
    kEvent = 2,          // EVENT/BINARY_EVENT; data = JSON array text; ack_id >= 0 if an ack is wanted
    kAck = 3,            // ACK/BINARY_ACK; data = JSON array text; ack_id = the id
    kNspDisconnect = 4,  // the client left `nsp` (DISCONNECT packet)
    kClose = 5,          // the connection closed; data = socket.io reason ("transport close", ...)
    kError = 6,          // a bad Socket.IO packet; data = the parser's message; a kClose follows
    // Documents (7..19): lib/documents.js
    kDocAuth = 7,        // a document connection asks to be served: nsp = document name, handshake set;
                         // Hocuspocus: data = token, extra = document address, ack_id = peer id
    kDocCreate = 8,      // nsp = document name, now loaded (or loading)
    kDocUnload = 9,      // nsp = document name, unloaded from memory
    kDocUpdate = 10,     // nsp = document name; attachments = updates (batched)
    kReply = 11,         // answer to doc_request: ack_id = request id; data = error ("" if none);
                         // attachments = binary result, extra = JSON/text result
    kDocLoad = 12,       // host persistence: load document nsp, answer with doc_loaded()
    kDocIdle = 13,       // the last connection of document nsp left (it unloads after unload_delay)
    kDocStateless = 14,  // a Hocuspocus stateless message: conn = peer id, nsp = document name,
                         // data = payload
    // Engine.IO (20..29): lib/engine.js
    kHandshake = 20,     // a new session waits for handshake_reply(conn = request id); nsp = transport,
                         // data = HTTP method, handshake set
    kConnectionError = 21,  // a refused Engine.IO request: ack_id = code, data = message, nsp = HTTP
                            // method, extra = context JSON, handshake = the request
    kUpgrade = 22,       // session `conn` now runs over data = "websocket"
    // The core (30): lib/server.js
    kWarning = 30,       // a failure handled with no client to tell: data = what failed, extra = a
                         // code (COLLABIO_COMPACTION_FAILED, COLLABIO_HANDLER_EXCEPTION); logged
    // The Redis adapter (31..39; native/sio/redis_adapter.h): lib/redis-adapter.js
    kAdapterMessage = 31,  // a message from the cluster for the host: nsp, data = JSON text with
                           // placeholders indexing attachments; extra = "request" | "response"
                           // (classic), "message" | "response" (sharded), or "bad" (a message
                           // dropped: nsp = its channel, data = why)
    kAdapterReply = 32,    // answer to adapter_server_count: ack_id = its id, nsp, data = the count,
                           // extra = the error ("" if none)
    kAdapterCommandReply = 33,  // answer to adapter_command: ack_id = its id, data = the reply as
                                // JSON (see sio::RedisAdapter::command), extra = the error ("" if none)
  };
};

// The ranges lib/server.js routes by: a kind in [first, last] goes to that module.
struct EventKindRange {
  std::string_view name;
  uint8_t first;
  uint8_t last;
};
inline constexpr EventKindRange kEventKindRanges[] = {
    {"documents", 7, 19},
    {"engine", 20, 29},
    {"adapter", 31, 39},
};

struct NamedNumber {
  std::string_view name;
  int64_t value;
};

// Every kind, by the name JavaScript reads (constants.eventKinds.CONNECT).
inline constexpr NamedNumber kEventKindNames[] = {
    {"CONNECT", EventKinds::kConnect},
    {"EVENT", EventKinds::kEvent},
    {"ACK", EventKinds::kAck},
    {"NSP_DISCONNECT", EventKinds::kNspDisconnect},
    {"CLOSE", EventKinds::kClose},
    {"ERROR", EventKinds::kError},
    {"DOC_AUTH", EventKinds::kDocAuth},
    {"DOC_CREATE", EventKinds::kDocCreate},
    {"DOC_UNLOAD", EventKinds::kDocUnload},
    {"DOC_UPDATE", EventKinds::kDocUpdate},
    {"REPLY", EventKinds::kReply},
    {"DOC_LOAD", EventKinds::kDocLoad},
    {"DOC_IDLE", EventKinds::kDocIdle},
    {"DOC_STATELESS", EventKinds::kDocStateless},
    {"HANDSHAKE", EventKinds::kHandshake},
    {"CONNECTION_ERROR", EventKinds::kConnectionError},
    {"UPGRADE", EventKinds::kUpgrade},
    {"WARNING", EventKinds::kWarning},
    {"ADAPTER_MESSAGE", EventKinds::kAdapterMessage},
    {"ADAPTER_REPLY", EventKinds::kAdapterReply},
    {"ADAPTER_COMMAND_REPLY", EventKinds::kAdapterCommandReply},
};

// An event batch reaches JavaScript as one call onEvents(numbers, ...values), so that an event costs
// one value created per string it carries and no property store (each store into a JavaScript array
// is a call into V8):
// - `numbers` is a Float64Array with kEventStride numbers per event, at the EventSlot offsets:
//   its kind, conn, ack_id, and `fields`, the set of EventField bits saying which of its other
//   fields follow in `values`;
// - `values` holds, event after event, the fields whose bit is set, in EventField order. A field
//   whose bit is clear reads as: nsp, the previous event's nsp of the same call ('' for the first);
//   data, ''; attachments, handshake and extra, undefined.
// Example: a client's EVENT ["hi"] on connection 7 and another on connection 8, both in "/", arrive
// as numbers [2, 7, -1, 3,  2, 8, -1, 2] and values ["/", "[\"hi\"]", "[\"hi\"]"].
inline constexpr uint32_t kEventStride = 4;
enum EventSlot : uint32_t {
  kSlotKind = 0,
  kSlotConn = 1,
  kSlotAckId = 2,
  kSlotFields = 3,  // EventField bits
};
static_assert(kSlotFields + 1 == kEventStride, "every slot of the stride is named");
inline constexpr NamedNumber kEventSlotNames[] = {
    {"KIND", kSlotKind},
    {"CONN", kSlotConn},
    {"ACK_ID", kSlotAckId},
    {"FIELDS", kSlotFields},
};
enum EventField : uint32_t {
  kFieldNsp = 1,          // a string
  kFieldData = 2,         // a string
  kFieldAttachments = 4,  // an array of Buffers
  kFieldHandshake = 8,    // the request as an object, for kDocAuth, kHandshake and kConnectionError
  kFieldExtra = 16,       // a string
};
inline constexpr NamedNumber kEventFieldNames[] = {
    {"NSP", kFieldNsp},
    {"DATA", kFieldData},
    {"ATTACHMENTS", kFieldAttachments},
    {"HANDSHAKE", kFieldHandshake},
    {"EXTRA", kFieldExtra},
};

// The answer to a kDocAuth (Server::doc_auth's `mode`).
enum DocAuthMode : int {
  kDocAuthRefuse = 0,     // closed with the reason
  kDocAuthReadWrite = 1,
  kDocAuthReadOnly = 2,   // its updates are not applied (y-websocket) / scope "readonly" (Hocuspocus)
};
inline constexpr NamedNumber kDocAuthModeNames[] = {
    {"REFUSE", kDocAuthRefuse},
    {"READ_WRITE", kDocAuthReadWrite},
    {"READ_ONLY", kDocAuthReadOnly},
};

// Server::handshake_reply's `error` for an allowed session (the core takes any negative value so);
// anything else is an Engine.IO error code (engineio::ErrorCode, exported as
// constants.engineErrors).
inline constexpr int kHandshakeAllowed = -1;

}  // namespace collabio::core
