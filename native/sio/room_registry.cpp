#include "sio/room_registry.h"

namespace collabio::sio {

void RoomRegistry::add_member(const std::string& nsp, uint64_t conn) { nsps_[nsp].members.insert(conn); }

void RoomRegistry::remove_member(const std::string& nsp, uint64_t conn) {
  auto it = nsps_.find(nsp);
  if (it == nsps_.end()) return;
  Namespace& n = it->second;
  n.members.erase(conn);
  if (auto r = n.rooms_of.find(conn); r != n.rooms_of.end()) {
    r->second.for_each([&](RoomEntry* room) {
      room->second.members.erase(conn);
      if (room->second.members.empty()) n.rooms.erase(n.rooms.find(room->first));
    });
    n.rooms_of.erase(r);
  }
  if (n.members.empty() && n.rooms.empty()) nsps_.erase(it);
}

void RoomRegistry::remove_connection(uint64_t conn) {
  std::vector<std::string> names;
  for (const auto& [name, n] : nsps_)
    if (n.members.count(conn) || n.rooms_of.count(conn)) names.push_back(name);
  for (const auto& name : names) remove_member(name, conn);
}

void RoomRegistry::join(const std::string& nsp, uint64_t conn, const std::string& room) {
  Namespace& n = nsps_[nsp];
  // A room that does not exist yet has no members, so it is created only for a new membership.
  RoomEntry& entry = *n.rooms.try_emplace(room).first;
  if (n.rooms_of[conn].insert(&entry)) entry.second.members.insert(conn);
}

void RoomRegistry::leave(const std::string& nsp, uint64_t conn, const std::string& room) {
  auto it = nsps_.find(nsp);
  if (it == nsps_.end()) return;
  Namespace& n = it->second;
  auto r = n.rooms_of.find(conn);
  auto m = n.rooms.find(room);
  if (r == n.rooms_of.end() || m == n.rooms.end() || !r->second.erase(&*m)) return;
  m->second.members.erase(conn);
  if (m->second.members.empty()) n.rooms.erase(m);
}

void RoomRegistry::recipients(const std::string& nsp, const std::vector<std::string>& rooms,
                              const std::vector<std::string>& except, std::vector<uint64_t>& out) const {
  auto it = nsps_.find(nsp);
  if (it == nsps_.end()) return;
  const Namespace& n = it->second;
  std::vector<const Room*> excluded_rooms;
  for (const auto& e : except)
    if (auto m = n.rooms.find(e); m != n.rooms.end()) excluded_rooms.push_back(&m->second);
  auto excluded = [&](uint64_t c) {
    for (const Room* room : excluded_rooms)
      if (room->members.contains(c)) return true;
    return false;
  };
  if (rooms.empty()) {
    out.reserve(n.members.size());
    for (uint64_t c : n.members)
      if (!excluded(c)) out.push_back(c);
    return;
  }
  if (rooms.size() == 1) {
    auto m = n.rooms.find(rooms[0]);
    if (m == n.rooms.end()) return;
    out.reserve(m->second.members.size());
    m->second.members.for_each([&](uint64_t c) {
      if (n.members.count(c) && !excluded(c)) out.push_back(c);
    });
    return;
  }
  std::unordered_set<uint64_t> seen;
  for (const auto& room : rooms) {
    auto m = n.rooms.find(room);
    if (m == n.rooms.end()) continue;
    m->second.members.for_each([&](uint64_t c) {
      if (n.members.count(c) && !excluded(c) && seen.insert(c).second) out.push_back(c);
    });
  }
}

}  // namespace collabio::sio
