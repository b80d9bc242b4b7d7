// Room membership for every namespace, as socket.io's in-memory adapter keeps it: namespace ->
// room -> connections, and connection -> its rooms. Rooms know connections only as ids; the
// fan-out looks the ids up in the connection table.
//
// Memory: every socket is in a room named after its id and usually in a few more, so most rooms
// hold one connection and most connections are in a few rooms. Both sides are SmallSets (a short
// vector, a hash set only past a few elements), and a connection's rooms point at the room entries
// instead of copying their names. A socket in two rooms costs ~300 bytes here instead of ~700 with
// hash sets of ids and of names.
//
// Owner: the local adapter (native/sio/local_adapter.h), on the command strand; no lock.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace collabio::sio {

// A set that is an unsorted vector while it has at most kSmall elements and a hash set beyond.
// Order is unspecified.
template <class T, size_t kSmall = 8>
class SmallSet {
 public:
  // True if `v` was not in the set.
  bool insert(const T& v) {
    if (big_) return big_->insert(v).second;
    if (std::find(small_.begin(), small_.end(), v) != small_.end()) return false;
    if (small_.size() < kSmall) {
      small_.push_back(v);
      return true;
    }
    big_ = std::make_unique<std::unordered_set<T>>(small_.begin(), small_.end());
    small_ = {};
    big_->insert(v);
    return true;
  }

  // True if `v` was in the set.
  bool erase(const T& v) {
    if (big_) {
      if (!big_->erase(v)) return false;
      if (big_->empty()) big_.reset();
      return true;
    }
    const auto it = std::find(small_.begin(), small_.end(), v);
    if (it == small_.end()) return false;
    *it = small_.back();
    small_.pop_back();
    return true;
  }

  bool contains(const T& v) const {
    if (big_) return big_->count(v) != 0;
    return std::find(small_.begin(), small_.end(), v) != small_.end();
  }

  size_t size() const { return big_ ? big_->size() : small_.size(); }
  bool empty() const { return size() == 0; }

  // f(element) for every element; `f` must not change the set.
  template <class F>
  void for_each(F&& f) const {
    if (big_) {
      for (const T& v : *big_) f(v);
    } else {
      for (const T& v : small_) f(v);
    }
  }

 private:
  std::vector<T> small_;
  std::unique_ptr<std::unordered_set<T>> big_;
};

class RoomRegistry {
 public:
  void add_member(const std::string& nsp, uint64_t conn);
  void remove_member(const std::string& nsp, uint64_t conn);  // leaves all its rooms too
  void remove_connection(uint64_t conn);                      // from every namespace
  void join(const std::string& nsp, uint64_t conn, const std::string& room);
  void leave(const std::string& nsp, uint64_t conn, const std::string& room);
  // Connections of `nsp` in any of `rooms` (all members if empty) and in none of `except`.
  void recipients(const std::string& nsp, const std::vector<std::string>& rooms,
                  const std::vector<std::string>& except, std::vector<uint64_t>& out) const;

 private:
  struct Room {
    SmallSet<uint64_t> members;
  };
  // Node-based: a pointer to an entry stays valid until that entry is erased (rehashing included).
  using Rooms = std::unordered_map<std::string, Room>;
  using RoomEntry = Rooms::value_type;
  struct Namespace {
    std::unordered_set<uint64_t> members;
    Rooms rooms;  // a room is erased when its last member leaves
    std::unordered_map<uint64_t, SmallSet<RoomEntry*>> rooms_of;  // entries of `rooms`
  };
  std::unordered_map<std::string, Namespace> nsps_;
};

}  // namespace collabio::sio
