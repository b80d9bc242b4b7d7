// What an Engine.IO session carries, as engine.io's Socket hands its "message" packets to
// socket.io's Client: the session parses Engine.IO packets only and passes every message packet's
// payload up. Implemented by the Socket.IO client (native/sio/client.h) and, for the Engine.IO
// conformance suite, by an echo (EngineOptions::echo).
#pragma once

#include <string>
#include <string_view>

namespace collabio::core {

class EioUpper {
 public:
  virtual ~EioUpper() = default;
  // A text message packet's payload (after the Engine.IO '4'). On the session's strand.
  virtual void on_message(std::string_view text) = 0;
  // A binary message packet. On the session's strand.
  virtual void on_binary(std::string&& data) = 0;
  // Whether the upper layer got what a session must bring within connectTimeout (Socket.IO: a
  // namespace joined); if not by then, the session is closed. On the session's strand.
  virtual bool established() const = 0;
  // The session closed (once, on its strand): forget what was being received.
  virtual void on_close() = 0;
};

}  // namespace collabio::core
