// Engine.IO bookkeeping shared by every HTTP request: sessions by sid (polling requests and
// WebSocket upgrades find their session here) and handshakes waiting for the host's answer
// (allowRequest and the headers hooks run in JavaScript before a session is created).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/host_protocol.h"

namespace collabio::core {

class EioConnection;

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The host's answer to a handshake (Server::handshake_reply).
struct HandshakeDecision {
  int error = kHandshakeAllowed;  // or an Engine.IO error code (engineio::ErrorCode)
  std::string message;          // error message for the JSON body ("" = the code's default)
  HeaderList initial_headers;   // added to the handshake response only
  HeaderList headers;           // added to the handshake response and every later one of the session
};

class EioRegistry {
 public:
  // ---- sessions; any thread (guarded by mu_) ----
  void add(const std::string& sid, const std::shared_ptr<EioConnection>& s);
  std::shared_ptr<EioConnection> find(std::string_view sid);
  // Removes `sid` if it still maps to `which`.
  void remove(const std::string& sid, const EioConnection* which);
  // Every session still registered (open, or closed and waiting for its last GET).
  std::vector<std::shared_ptr<EioConnection>> all();

  // Open sessions (io.engine.clientsCount); relaxed.
  std::atomic<uint64_t> clients{0};

  // When set, every new session waits for Server::handshake_reply before it is answered.
  std::atomic<bool> handshake_hook{false};

  // ---- handshakes waiting for the host; any thread (guarded by mu_) ----
  using Continuation = std::function<void(HandshakeDecision)>;
  uint64_t add_pending(Continuation k);
  // The continuation of request `id` (removed), or an empty function.
  Continuation take_pending(uint64_t id);
  // Every waiting continuation (removed); used at shutdown.
  std::vector<Continuation> take_all_pending();

 private:
  std::mutex mu_;
  std::unordered_map<std::string, std::weak_ptr<EioConnection>> sessions_;  // guarded by mu_
  std::unordered_map<uint64_t, Continuation> pending_;                       // guarded by mu_
  uint64_t next_request_ = 1;                                                // guarded by mu_
};

}  // namespace collabio::core
