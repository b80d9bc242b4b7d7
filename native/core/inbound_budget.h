// Inbound backpressure: what clients have sent that the server has not finished handling, per
// connection and in total, and which connections stopped reading because of it (docs/LIMITS.md,
// "Inbound backpressure").
//
// The contract, for a reader (a WebSocket read loop, an Engine.IO polling POST):
// - each message it hands on is charged to its connection (charge(), or hold() for a charge that
//   a handle releases);
// - after each chunk of input it asks pause_if_over(conn, make_resume). True: the connection is
//   over its share, the reader stops reading (the kernel's buffers fill and TCP pushes back on that
//   client alone), and the callback make_resume() returned runs once, from the thread that
//   released, when it is back under. False: it reads on (make_resume is not called).
// - whoever finishes with the messages releases them (release(), or the hold goes away).
//
// A connection is over when its own bytes or events reach their limits, or when the total bytes
// reach the total limit while the connection has something waiting itself. The last condition
// lets a connection with nothing waiting always read one more chunk: a quiet client's ack is
// answered even while flooders hold the total at its limit. What one connection holds is thus at
// most its limit plus one chunk of input (or one maximal message); the total at most the total
// limit plus that much per connection that is reading.
//
// Example: limits {bytes 100, events 10, total 150}. Connection 1 charges 120 bytes: over (its own
// bytes). Connection 2 charges 40: total 160, over (the total, and it has bytes waiting).
// Connection 3, nothing waiting: not over. Releasing 120 from connection 1 resumes both 1 and 2.
//
// Thread-safe: every member is guarded by mu_. Resume callbacks run after mu_ is released.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace collabio::core {

class InboundBudget : public std::enable_shared_from_this<InboundBudget> {
 public:
  struct Limits {
    uint64_t conn_bytes = 1ull << 20;   // per connection; 0 = no limit
    uint64_t conn_events = 1000;        // messages per connection; 0 = no limit
    uint64_t total_bytes = 16ull << 20; // over every connection; 0 = no limit
  };
  // What one connection has waiting (for the release of a batch).
  struct Charge {
    uint64_t conn = 0;
    uint64_t bytes = 0;
    uint64_t events = 0;
  };

  explicit InboundBudget(Limits limits) : limits_(limits) {}

  // Connection 0 is "no connection": its bytes count in the total, and nobody pauses for it.
  void charge(uint64_t conn, uint64_t bytes, uint64_t events = 1);
  void release(uint64_t conn, uint64_t bytes, uint64_t events = 1) { release({Charge{conn, bytes, events}}); }
  void release(const std::vector<Charge>& charges);
  // charge() now, release() when the returned handle is destroyed (any thread). The handle keeps
  // this budget alive and is never null (it tests true).
  std::shared_ptr<void> hold(uint64_t conn, uint64_t bytes);

  // See the contract above. `make_resume` runs under this budget's lock, only when the connection
  // pauses: a reader that reads on allocates nothing. The callback it returns must not call back
  // into this budget synchronously with a lock of the caller held; it normally posts to the
  // reader's strand.
  using MakeResume = std::function<std::function<void()>()>;
  bool pause_if_over(uint64_t conn, const MakeResume& make_resume);

  // Counters (any thread).
  struct Stats {
    uint64_t bytes = 0;    // waiting now
    uint64_t events = 0;   // waiting now
    uint64_t paused = 0;   // connections stopped now
    uint64_t pauses = 0;   // times a connection stopped, since start
  };
  Stats stats() const;

 private:
  struct Entry {
    uint64_t bytes = 0;
    uint64_t events = 0;
    std::function<void()> resume;  // set while the connection is paused
  };
  bool over_locked(const Entry& e) const;
  // The entry of `conn`, created blank if missing. Entries come and go with every event (a
  // connection with nothing waiting has none): their map nodes are kept in spare_ for reuse
  // instead of being allocated on the reader's thread and freed on the host's each time.
  Entry& entry_locked(uint64_t conn);
  void erase_locked(std::unordered_map<uint64_t, Entry>::iterator it);
  static constexpr size_t kSpareEntries = 256;
  // Moves the resume callback of connection `id` (entry `e`) into `out` if it is paused and no
  // longer over.
  void maybe_resume_locked(uint64_t id, Entry& e, std::vector<std::function<void()>>& out);

  const Limits limits_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Entry> conns_;  // guarded by mu_: connections with something waiting or paused
  std::vector<uint64_t> paused_;               // guarded by mu_: ids whose Entry has a resume callback
  std::vector<std::unordered_map<uint64_t, Entry>::node_type> spare_;  // guarded by mu_: blank nodes
  uint64_t total_bytes_ = 0;                   // guarded by mu_
  uint64_t total_events_ = 0;                  // guarded by mu_
  uint64_t pauses_ = 0;                        // guarded by mu_
};

}  // namespace collabio::core
