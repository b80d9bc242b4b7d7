// Tests of the SQLite document store (native/store/store.h): group commit, durability ordering,
// reopen, compaction, isolation of documents, refusal of foreign/corrupt files without touching them.
#include "store/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <thread>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using collabio::store::Durability;
using collabio::store::Store;
using collabio::store::StoredDoc;
using collabio::store::StoreError;

namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("collabio-store-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "docs.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::string path_;
};

std::vector<uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::optional<std::string> append_sync(Store& s, const std::string& doc, std::vector<uint8_t> u) {
  std::promise<std::optional<std::string>> p;
  s.append(doc, std::move(u), [&](std::optional<std::string> e) { p.set_value(std::move(e)); });
  return p.get_future().get();
}

std::variant<StoredDoc, std::string> load_sync(Store& s, const std::string& doc) {
  std::promise<std::variant<StoredDoc, std::string>> p;
  s.load(doc, [&](std::variant<StoredDoc, std::string> r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

StoredDoc load_ok(Store& s, const std::string& doc) {
  auto r = load_sync(s, doc);
  if (auto* e = std::get_if<std::string>(&r)) {
    ADD_FAILURE() << *e;
    return {};
  }
  return std::get<StoredDoc>(std::move(r));
}

std::optional<std::string> compact_sync(Store& s, const std::string& doc, std::vector<uint8_t> st) {
  std::promise<std::optional<std::string>> p;
  s.compact(doc, std::move(st), [&](std::optional<std::string> e) { p.set_value(std::move(e)); });
  return p.get_future().get();
}

void flush_sync(Store& s) {
  std::promise<void> p;
  s.flush([&](std::optional<std::string>) { p.set_value(); });
  p.get_future().get();
}

std::string file_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs SQL on a database with the plain SQLite API (to build foreign files and corrupt rows).
void raw_exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << msg;
}

int64_t raw_count(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  int64_t v = -1;
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

std::string open_error(const std::string& path) {
  try {
    Store::open(path, Durability::Full);
  } catch (const StoreError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Crc32, MatchesTheStandardCheckValue) {
  EXPECT_EQ(collabio::store::crc32("123456789", 9), 0xCBF43926u);
  EXPECT_EQ(collabio::store::crc32("", 0), 0u);
}

TEST_F(StoreTest, AppendedUpdatesLoadInOrder) {
  auto s = Store::open(path_, Durability::Full);
  EXPECT_EQ(append_sync(*s, "a", bytes("one")), std::nullopt);
  EXPECT_EQ(append_sync(*s, "a", bytes("two")), std::nullopt);
  EXPECT_EQ(append_sync(*s, "a", {}), std::nullopt);  // empty update is kept as an empty blob
  StoredDoc d = load_ok(*s, "a");
  ASSERT_EQ(d.updates.size(), 3u);
  EXPECT_EQ(d.updates[0], bytes("one"));
  EXPECT_EQ(d.updates[1], bytes("two"));
  EXPECT_TRUE(d.updates[2].empty());
  EXPECT_FALSE(d.has_state);
  EXPECT_EQ(d.log_entries, 3u);
  EXPECT_GT(d.last_seq, 0u);
}

TEST_F(StoreTest, UnknownDocumentLoadsEmpty) {
  auto s = Store::open(path_, Durability::Normal);
  StoredDoc d = load_ok(*s, "nobody");
  EXPECT_TRUE(d.updates.empty());
  EXPECT_EQ(d.last_seq, 0u);
  EXPECT_EQ(d.log_entries, 0u);
}

TEST_F(StoreTest, GroupCommitBatchesAppendsFromSeveralThreads) {
  auto s = Store::open(path_, Durability::Full);
  // Hold the store thread inside a flush callback while 4 threads queue 2000 appends, as a slow
  // fsync would under load; everything queued meanwhile must then go out in very few transactions.
  std::promise<void> gate;
  std::shared_future<void> gate_open = gate.get_future().share();
  s->flush([gate_open](std::optional<std::string>) { gate_open.wait(); });
  constexpr int kThreads = 4, kPerThread = 500;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        s->append("doc" + std::to_string(t), bytes(std::to_string(i)),
                  [&](std::optional<std::string> e) { (e ? failed : ok).fetch_add(1); });
      }
    });
  }
  for (auto& th : threads) th.join();
  gate.set_value();
  flush_sync(*s);
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(failed.load(), 0);
  auto st = s->stats();
  EXPECT_EQ(st.appends, uint64_t(kThreads * kPerThread));
  EXPECT_LE(st.transactions, 2u) << "transactions=" << st.transactions;
  for (int t = 0; t < kThreads; ++t) {
    StoredDoc d = load_ok(*s, "doc" + std::to_string(t));
    ASSERT_EQ(d.updates.size(), size_t(kPerThread));
    for (int i = 0; i < kPerThread; ++i) EXPECT_EQ(d.updates[i], bytes(std::to_string(i)));  // per-thread order
  }
}

TEST_F(StoreTest, ConcurrentAppendsWithoutAGateStillBatch) {
  auto s = Store::open(path_, Durability::Full);
  constexpr int kThreads = 4, kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) s->append("d", bytes("x"), nullptr);
    });
  }
  for (auto& th : threads) th.join();
  flush_sync(*s);
  auto st = s->stats();
  EXPECT_EQ(st.appends, uint64_t(kThreads * kPerThread));
  EXPECT_LT(st.transactions, st.appends);  // timing-dependent, so only a weak bound here
}

TEST_F(StoreTest, AcknowledgedAppendsSurviveSigkill) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    auto s = Store::open(path_, Durability::Normal);
    for (int i = 0;; ++i) {  // append until killed; report each durable one on the pipe
      s->append("a", bytes(std::to_string(i)), [fd = fds[1]](std::optional<std::string> e) {
        char c = e ? 'E' : 'K';
        if (::write(fd, &c, 1) != 1) ::_exit(3);
      });
      if (i % 64 == 63) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  ::close(fds[1]);
  int acked = 0;
  char c;
  while (acked < 300 && ::read(fds[0], &c, 1) == 1) {
    ASSERT_EQ(c, 'K');
    ++acked;
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(fds[0]);
  ASSERT_EQ(acked, 300);
  auto s = Store::open(path_, Durability::Full);
  StoredDoc d = load_ok(*s, "a");
  ASSERT_GE(d.updates.size(), size_t(acked));
  for (int i = 0; i < acked; ++i) EXPECT_EQ(d.updates[i], bytes(std::to_string(i)));
}

TEST_F(StoreTest, CallbackRunsOnlyAfterTheUpdateIsCommitted) {
  auto s = Store::open(path_, Durability::Full);
  // Inside the callback, a second connection (another reader, as after a crash) already sees the row:
  // the commit happened before the callback.
  std::promise<int64_t> seen;
  s->append("a", bytes("x"), [&](std::optional<std::string> e) {
    EXPECT_EQ(e, std::nullopt);
    seen.set_value(raw_count(path_, "SELECT count(*) FROM collabio_log WHERE doc = 'a'"));
  });
  EXPECT_EQ(seen.get_future().get(), 1);
}

TEST_F(StoreTest, ReopenSeesEverything) {
  {
    auto s = Store::open(path_, Durability::Normal);
    for (int i = 0; i < 50; ++i) {
      std::string u = "u";  // (not "u" + to_string: g++ 12 -O2 gives a false -Wrestrict there)
      u += std::to_string(i);
      s->append("a", bytes(u), nullptr);
    }
    s->append("b", bytes("b0"), nullptr);
  }  // destructor drains the queue
  auto s = Store::open(path_, Durability::Full);
  StoredDoc a = load_ok(*s, "a");
  ASSERT_EQ(a.updates.size(), 50u);
  EXPECT_EQ(a.updates[49], bytes("u49"));
  EXPECT_EQ(load_ok(*s, "b").updates.size(), 1u);
}

TEST_F(StoreTest, CompactionReplacesTheLogAndBoundsTheRowCount) {
  auto s = Store::open(path_, Durability::Full);
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 100; ++i) s->append("a", bytes("u"), nullptr);
    EXPECT_EQ(compact_sync(*s, "a", bytes("state" + std::to_string(round))), std::nullopt);
    EXPECT_EQ(raw_count(path_, "SELECT count(*) FROM collabio_log"), 0);
    EXPECT_EQ(raw_count(path_, "SELECT count(*) FROM collabio_state"), 1);
  }
  StoredDoc before = load_ok(*s, "a");
  EXPECT_EQ(append_sync(*s, "a", bytes("after")), std::nullopt);
  StoredDoc d = load_ok(*s, "a");
  ASSERT_EQ(d.updates.size(), 2u);
  EXPECT_TRUE(d.has_state);
  EXPECT_EQ(d.updates[0], bytes("state4"));
  EXPECT_EQ(d.updates[1], bytes("after"));
  EXPECT_EQ(d.log_entries, 1u);
  EXPECT_GT(d.last_seq, before.last_seq);
}

TEST_F(StoreTest, CompactionOfOneDocumentLeavesOthersAlone) {
  auto s = Store::open(path_, Durability::Full);
  append_sync(*s, "a", bytes("a1"));
  append_sync(*s, "b", bytes("b1"));
  append_sync(*s, "a", bytes("a2"));
  compact_sync(*s, "a", bytes("A"));
  StoredDoc a = load_ok(*s, "a"), b = load_ok(*s, "b");
  ASSERT_EQ(a.updates.size(), 1u);
  EXPECT_EQ(a.updates[0], bytes("A"));
  ASSERT_EQ(b.updates.size(), 1u);
  EXPECT_EQ(b.updates[0], bytes("b1"));
  EXPECT_FALSE(b.has_state);
}

TEST_F(StoreTest, DocumentsDoNotMix) {
  auto s = Store::open(path_, Durability::Normal);
  // Names that are prefixes of each other, with odd characters, and the empty name.
  std::vector<std::string> names = {"", "a", "ab", "a b", "a%", "a\xc3\xa9", std::string("a\0b", 3)};
  for (size_t i = 0; i < names.size(); ++i) s->append(names[i], bytes(std::to_string(i)), nullptr);
  for (size_t i = 0; i < names.size(); ++i) {
    StoredDoc d = load_ok(*s, names[i]);
    ASSERT_EQ(d.updates.size(), 1u) << i;
    EXPECT_EQ(d.updates[0], bytes(std::to_string(i)));
  }
}

TEST_F(StoreTest, LoadSeesAppendsQueuedBeforeIt) {
  auto s = Store::open(path_, Durability::Normal);
  for (int i = 0; i < 20; ++i) s->append("a", bytes("x"), nullptr);
  EXPECT_EQ(load_ok(*s, "a").updates.size(), 20u);
}

TEST_F(StoreTest, GarbageFileIsRefusedAndLeftUntouched) {
  std::string garbage(8192, '\0');
  std::mt19937 rng(7);
  for (auto& c : garbage) c = static_cast<char>(rng());
  { std::ofstream(path_, std::ios::binary) << garbage; }
  std::string err = open_error(path_);
  EXPECT_NE(err.find("not a readable SQLite database"), std::string::npos) << err;
  EXPECT_NE(err.find(path_), std::string::npos) << err;
  EXPECT_EQ(file_bytes(path_), garbage);
  EXPECT_FALSE(fs::exists(path_ + "-wal"));
  EXPECT_FALSE(fs::exists(path_ + "-journal"));
}

TEST_F(StoreTest, ForeignSqliteFileIsRefusedAndLeftUntouched) {
  raw_exec(path_, "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes(body) VALUES('keep me');");
  std::string before = file_bytes(path_);
  std::string err = open_error(path_);
  EXPECT_NE(err.find("not a collabio store"), std::string::npos) << err;
  EXPECT_EQ(file_bytes(path_), before);
  EXPECT_EQ(raw_count(path_, "SELECT count(*) FROM notes"), 1);
}

TEST_F(StoreTest, EmptySqliteDatabaseNotCreatedByUsIsRefused) {
  raw_exec(path_, "CREATE TABLE t(x); DROP TABLE t;");  // a valid SQLite file with an empty schema
  std::string before = file_bytes(path_);
  ASSERT_FALSE(before.empty());
  EXPECT_NE(open_error(path_).find("did not create"), std::string::npos);
  EXPECT_EQ(file_bytes(path_), before);
}

TEST_F(StoreTest, MissingDirectoryGivesAClearError) {
  std::string err = open_error((dir_ / "no-such-dir" / "x.db").string());
  EXPECT_NE(err.find("cannot open the database file"), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir_ / "no-such-dir"));
}

TEST_F(StoreTest, StatsReportTheBacklog) {
  auto s = Store::open(path_, Durability::Normal);
  std::promise<void> gate;
  std::shared_future<void> open_gate = gate.get_future().share();
  s->flush([open_gate](std::optional<std::string>) { open_gate.wait(); });
  for (int i = 0; i < 5; ++i) s->append("a", bytes("x"), nullptr);
  EXPECT_GE(s->stats().queued, 5u);
  gate.set_value();
  flush_sync(*s);
  EXPECT_EQ(s->stats().queued, 0u);
}

TEST_F(StoreTest, ZeroByteFileIsInitialised) {
  { std::ofstream(path_, std::ios::binary); }
  auto s = Store::open(path_, Durability::Full);
  EXPECT_EQ(append_sync(*s, "a", bytes("x")), std::nullopt);
}

TEST_F(StoreTest, NewerSchemaVersionIsRefusedAndLeftUntouched) {
  { auto s = Store::open(path_, Durability::Full); }
  raw_exec(path_, "PRAGMA user_version = 99;");
  std::string before = file_bytes(path_);
  std::string err = open_error(path_);
  EXPECT_NE(err.find("newer collabio"), std::string::npos) << err;
  EXPECT_EQ(file_bytes(path_), before);
}

TEST_F(StoreTest, CorruptLogRowGivesAClearErrorAndLeavesTheFileUntouched) {
  {
    auto s = Store::open(path_, Durability::Full);
    append_sync(*s, "a", bytes("hello"));
    append_sync(*s, "a", bytes("world"));
    append_sync(*s, "b", bytes("fine"));
  }
  // Flip the content of one row behind the store's back (the checksum no longer matches).
  raw_exec(path_, "UPDATE collabio_log SET data = X'68656c6c6e' WHERE doc = 'a' AND data = X'68656c6c6f';");
  std::string before = file_bytes(path_);
  {
    auto s = Store::open(path_, Durability::Full);
    auto r = load_sync(*s, "a");
    ASSERT_TRUE(std::holds_alternative<std::string>(r));
    const std::string& err = std::get<std::string>(r);
    EXPECT_NE(err.find("checksum"), std::string::npos) << err;
    EXPECT_NE(err.find("'a'"), std::string::npos) << err;
    // Other documents still load.
    EXPECT_EQ(load_ok(*s, "b").updates.size(), 1u);
  }
  EXPECT_EQ(file_bytes(path_), before);
}

TEST_F(StoreTest, CorruptStateRowGivesAClearError) {
  {
    auto s = Store::open(path_, Durability::Full);
    append_sync(*s, "a", bytes("hello"));
    compact_sync(*s, "a", bytes("state"));
  }
  raw_exec(path_, "UPDATE collabio_state SET doc = 'b' WHERE doc = 'a';");  // row moved to another doc
  auto s = Store::open(path_, Durability::Full);
  auto r = load_sync(*s, "b");
  ASSERT_TRUE(std::holds_alternative<std::string>(r));
  EXPECT_NE(std::get<std::string>(r).find("compact state"), std::string::npos);
}

TEST_F(StoreTest, CloseIsIdempotentAndLaterCallsFailCleanly) {
  auto s = Store::open(path_, Durability::Full);
  std::atomic<bool> durable{false};
  s->append("a", bytes("x"), [&](std::optional<std::string> e) { durable = !e; });
  s->close();
  EXPECT_TRUE(durable.load());  // close drains what was queued
  s->close();
  std::optional<std::string> err;
  s->append("a", bytes("y"), [&](std::optional<std::string> e) { err = std::move(e); });
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->find("closed"), std::string::npos);
  bool load_failed = false;
  s->load("a", [&](std::variant<StoredDoc, std::string> r) { load_failed = r.index() == 1; });
  EXPECT_TRUE(load_failed);
  s.reset();
  auto again = Store::open(path_, Durability::Full);
  EXPECT_EQ(load_ok(*again, "a").updates.size(), 1u);
}

TEST_F(StoreTest, CallbackMayQueueMoreWork) {
  auto s = Store::open(path_, Durability::Normal);
  std::promise<void> done;
  s->append("a", bytes("1"), [&](std::optional<std::string>) {
    s->append("a", bytes("2"), [&](std::optional<std::string>) { done.set_value(); });
  });
  done.get_future().get();
  EXPECT_EQ(load_ok(*s, "a").updates.size(), 2u);
}

TEST_F(StoreTest, ThrowingCallbackDoesNotStopTheStore) {
  auto s = Store::open(path_, Durability::Normal);
  s->append("a", bytes("1"), [](std::optional<std::string>) { throw std::runtime_error("boom"); });
  EXPECT_EQ(append_sync(*s, "a", bytes("2")), std::nullopt);
}

TEST_F(StoreTest, DatabaseIsInWalModeWithOurIdentity) {
  { auto s = Store::open(path_, Durability::Full); }
  EXPECT_EQ(raw_count(path_, "PRAGMA application_id"), collabio::store::kApplicationId);
  EXPECT_EQ(raw_count(path_, "PRAGMA user_version"), collabio::store::kSchemaVersion);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}
