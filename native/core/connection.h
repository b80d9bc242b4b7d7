// What the connection table (ServerImpl::conns_) holds: anything the host addresses by a numeric id.
// A WebSocket connection (documents) is one; an Engine.IO session is another, and keeps its id when
// it moves from HTTP long-polling to WebSocket (native/core/eio_connection.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/ws_frame.h"

namespace collabio::core {

class Connection {
 public:
  enum class Kind { EngineIo, YjsDocument, HocuspocusDocuments };

  virtual ~Connection() = default;

  virtual Kind kind() const = 0;
  virtual uint64_t id() const = 0;

  // ---- any thread ----
  // Queues messages atomically (all or none). `frames` are whole WebSocket frames as ws::make_frame
  // builds them (framed once, shared by every recipient); a transport that is not a WebSocket
  // takes the opcode and payload back out of them. Volatile messages are dropped when the
  // connection is busy. Returns false if nothing was queued.
  virtual bool enqueue(const ws::Frame* frames, size_t n, bool is_volatile) = 0;
  // Closes from outside (server kick, shutdown); `reason` is what the host is told.
  virtual void close(uint16_t code, std::string reason) = 0;
};

}  // namespace collabio::core
