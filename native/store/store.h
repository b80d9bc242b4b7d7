// Persistence of Yjs documents in an embedded SQLite database, driven from one store thread.
//
// Model: per document, an append-only log of Yjs updates (v1 encoding) plus at most one compact
// state (an update that contains everything the log entries it replaced contained). Loading a
// document yields the compact state first, then the log entries appended after it, in order;
// applying them in that order to an empty Y.Doc reproduces the document.
//
// Threading: every public method except the destructor/close may be called from any thread; work is
// queued and executed in FIFO order on the store thread, which owns the SQLite connection. Every
// callback runs on the store thread (or inline on the caller's thread when the store is closed),
// must not block for long, must not throw (exceptions are caught and dropped), and must not call
// close() or destroy the Store (it would have to join its own thread).
//
// Durability: an append's callback runs only after the COMMIT that contains it has returned, so with
// Durability::Full the update is on stable storage before the callback, and with Durability::Normal
// it survives a crash of the process (not necessarily of the machine). The caller relays an update
// to other clients only from that callback ("durable before relayed").
//
// Group commit: the store thread drains everything queued since its last pass and writes all the
// consecutive appends/compactions of that pass in one transaction; a load or flush in the queue ends
// the transaction first (so a load sees everything queued before it). Under load, while one COMMIT
// (fsync) runs, the next batch accumulates, so transactions << appends.
//
// File safety: open() refuses (StoreError) a file that is not a database, a SQLite database that is
// not ours (application_id / schema), or one written by a newer schema version, without writing to
// it. A stored row whose checksum does not match its contents makes load() report an error for that
// document; the store never repairs, vacuums or rewrites anything on its own.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

struct sqlite3;

namespace collabio::store {

// Thrown by Store::open. what() is a sentence for an operator: path, what is wrong, what was done
// ("left untouched").
struct StoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Maps to PRAGMA synchronous in WAL mode.
//  Full:   fsync of the WAL at every commit. A committed update survives power loss / OS crash.
//  Normal: no fsync at commit (only at checkpoints). A committed update survives a crash or SIGKILL
//          of the server process, but the last transactions may be lost if the machine loses power.
//          Faster per commit; with group commit the difference shrinks under load.
enum class Durability { Full, Normal };

// What load() returns for one document.
struct StoredDoc {
  // Compact state first (if the document was ever compacted), then the log in append order.
  std::vector<std::vector<uint8_t>> updates;
  // Whether updates[0] is a compact state.
  bool has_state = false;
  // Highest sequence number covered (state or log); 0 for an unknown document. Sequence numbers are
  // store-wide, strictly increasing and never reused; compare them only within one database.
  uint64_t last_seq = 0;
  // Number of log entries (updates.size() minus the state, if any): a caller compacts when it grows.
  size_t log_entries = 0;
};

// Schema identity, written into the SQLite header (PRAGMA application_id / user_version).
inline constexpr int32_t kApplicationId = 0x436f6c6c;  // "Coll"
inline constexpr int32_t kSchemaVersion = 1;

class Store {
 public:
  using Done = std::function<void(std::optional<std::string> error)>;
  using Loaded = std::function<void(std::variant<StoredDoc, std::string /*error*/>)>;

  // Opens (creating if absent) the database at `path`, puts it in WAL mode and starts the store
  // thread. An existing empty (0-byte) file is treated as new. Throws StoreError on anything else
  // that is not a collabio database of a supported version, leaving the file as it was.
  static std::unique_ptr<Store> open(const std::string& path, Durability durability);

  class Db;  // the SQLite connection and its prepared statements (store.cpp)
  // Passkey: only open() constructs a Store (make_unique needs a public constructor).
  class Key {
    friend class Store;
    Key() = default;
  };
  Store(Key, std::string path, std::unique_ptr<Db> db);

  ~Store();  // close()
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Appends one update to `doc`'s log. on_durable(nullopt) after the commit, or (error) if it
  // failed or the store is closed. Empty updates are stored like any other.
  void append(std::string doc, std::vector<uint8_t> update, Done on_durable);

  // Reads `doc` (see StoredDoc); an unknown document yields an empty StoredDoc. Errors (corrupt row,
  // I/O) are a message; nothing is modified.
  void load(std::string doc, Loaded on_loaded);

  // Replaces `doc`'s compact state and every log entry of `doc` queued before this call by `state`,
  // in one transaction. Contract: `state` must contain every update the caller appended to `doc`
  // before calling compact (true when the document's single owner computes encodeStateAsUpdate and
  // calls compact from the same strand that appends). FIFO order makes "before" well defined.
  void compact(std::string doc, std::vector<uint8_t> state, Done on_done);

  // on_done runs after everything queued before it has been committed (or has failed).
  void flush(Done on_done);

  // Processes everything already queued, stops the thread, closes the database. Idempotent. Later
  // calls to append/load/compact/flush complete at once, inline, with the error "store is closed".
  void close();

  struct Stats {
    uint64_t transactions = 0;  // committed write transactions
    uint64_t appends = 0;       // committed appends
    size_t queued = 0;          // operations waiting for the store thread (a backlog signal)
  };
  Stats stats() const;

  const std::string& path() const { return path_; }

 private:
  struct Append {
    std::string doc;
    std::vector<uint8_t> update;
    Done done;
  };
  struct Compact {
    std::string doc;
    std::vector<uint8_t> state;
    Done done;
  };
  struct Load {
    std::string doc;
    Loaded done;
  };
  struct Flush {
    Done done;
  };
  using Op = std::variant<Append, Compact, Load, Flush>;

  void enqueue(Op op);
  void run();                                   // store thread body
  void process(std::deque<Op>& batch);          // store thread
  void write_batch(std::vector<Op*>& writes);   // store thread
  void apply_write(Op& op);                     // store thread; throws on SQLite error
  void do_load(Load& op);                       // store thread

  const std::string path_;
  std::unique_ptr<Db> db_;  // owner: the store thread (handed over at construction, freed in close)

  mutable std::mutex mutex_;    // guards queue_, stopping_, closed_
  std::condition_variable cv_;  // queue_ became non-empty or stopping_ was set
  std::deque<Op> queue_;        // owner: mutex_
  bool stopping_ = false;       // owner: mutex_
  bool closed_ = false;         // owner: mutex_; true once close() has begun

  std::atomic<uint64_t> transactions_{0};  // written by the store thread, read anywhere
  std::atomic<uint64_t> appends_{0};       // written by the store thread, read anywhere

  std::mutex close_mutex_;  // serialises concurrent close() calls
  std::thread thread_;      // owner: close_mutex_ (joined once)
};

// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) over `size` bytes, continuing from `crc`
// (pass 0 to start). crc32("123456789") == 0xCBF43926.
uint32_t crc32(const void* data, size_t size, uint32_t crc = 0);

}  // namespace collabio::store
