#pragma once
// An identity::Graph held in maps: the rows a store backend would hold, for testing the
// Resolver's decisions without a database. Also records every call, so tests can assert how
// many reads and writes a decision took.
#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "identity/graph.h"

namespace omniloop::identity::testing {

class MemoryGraph : public Graph {
 public:
  struct IdentityRow {
    std::string profile, source;
    int64_t first_seen = 0, last_seen = 0;
  };
  struct ProfileRow {
    int64_t first_seen = 0, last_seen = 0;
    std::string traits = "{}", traits_meta = "{}";
  };
  struct MergeRow {
    std::string from, into, reason;
  };
  struct ConflictRow {
    std::string profile, other;
    uint32_t occurrences = 0;
  };

  std::map<std::pair<std::string, std::string>, IdentityRow> identities;
  std::map<std::string, ProfileRow> profiles;
  std::vector<MergeRow> merges;
  std::map<std::tuple<std::string, std::string, std::string>, ConflictRow> conflicts;
  // event id -> profile: what a backend's events table would say (tests write it).
  std::map<std::string, std::string> events;
  int reads = 0;

  bool findIdentity(std::string_view type, std::string_view hash, StoredIdentity& out) override {
    ++reads;
    auto it = identities.find({std::string(type), std::string(hash)});
    if (it == identities.end()) return false;
    out.profile = it->second.profile;
    out.first_seen = it->second.first_seen;
    out.last_seen = it->second.last_seen;
    return true;
  }
  void countIdentities(std::string_view profile, std::vector<TypeCount>& out) override {
    ++reads;
    std::map<std::string, uint32_t> by_type;
    for (const auto& [key, row] : identities) {
      if (row.profile == profile) ++by_type[key.first];
    }
    for (const auto& [type, n] : by_type) out.push_back({type, n});
  }
  bool loadProfile(std::string_view profile, StoredProfile& out) override {
    ++reads;
    auto it = profiles.find(std::string(profile));
    if (it == profiles.end()) return false;
    out.first_seen = it->second.first_seen;
    out.last_seen = it->second.last_seen;
    out.traits = it->second.traits;
    out.traits_meta = it->second.traits_meta;
    return true;
  }
  bool insertProfile(std::string_view profile, int64_t first_seen, int64_t last_seen, int64_t) override {
    return profiles.emplace(std::string(profile), ProfileRow{first_seen, last_seen, "{}", "{}"}).second;
  }
  void updateProfile(std::string_view profile, int64_t first_seen, int64_t last_seen, std::string_view traits,
                     std::string_view traits_meta, int64_t) override {
    ProfileRow& p = profiles.at(std::string(profile));
    p = ProfileRow{first_seen, last_seen, std::string(traits), std::string(traits_meta)};
  }
  void insertIdentity(std::string_view type, std::string_view hash, std::string_view profile,
                      std::string_view source, int64_t first_seen, int64_t last_seen) override {
    const bool added = identities
                           .emplace(std::pair{std::string(type), std::string(hash)},
                                    IdentityRow{std::string(profile), std::string(source), first_seen, last_seen})
                           .second;
    if (!added) throw std::logic_error("identity inserted twice");
    if (profiles.count(std::string(profile)) == 0) throw std::logic_error("identity of a missing profile");
  }
  void touchIdentity(std::string_view type, std::string_view hash, int64_t first_seen, int64_t last_seen) override {
    IdentityRow& r = identities.at({std::string(type), std::string(hash)});
    r.first_seen = std::min(r.first_seen, first_seen);
    r.last_seen = std::max(r.last_seen, last_seen);
  }
  void mergeProfiles(std::string_view winner, std::string_view loser, std::string_view reason, int64_t) override {
    for (auto& [key, row] : identities) {
      if (row.profile == loser) row.profile = winner;
    }
    for (auto& [id, profile] : events) {
      if (profile == loser) profile = winner;
    }
    profiles.erase(std::string(loser));
    merges.push_back({std::string(loser), std::string(winner), std::string(reason)});
  }
  void recordConflict(const Conflict& c, uint32_t occurrences) override {
    ConflictRow& row = conflicts[{std::string(c.type), std::string(c.hash), std::string(c.reason)}];
    row.profile = c.profile;
    row.other = c.other_profile;
    row.occurrences += occurrences;
  }

  std::string profileOf(const std::string& type, const std::string& hash) const {
    auto it = identities.find({type, hash});
    return it == identities.end() ? "" : it->second.profile;
  }
};

}  // namespace omniloop::identity::testing
