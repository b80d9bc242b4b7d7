// SQLite persistence: schema, open-time identity checks, the store thread and group commit.
// Contracts are in store.h.
#include "store/store.h"

#include <sqlite3.h>

#include <array>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <system_error>

namespace collabio::store {

namespace {

// Schema v1. Log sequence numbers come from AUTOINCREMENT so they are never reused, even after
// compaction deletes the highest rows (a reused number could fall below a state's upto_seq).
constexpr const char* kSchemaSql = R"sql(
CREATE TABLE collabio_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE collabio_log(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  doc TEXT NOT NULL,
  data BLOB NOT NULL,
  crc INTEGER NOT NULL);
CREATE INDEX collabio_log_doc ON collabio_log(doc, seq);
CREATE TABLE collabio_state(
  doc TEXT PRIMARY KEY,
  upto_seq INTEGER NOT NULL,
  data BLOB NOT NULL,
  crc INTEGER NOT NULL);
INSERT INTO collabio_meta(key, value) VALUES('format', 'collabio document store');
)sql";

constexpr uint8_t kKindLog = 0;
constexpr uint8_t kKindState = 1;

// Checksum of one stored row: covers the document name and the kind, so a row moved to another
// document or table is detected as well as flipped bytes in the blob.
uint32_t row_crc(const std::string& doc, uint8_t kind, const uint8_t* data, size_t size) {
  uint32_t crc = crc32(doc.data(), doc.size());
  const uint8_t sep[2] = {0, kind};
  crc = crc32(sep, sizeof sep, crc);
  return crc32(data, size, crc);
}

const std::array<uint32_t, 256>& crc_table() {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

// A failed SQLite call on the store thread; turned into an error string for the callbacks.
struct SqlError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string quote(const std::string& s) { return "'" + s + "'"; }

template <class F, class... A>
void invoke_quietly(F& f, A&&... a) {
  if (!f) return;
  try {
    f(std::forward<A>(a)...);
  } catch (...) {
    // Callbacks must not throw (store.h); dropping the exception keeps the store thread alive.
  }
}

}  // namespace

uint32_t crc32(const void* data, size_t size, uint32_t crc) {
  const auto& table = crc_table();
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xffu] ^ (crc >> 8);
  return ~crc;
}

// ---------------------------------------------------------------------------------------------
// Db: one SQLite connection and its prepared statements. Owner: the thread that calls open() until
// the Store is constructed, then the store thread.
class Store::Db {
 public:
  struct StmtDeleter {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;
  struct DbDeleter {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };

  explicit Db(std::string path) : path_(std::move(path)) {}

  std::string path_;
  std::unique_ptr<sqlite3, DbDeleter> db_;
  Stmt begin_, commit_, rollback_;
  Stmt insert_log_, max_log_, delete_log_;
  Stmt select_state_, upsert_state_, select_log_;

  sqlite3* raw() const { return db_.get(); }

  std::string describe(const std::string& what) const {
    const char* msg = db_ ? sqlite3_errmsg(db_.get()) : "out of memory";
    int code = db_ ? sqlite3_extended_errcode(db_.get()) : SQLITE_NOMEM;
    return "collabio store " + quote(path_) + ": " + what + ": " + msg + " (SQLite code " +
           std::to_string(code) + ")";
  }

  Stmt prepare(const char* sql) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(raw(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
      throw SqlError(describe(std::string("preparing \"") + sql + "\""));
    }
    return Stmt(s);
  }

  void exec(const char* sql, const char* what) {
    if (sqlite3_exec(raw(), sql, nullptr, nullptr, nullptr) != SQLITE_OK) throw SqlError(describe(what));
  }

  // Runs a statement that returns no rows (or whose rows are ignored) and resets it.
  void run(sqlite3_stmt* s, const char* what) {
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE) throw SqlError(describe(what));
  }

  // Returns the first column of a one-row query as int64, or `fallback` if it has no row / is NULL.
  int64_t scalar(sqlite3_stmt* s, int64_t fallback, const char* what) {
    int rc = sqlite3_step(s);
    int64_t v = fallback;
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) v = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) throw SqlError(describe(what));
    return v;
  }

  void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
    if (sqlite3_bind_text64(s, i, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8) != SQLITE_OK)
      throw SqlError(describe("binding a document name"));
  }
  void bind_blob(sqlite3_stmt* s, int i, const std::vector<uint8_t>& v) {
    // A zero-length blob must still be a BLOB, not NULL (data is NOT NULL): pass a non-null pointer.
    static const uint8_t empty = 0;
    if (sqlite3_bind_blob64(s, i, v.empty() ? &empty : v.data(), v.size(), SQLITE_STATIC) != SQLITE_OK)
      throw SqlError(describe("binding an update"));
  }
  void bind_int(sqlite3_stmt* s, int i, int64_t v) {
    if (sqlite3_bind_int64(s, i, v) != SQLITE_OK) throw SqlError(describe("binding an integer"));
  }

  int64_t pragma_int(const char* sql) {
    Stmt s = prepare(sql);
    return scalar(s.get(), 0, sql);
  }

  void prepare_all() {
    begin_ = prepare("BEGIN IMMEDIATE");
    commit_ = prepare("COMMIT");
    rollback_ = prepare("ROLLBACK");
    insert_log_ = prepare("INSERT INTO collabio_log(doc, data, crc) VALUES(?1, ?2, ?3)");
    max_log_ = prepare("SELECT max(seq) FROM collabio_log WHERE doc = ?1");
    delete_log_ = prepare("DELETE FROM collabio_log WHERE doc = ?1");
    select_state_ = prepare("SELECT upto_seq, data, crc FROM collabio_state WHERE doc = ?1");
    upsert_state_ = prepare(
        "INSERT INTO collabio_state(doc, upto_seq, data, crc) VALUES(?1, ?2, ?3, ?4) "
        "ON CONFLICT(doc) DO UPDATE SET upto_seq = excluded.upto_seq, data = excluded.data, "
        "crc = excluded.crc");
    select_log_ = prepare(
        "SELECT seq, data, crc FROM collabio_log WHERE doc = ?1 AND seq > ?2 ORDER BY seq");
  }

  void rollback_quietly() {
    if (!sqlite3_get_autocommit(raw())) {
      sqlite3_step(rollback_.get());
      sqlite3_reset(rollback_.get());
    }
  }
};

// ---------------------------------------------------------------------------------------------
// open

std::unique_ptr<Store> Store::open(const std::string& path, Durability durability) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool exists = fs::exists(path, ec);
  if (exists && !fs::is_regular_file(path, ec)) {
    throw StoreError("collabio store " + quote(path) + ": not a regular file");
  }
  const bool fresh_file = !exists || fs::file_size(path, ec) == 0;

  auto db = std::make_unique<Db>(path);
  sqlite3* raw = nullptr;
  // An existing file is opened without SQLITE_OPEN_CREATE; nothing below writes to it until it has
  // been identified as ours (or as empty).
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (exists ? 0 : SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  db->db_.reset(raw);
  if (rc != SQLITE_OK) throw StoreError(db->describe("cannot open the database file"));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);

  try {
    // Identify the file. Reading the header of a file that is not a database fails here with
    // SQLITE_NOTADB and writes nothing.
    int64_t app_id = 0, version = 0, objects = 0;
    try {
      app_id = db->pragma_int("PRAGMA application_id");
      version = db->pragma_int("PRAGMA user_version");
      objects = db->pragma_int("SELECT count(*) FROM sqlite_schema");
    } catch (const SqlError& e) {
      throw StoreError(std::string(e.what()) + "; the file is not a readable SQLite database and was left untouched");
    }

    const bool empty_db = app_id == 0 && version == 0 && objects == 0;
    if (empty_db && !fresh_file) {
      // A valid SQLite file with no schema and no identity: still not something we created. Treat it
      // as foreign rather than guess.
      throw StoreError("collabio store " + quote(path) +
                       ": the file is an empty SQLite database that collabio did not create; refusing to "
                       "use it (left untouched). Delete it or choose another path.");
    }
    if (!empty_db) {
      if (app_id != kApplicationId) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "application_id 0x%08" PRIx32 ", %" PRId64 " schema objects",
                      static_cast<uint32_t>(app_id), objects);
        throw StoreError("collabio store " + quote(path) + ": the file is a SQLite database that is not a collabio store (" +
                         buf + "); refusing to modify it (left untouched)");
      }
      if (version > kSchemaVersion) {
        throw StoreError("collabio store " + quote(path) + ": written by a newer collabio (schema version " +
                         std::to_string(version) + ", this build reads up to " + std::to_string(kSchemaVersion) +
                         "); left untouched");
      }
      if (version < 1) {
        throw StoreError("collabio store " + quote(path) + ": collabio application_id but schema version " +
                         std::to_string(version) + "; left untouched");
      }
      Db::Stmt tables = db->prepare(
          "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN "
          "('collabio_meta', 'collabio_log', 'collabio_state')");
      if (db->scalar(tables.get(), 0, "reading the schema") != 3) {
        throw StoreError("collabio store " + quote(path) +
                         ": collabio store with missing tables (damaged); left untouched");
      }
    }

    // From here on the file is ours (or new and empty).
    char* mode = nullptr;
    {
      Db::Stmt wal = db->prepare("PRAGMA journal_mode = WAL");
      if (sqlite3_step(wal.get()) == SQLITE_ROW) {
        const unsigned char* t = sqlite3_column_text(wal.get(), 0);
        mode = sqlite3_mprintf("%s", t ? reinterpret_cast<const char*>(t) : "");
      }
    }
    std::string journal = mode ? mode : "";
    sqlite3_free(mode);
    if (journal != "wal") {
      throw StoreError(db->describe("cannot switch to WAL journal mode (got '" + journal + "')"));
    }
    db->exec(durability == Durability::Full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
             "setting the durability level");

    if (empty_db) {
      std::string init = "BEGIN IMMEDIATE;\nPRAGMA application_id = " + std::to_string(kApplicationId) +
                         ";\nPRAGMA user_version = " + std::to_string(kSchemaVersion) + ";\n" + kSchemaSql +
                         "COMMIT;";
      if (sqlite3_exec(db->raw(), init.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
        std::string msg = db->describe("creating the schema");
        sqlite3_exec(db->raw(), "ROLLBACK", nullptr, nullptr, nullptr);
        throw StoreError(msg);
      }
    }
    db->prepare_all();
  } catch (const SqlError& e) {
    throw StoreError(e.what());
  }

  return std::make_unique<Store>(Key{}, path, std::move(db));
}

// ---------------------------------------------------------------------------------------------
// Store thread

Store::Store(Key, std::string path, std::unique_ptr<Db> db) : path_(std::move(path)), db_(std::move(db)) {
  thread_ = std::thread([this] { run(); });
}

Store::~Store() { close(); }

void Store::close() {
  std::lock_guard close_lock(close_mutex_);
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) {
    // close() from a callback (on the store thread) cannot join itself: the thread stops after the
    // current batch and frees the connection itself; the destructor must still not run there.
    if (thread_.get_id() == std::this_thread::get_id()) return;
    thread_.join();
  }
}

void Store::enqueue(Op op) {
  {
    std::lock_guard lock(mutex_);
    if (!closed_) {
      queue_.push_back(std::move(op));
      cv_.notify_one();
      return;
    }
  }
  const std::string err = "collabio store " + quote(path_) + ": store is closed";
  std::visit(
      [&](auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, Load>) {
          invoke_quietly(o.done, std::variant<StoredDoc, std::string>(err));
        } else {
          invoke_quietly(o.done, std::optional<std::string>(err));
        }
      },
      op);
}

void Store::append(std::string doc, std::vector<uint8_t> update, Done on_durable) {
  enqueue(Append{std::move(doc), std::move(update), std::move(on_durable)});
}
void Store::load(std::string doc, Loaded on_loaded) { enqueue(Load{std::move(doc), std::move(on_loaded)}); }
void Store::compact(std::string doc, std::vector<uint8_t> state, Done on_done) {
  enqueue(Compact{std::move(doc), std::move(state), std::move(on_done)});
}
void Store::flush(Done on_done) { enqueue(Flush{std::move(on_done)}); }

Store::Stats Store::stats() const {
  std::lock_guard lock(mutex_);
  return Stats{transactions_.load(), appends_.load(), queue_.size()};
}

void Store::run() {
  for (;;) {
    std::deque<Op> batch;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping and drained
      batch.swap(queue_);
    }
    process(batch);
  }
  db_.reset();  // finalizes statements, closes the connection (checkpoints the WAL)
}

void Store::process(std::deque<Op>& batch) {
  std::vector<Op*> writes;
  for (Op& op : batch) {
    if (std::holds_alternative<Append>(op) || std::holds_alternative<Compact>(op)) {
      writes.push_back(&op);
      continue;
    }
    write_batch(writes);  // a load or flush sees / waits for everything queued before it
    writes.clear();
    if (auto* l = std::get_if<Load>(&op)) {
      do_load(*l);
    } else {
      invoke_quietly(std::get<Flush>(op).done, std::optional<std::string>());
    }
  }
  write_batch(writes);
}

void Store::apply_write(Op& op) {
  Db& db = *db_;
  if (auto* a = std::get_if<Append>(&op)) {
    sqlite3_stmt* s = db.insert_log_.get();
    db.bind_text(s, 1, a->doc);
    db.bind_blob(s, 2, a->update);
    db.bind_int(s, 3, row_crc(a->doc, kKindLog, a->update.data(), a->update.size()));
    db.run(s, "appending an update");
    return;
  }
  auto& c = std::get<Compact>(op);
  // The new state covers every log entry of the document written so far (FIFO contract in store.h)
  // and everything the previous state covered.
  db.bind_text(db.max_log_.get(), 1, c.doc);
  int64_t upto = db.scalar(db.max_log_.get(), 0, "reading the log");
  db.bind_text(db.select_state_.get(), 1, c.doc);
  int64_t old_upto = db.scalar(db.select_state_.get(), 0, "reading the state");
  if (old_upto > upto) upto = old_upto;
  db.bind_text(db.delete_log_.get(), 1, c.doc);
  db.run(db.delete_log_.get(), "deleting compacted log entries");
  sqlite3_stmt* s = db.upsert_state_.get();
  db.bind_text(s, 1, c.doc);
  db.bind_int(s, 2, upto);
  db.bind_blob(s, 3, c.state);
  db.bind_int(s, 4, row_crc(c.doc, kKindState, c.state.data(), c.state.size()));
  db.run(s, "writing the compact state");
}

void Store::write_batch(std::vector<Op*>& writes) {
  if (writes.empty()) return;
  Db& db = *db_;
  auto complete = [](Op& op, const std::optional<std::string>& err) {
    std::visit(
        [&](auto& o) {
          if constexpr (!std::is_same_v<std::decay_t<decltype(o)>, Load>) invoke_quietly(o.done, err);
        },
        op);
  };
  auto count_appends = [](const std::vector<Op*>& ops) {
    uint64_t n = 0;
    for (Op* op : ops) n += std::holds_alternative<Append>(*op) ? 1 : 0;
    return n;
  };

  // Whole batch in one transaction: the group commit.
  try {
    db.run(db.begin_.get(), "beginning a transaction");
    for (Op* op : writes) apply_write(*op);
    db.run(db.commit_.get(), "committing");
    transactions_.fetch_add(1);
    appends_.fetch_add(count_appends(writes));
    for (Op* op : writes) complete(*op, std::nullopt);
    return;
  } catch (const SqlError& e) {
    db.rollback_quietly();
    if (writes.size() == 1) {
      complete(*writes[0], std::string(e.what()));
      return;
    }
  }

  // The batch failed: retry each operation in its own transaction so that one bad operation (say, a
  // blob over SQLite's size limit) fails alone.
  for (Op* op : writes) {
    try {
      db.run(db.begin_.get(), "beginning a transaction");
      apply_write(*op);
      db.run(db.commit_.get(), "committing");
      transactions_.fetch_add(1);
      appends_.fetch_add(std::holds_alternative<Append>(*op) ? 1 : 0);
      complete(*op, std::nullopt);
    } catch (const SqlError& e) {
      db.rollback_quietly();
      complete(*op, std::string(e.what()));
    }
  }
}

void Store::do_load(Load& op) {
  Db& db = *db_;
  std::variant<StoredDoc, std::string> result;
  try {
    db.exec("BEGIN", "beginning a read transaction");  // one snapshot for both queries
    StoredDoc out;
    int64_t upto = 0;
    auto blob_of = [](sqlite3_stmt* s, int col) {
      const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(s, col));
      int n = sqlite3_column_bytes(s, col);
      return p ? std::vector<uint8_t>(p, p + n) : std::vector<uint8_t>();
    };
    auto corrupt = [&](const char* what, int64_t seq, uint32_t stored, uint32_t computed) {
      char buf[200];
      std::snprintf(buf, sizeof buf, "%s (seq %" PRId64 ") fails its checksum (stored %08" PRIx32
                    ", computed %08" PRIx32 ")", what, seq, stored, computed);
      return "collabio store " + quote(path_) + ": document " + quote(op.doc) + ": " + buf +
             "; the database is corrupt, the document was not loaded and nothing was modified";
    };

    sqlite3_stmt* s = db.select_state_.get();
    db.bind_text(s, 1, op.doc);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
      upto = sqlite3_column_int64(s, 0);
      std::vector<uint8_t> data = blob_of(s, 1);
      auto stored = static_cast<uint32_t>(sqlite3_column_int64(s, 2));
      uint32_t computed = row_crc(op.doc, kKindState, data.data(), data.size());
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
      if (stored != computed) throw SqlError(corrupt("compact state", upto, stored, computed));
      out.updates.push_back(std::move(data));
      out.has_state = true;
      out.last_seq = static_cast<uint64_t>(upto);
    } else {
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
      if (rc != SQLITE_DONE) throw SqlError(db.describe("reading the compact state"));
    }

    s = db.select_log_.get();
    db.bind_text(s, 1, op.doc);
    db.bind_int(s, 2, upto);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      int64_t seq = sqlite3_column_int64(s, 0);
      std::vector<uint8_t> data = blob_of(s, 1);
      auto stored = static_cast<uint32_t>(sqlite3_column_int64(s, 2));
      uint32_t computed = row_crc(op.doc, kKindLog, data.data(), data.size());
      if (stored != computed) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        throw SqlError(corrupt("log entry", seq, stored, computed));
      }
      out.updates.push_back(std::move(data));
      out.last_seq = static_cast<uint64_t>(seq);
      ++out.log_entries;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE) throw SqlError(db.describe("reading the update log"));
    db.exec("COMMIT", "ending a read transaction");
    result = std::move(out);
  } catch (const SqlError& e) {
    db.rollback_quietly();
    result = std::string(e.what());
  }
  invoke_quietly(op.done, std::move(result));
}

}  // namespace collabio::store
