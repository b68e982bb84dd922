#include "identity/resolver.h"

#include <algorithm>

namespace omniloop::identity {

namespace {

bool lowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

void newProfileId(std::string_view hash, std::string& out) {
  constexpr size_t kLen = 32;
  const size_t colon = hash.rfind(':');
  const std::string_view hex = colon == std::string_view::npos ? hash : hash.substr(colon + 1);
  if (hex.size() >= kLen && lowerHex(hex.substr(0, kLen))) {
    out.assign(hex.substr(0, kLen));
    return;
  }
  out = event::makeEventId("profile", hash);
}

Resolver::Resolver(Config config, size_t max_cached_profiles)
    : config_(std::move(config)), max_profiles_(max_cached_profiles) {
  for (const TypeRule& r : config_.types) {
    if (r.max_per_profile > 0) limited_.push_back(&r);
  }
}

void Resolver::dropCaches() {
  profiles_.clear();
  profile_slots_.clear();
  identities_.clear();
  prefixes_.clear();
  whole_.clear();
  prefix_ids_.clear();
  dirty_profiles_.clear();
  dirty_identities_.clear();
  conflicts_.clear();
  conflict_slots_.clear();
}

bool Resolver::beginBatch(int64_t now, bool cache_valid) {
  now_ = now;
  // Changes not flushed yet live only in the caches: keep them (the caller's transaction is
  // still open, so nobody else can have written).
  if (pending()) return true;
  const bool keep = cache_valid && !oversized();
  if (!keep) dropCaches();
  return keep;
}

bool Resolver::pending() const {
  return !dirty_profiles_.empty() || !dirty_identities_.empty() || !conflicts_.empty();
}

bool Resolver::oversized() const {
  return profiles_.size() > max_profiles_ || identities_.size() > 4 * max_profiles_;
}

void Resolver::committed() {
  dirty_profiles_.clear();
  dirty_identities_.clear();
  conflicts_.clear();
  conflict_slots_.clear();
}

void Resolver::rolledBack() {
  dropCaches();
}

uint32_t Resolver::root(uint32_t slot) {
  uint32_t r = slot;
  while (profiles_[r].merged_into != kNoSlot) r = profiles_[r].merged_into;
  // Path compression: later lookups through `slot` take one step.
  while (profiles_[slot].merged_into != kNoSlot && profiles_[slot].merged_into != r) {
    const uint32_t next = profiles_[slot].merged_into;
    profiles_[slot].merged_into = r;
    slot = next;
  }
  return r;
}

uint32_t Resolver::slotOf(std::string_view profile_id) {
  if (auto it = profile_slots_.find(profile_id); it != profile_slots_.end()) return it->second;
  const auto slot = static_cast<uint32_t>(profiles_.size());
  profiles_.emplace_back();
  profiles_.back().id.assign(profile_id);
  profile_slots_.emplace(profiles_.back().id, slot);
  return slot;
}

const std::string& Resolver::identityKey(const Key& key) {
  key_buffer_.assign(key.type);
  key_buffer_.push_back('\x1f');
  key_buffer_.append(key.hash);
  return key_buffer_;
}

bool Resolver::compactKey(const Key& key, IdentityKey& out, bool intern) {
  constexpr size_t kHex = 2 * sizeof out.digest;
  const size_t colon = key.hash.rfind(':');
  bool digest = colon != std::string_view::npos && key.hash.size() - colon - 1 == kHex;
  for (size_t i = 0; digest && i < sizeof out.digest; ++i) {
    const int hi = hexValue(key.hash[colon + 1 + 2 * i]);
    const int lo = hexValue(key.hash[colon + 2 + 2 * i]);
    digest = hi >= 0 && lo >= 0;
    out.digest[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  key_buffer_.assign(key.type);
  key_buffer_.push_back('\x1f');
  if (digest) {
    key_buffer_.append(key.hash.substr(0, colon + 1));
  } else {
    std::memset(out.digest, 0, sizeof out.digest);
    key_buffer_.append(key.hash);
    key_buffer_.push_back('\0');  // never equal to a digest prefix
  }
  if (auto it = prefix_ids_.find(std::string_view(key_buffer_)); it != prefix_ids_.end()) {
    out.prefix = it->second;
    return true;
  }
  if (!intern) return false;
  out.prefix = static_cast<uint32_t>(prefixes_.size());
  prefixes_.push_back(key_buffer_);
  whole_.push_back(!digest);
  prefix_ids_.emplace(key_buffer_, out.prefix);
  return true;
}

std::string_view Resolver::expandKey(const IdentityKey& key, std::string& out) const {
  static constexpr char kDigits[] = "0123456789abcdef";
  const std::string& prefix = prefixes_[key.prefix];
  const size_t sep = prefix.find('\x1f');
  if (whole_[key.prefix]) {
    out.assign(prefix, sep + 1, prefix.size() - sep - 2);  // without the trailing '\0'
  } else {
    out.assign(prefix, sep + 1);
    for (unsigned char b : key.digest) {
      out.push_back(kDigits[b >> 4]);
      out.push_back(kDigits[b & 15]);
    }
  }
  return std::string_view(prefix).substr(0, sep);
}

Resolver::IdentityMap::value_type* Resolver::lookup(Graph& graph, const Key& key) {
  if (compactKey(key, compact_, false)) {
    if (auto it = identities_.find(compact_); it != identities_.end()) return &*it;
  }
  if (!graph.findIdentity(key.type, key.hash, found_)) return nullptr;
  const uint32_t slot = slotOf(found_.profile);
  compactKey(key, compact_, true);
  auto [it, inserted] = identities_.emplace(
      compact_, IdentityState{slot, found_.first_seen, found_.last_seen, false});
  return &*it;
}

void Resolver::ensureLoaded(Graph& graph, uint32_t slot) {
  if (profiles_[slot].loaded) return;
  Profile& p = profiles_[slot];
  if (graph.loadProfile(p.id, stored_)) {
    p.first_seen = stored_.first_seen;
    p.last_seen = stored_.last_seen;
    p.traits.fromJson(config_, stored_.traits, stored_.traits_meta);
  } else {
    // An identity points at a profile without a row (written by something else): start it.
    p.traits.clear();
  }
  p.loaded = true;
}

void Resolver::ensureCounts(Graph& graph, uint32_t slot) {
  Profile& p = profiles_[slot];
  if (p.counts_known) return;
  p.counts.clear();
  graph.countIdentities(p.id, p.counts);
  p.counts_known = true;
}

namespace {

uint32_t countOf(const std::vector<TypeCount>& counts, std::string_view type) {
  for (const TypeCount& c : counts) {
    if (c.type == type) return c.count;
  }
  return 0;
}

void addCount(std::vector<TypeCount>& counts, std::string_view type, uint32_t n) {
  for (TypeCount& c : counts) {
    if (c.type == type) {
      c.count += n;
      return;
    }
  }
  counts.push_back(TypeCount{std::string(type), n});
}

}  // namespace

uint32_t Resolver::clusterCount(Graph& graph, std::string_view type) {
  if (!counts_valid_) {
    cluster_counts_.clear();
    for (uint32_t slot : cluster_) {
      ensureCounts(graph, slot);
      for (const TypeCount& c : profiles_[slot].counts) addCount(cluster_counts_, c.type, c.count);
    }
    for (const Key* k : new_keys_) addCount(cluster_counts_, k->type, 1);
    counts_valid_ = true;
  }
  return countOf(cluster_counts_, type);
}

bool Resolver::hasStrongIdentity(Graph& graph, uint32_t slot) {
  ensureCounts(graph, slot);
  for (const TypeCount& c : profiles_[slot].counts) {
    if (c.count > 0 && config_.rule(c.type).merge) return true;
  }
  return false;
}

const TypeRule* Resolver::brokenLimit(Graph& graph, uint32_t slot) {
  if (limited_.empty()) return nullptr;
  ensureCounts(graph, slot);
  for (const TypeRule* rule : limited_) {
    const uint32_t adds = countOf(profiles_[slot].counts, rule->type);
    if (adds > 0 && clusterCount(graph, rule->type) + adds > rule->max_per_profile) return rule;
  }
  return nullptr;
}

void Resolver::markDirty(uint32_t slot) {
  Profile& p = profiles_[slot];
  if (p.dirty) return;
  p.dirty = true;
  dirty_profiles_.push_back(slot);
}

void Resolver::widen(Graph& graph, uint32_t slot, int64_t seen) {
  ensureLoaded(graph, slot);
  Profile& p = profiles_[slot];
  if (seen < p.first_seen || seen > p.last_seen) {
    p.first_seen = std::min(p.first_seen, seen);
    p.last_seen = std::max(p.last_seen, seen);
    markDirty(slot);
  }
}

void Resolver::widen(IdentityMap::value_type& identity, int64_t seen) {
  IdentityState& s = identity.second;
  if (seen >= s.first_seen && seen <= s.last_seen) return;
  s.first_seen = std::min(s.first_seen, seen);
  s.last_seen = std::max(s.last_seen, seen);
  if (!s.dirty) {
    s.dirty = true;
    dirty_identities_.push_back(&identity);
  }
}

uint32_t Resolver::createProfile(Graph& graph, const Key& named_by, int64_t seen) {
  newProfileId(named_by.hash, id_buffer_);
  // A taken id is a 128-bit collision (or a profile written by something else): derive the
  // next candidate from the same identity, so the choice stays deterministic.
  for (int attempt = 1;; ++attempt) {
    if (profile_slots_.find(std::string_view(id_buffer_)) == profile_slots_.end() &&
        graph.insertProfile(id_buffer_, seen, seen, now_)) {
      break;
    }
    reason_.assign(named_by.hash);
    reason_.push_back('#');
    reason_.append(std::to_string(attempt));
    id_buffer_ = event::makeEventId("profile", reason_);  // not newProfileId: same 32-hex prefix
  }
  const uint32_t slot = slotOf(id_buffer_);
  Profile& p = profiles_[slot];
  p.loaded = true;
  p.counts_known = true;
  p.first_seen = seen;
  p.last_seen = seen;
  ++stats_.profiles_created;
  return slot;
}

void Resolver::attach(Graph& graph, const Key& key, uint32_t slot, std::string_view source,
                      int64_t seen) {
  Profile& p = profiles_[slot];
  graph.insertIdentity(key.type, key.hash, p.id, source, seen, seen);
  compactKey(key, compact_, true);
  identities_.insert_or_assign(compact_, IdentityState{slot, seen, seen, false});
  if (p.counts_known) addCount(p.counts, key.type, 1);
}

void Resolver::merge(Graph& graph, uint32_t winner, uint32_t loser, std::string_view reason) {
  ensureLoaded(graph, winner);
  ensureLoaded(graph, loser);
  Profile& w = profiles_[winner];
  Profile& l = profiles_[loser];
  graph.mergeProfiles(w.id, l.id, reason, now_);
  w.traits.combine(config_, l.traits);
  w.first_seen = std::min(w.first_seen, l.first_seen);
  w.last_seen = std::max(w.last_seen, l.last_seen);
  if (w.counts_known && l.counts_known) {
    for (const TypeCount& c : l.counts) addCount(w.counts, c.type, c.count);
  } else {
    w.counts_known = false;
  }
  l.merged_into = winner;
  l.dirty = false;
  l.traits.clear();
  markDirty(winner);
  ++stats_.merges;
}

Resolution Resolver::resolve(Graph& graph, std::span<const Key> keys, std::string_view event_id,
                             std::string_view source, int64_t seen) {
  claims_.clear();
  bool any_strong = false;
  for (const Key& k : keys) {
    const TypeRule& rule = config_.rule(k.type);
    claims_.push_back(Claim{&k, &rule, lookup(graph, k)});
    any_strong = any_strong || rule.merge;
  }
  if (claims_.empty()) return {};
  // Strong identities first, each group by priority, then type name (event order breaks ties
  // between two values of one type).
  std::stable_sort(claims_.begin(), claims_.end(), [](const Claim& a, const Claim& b) {
    if (a.rule->merge != b.rule->merge) return a.rule->merge;
    if (a.rule->priority != b.rule->priority) return a.rule->priority < b.rule->priority;
    return a.key->type < b.key->type;
  });

  cluster_.clear();
  brought_by_.clear();
  new_keys_.clear();
  rejected_.clear();
  counts_valid_ = false;
  bool cluster_strong = false;  // the cluster holds a profile with a strong identity
  for (const Claim& c : claims_) {
    const bool combining = !cluster_.empty() || !new_keys_.empty();
    if (c.known != nullptr) {
      const uint32_t slot = root(c.known->second.profile);
      if (std::find(cluster_.begin(), cluster_.end(), slot) != cluster_.end()) continue;
      // (Whether it is strong matters only with something else in the event: skip the lookup
      // for the common one-phone call.)
      bool slot_strong = c.rule->merge;
      if (!slot_strong && (any_strong || cluster_strong || claims_.size() > 1)) {
        slot_strong = hasStrongIdentity(graph, slot);
      }
      // A weak identifier brings a profile that has nothing but weak identifiers into any
      // cluster (so calls that came before the CRM record join it, whatever the order). It
      // brings a profile with a strong identity only into an event that carries nothing
      // stronger, and only one: two people sharing a phone never fuse.
      if (!c.rule->merge && slot_strong && (any_strong || cluster_strong)) continue;
      if (combining) {
        if (const TypeRule* limit = brokenLimit(graph, slot); limit != nullptr) {
          rejected_.push_back(Rejected{c.key, slot, limit});
          continue;
        }
      }
      cluster_.push_back(slot);
      brought_by_.push_back(c.key);
      cluster_strong = cluster_strong || slot_strong;
      if (counts_valid_) {
        ensureCounts(graph, slot);
        for (const TypeCount& t : profiles_[slot].counts)
          addCount(cluster_counts_, t.type, t.count);
      }
    } else {
      const uint32_t max = c.rule->max_per_profile;
      if (max > 0 && combining && clusterCount(graph, c.key->type) + 1 > max) {
        rejected_.push_back(Rejected{c.key, kNoSlot, c.rule});
        continue;
      }
      new_keys_.push_back(c.key);
      if (counts_valid_) addCount(cluster_counts_, c.key->type, 1);
    }
  }

  uint32_t winner;
  if (!cluster_.empty()) {
    size_t best = 0;
    for (size_t i = 1; i < cluster_.size(); ++i) {
      if (profiles_[cluster_[i]].id < profiles_[cluster_[best]].id) best = i;
    }
    winner = cluster_[best];
    for (size_t i = 0; i < cluster_.size(); ++i) {
      if (i == best) continue;
      // Reason: the identity that joined this profile to the event, and the event.
      reason_.assign(brought_by_[i]->type);
      reason_.append(" via event ");
      reason_.append(event_id);
      merge(graph, winner, cluster_[i], reason_);
    }
  } else {
    winner = createProfile(graph, *new_keys_.front(), seen);
  }
  for (const Key* k : new_keys_) attach(graph, *k, winner, source, seen);
  widen(graph, winner, seen);
  for (const Claim& c : claims_) {
    if (c.known != nullptr) widen(*c.known, seen);
  }

  for (const Rejected& r : rejected_) {
    const std::string_view stays =
        r.stays == kNoSlot ? std::string_view() : profiles_[root(r.stays)].id;
    const std::string_view other = profiles_[winner].id;
    reason_.assign("max_per_profile:");
    reason_.append(r.limit->type);
    // One pending row per (identity, reason) however often it recurs before the flush.
    identityKey(*r.key);  // into key_buffer_
    key_buffer_.push_back('\x1f');
    key_buffer_.append(reason_);
    auto [slot, added] = conflict_slots_.try_emplace(key_buffer_, conflicts_.size());
    if (added) {
      conflicts_.push_back(PendingConflict{std::string(r.key->type), std::string(r.key->hash),
                                           reason_, std::string(stays), std::string(other), 0});
    }
    PendingConflict* pending = &conflicts_[slot->second];
    pending->profile.assign(stays);
    pending->other.assign(other);
    ++pending->occurrences;
    ++stats_.conflicts;
  }
  return Resolution{profiles_[winner].id, winner};
}

void Resolver::observe(const Resolution& r, const event::Event& e, int64_t seen, bool inserted) {
  if (!inserted || r.handle == Resolution::kNone) return;
  const uint32_t slot = root(r.handle);
  profiles_[slot].traits.observe(config_, e, seen);
  markDirty(slot);
}

void Resolver::flush(Graph& graph) {
  // In key order: the rows sit in B-trees keyed by them, so neighbouring writes share pages.
  std::sort(dirty_profiles_.begin(), dirty_profiles_.end(),
            [this](uint32_t a, uint32_t b) { return profiles_[a].id < profiles_[b].id; });
  std::sort(dirty_identities_.begin(), dirty_identities_.end(),
            [this](const IdentityMap::value_type* a, const IdentityMap::value_type* b) {
              if (a->first.prefix != b->first.prefix)
                return prefixes_[a->first.prefix] < prefixes_[b->first.prefix];
              return std::memcmp(a->first.digest, b->first.digest, sizeof a->first.digest) < 0;
            });
  for (uint32_t slot : dirty_profiles_) {
    Profile& p = profiles_[slot];
    if (!p.dirty || p.merged_into != kNoSlot) continue;
    p.traits.toJson(config_, traits_json_, meta_json_);
    graph.updateProfile(p.id, p.first_seen, p.last_seen, traits_json_, meta_json_, now_);
    p.dirty = false;
  }
  dirty_profiles_.clear();
  for (IdentityMap::value_type* identity : dirty_identities_) {
    IdentityState& s = identity->second;
    s.dirty = false;
    const std::string_view type = expandKey(identity->first, expanded_);
    graph.touchIdentity(type, expanded_, s.first_seen, s.last_seen);
  }
  dirty_identities_.clear();
  for (PendingConflict& c : conflicts_) {
    // A profile named when the conflict arose may have been merged later in the batch: name
    // where it went, as the merge re-pointed every row that named it already.
    for (std::string* id : {&c.profile, &c.other}) {
      if (auto it = profile_slots_.find(std::string_view(*id)); it != profile_slots_.end()) {
        id->assign(profiles_[root(it->second)].id);
      }
    }
    graph.recordConflict(Conflict{c.type, c.hash, c.profile, c.other, c.reason, now_},
                         c.occurrences);
  }
  conflicts_.clear();
  conflict_slots_.clear();
}

}  // namespace omniloop::identity
