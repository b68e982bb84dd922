#include "identity/resolver.h"

#include <algorithm>

#include "event/hex.h"

namespace omniloop::identity {

void newProfileId(std::string_view hash, std::string& out) {
  constexpr size_t kLen = 32;
  const size_t colon = hash.rfind(':');
  const std::string_view hex = colon == std::string_view::npos ? hash : hash.substr(colon + 1);
  if (hex.size() >= kLen && event::isLowerHex(hex.substr(0, kLen))) {
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

uint32_t Resolver::IdentityChunks::push(const CachedIdentity& e) {
  if (size_ == chunks_.size() * kChunk) {
    chunks_.push_back(std::make_unique_for_overwrite<CachedIdentity[]>(kChunk));
  }
  const auto i = static_cast<uint32_t>(size_++);
  (*this)[i] = e;
  return i;
}

void Resolver::IdentityChunks::clear() {
  // The chunks stay: the next fill reaches the same bound (max_cached_profiles) again, and
  // re-allocating them at every drop only faulted fresh pages in.
  size_ = 0;
}

void Resolver::FlatIndex::place(size_t hash, uint32_t entry_plus_one, uint32_t tag) {
  size_t i = hash & mask_;
  while (slots_[i].entry != 0) i = (i + 1) & mask_;
  slots_[i] = Slot{entry_plus_one, tag};
}

void Resolver::FlatIndex::insert(size_t hash, uint32_t entry) {
  if (2 * (used_ + 1) > slots_.size()) {
    // Double (the tags are the low 32 bits of each hash, enough to re-file every entry while
    // the table stays below 2^32 slots).
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(std::max<size_t>(64, 2 * old.size()), Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.entry != 0) place(s.tag, s.entry, s.tag);
    }
  }
  place(hash, entry + 1, static_cast<uint32_t>(hash));
  ++used_;
}

void Resolver::FlatIndex::clear() {
  // Emptied in place, for the same reason as IdentityChunks::clear: no regrowth from 64 slots.
  std::fill(slots_.begin(), slots_.end(), Slot{});
  used_ = 0;
}

void Resolver::dropCaches() {
  profiles_.clear();
  ids_.reset();
  profile_index_.clear();
  identities_.clear();
  identity_index_.clear();
  prefixes_.clear();
  whole_.clear();
  prefix_ids_.clear();
  recent_prefixes_.clear();
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

uint32_t Resolver::findProfile(std::string_view id) const {
  return profile_index_.find(StringHash{}(id),
                             [&](uint32_t slot) { return profiles_[slot].id == id; });
}

uint32_t Resolver::findIdentity(const IdentityKey& key) const {
  return identity_index_.find(IdentityKeyHash{}(key),
                              [&](uint32_t entry) { return identities_[entry].key == key; });
}

uint32_t Resolver::slotOf(std::string_view profile_id) {
  if (const uint32_t slot = findProfile(profile_id); slot != FlatIndex::kNone) return slot;
  const auto slot = static_cast<uint32_t>(profiles_.size());
  profiles_.emplace_back();
  profiles_.back().id = ids_.copy(profile_id);
  profile_index_.insert(StringHash{}(profile_id), slot);
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
  const bool digest =
      colon != std::string_view::npos && key.hash.size() - colon - 1 == kHex &&
      event::decodeLowerHex(key.hash.substr(colon + 1), out.digest, sizeof out.digest);
  if (digest) {
    // The few prefixes (a type and a key id each) recur on every event: the last ones found
    // answer without building the interning key.
    const std::string_view head = key.hash.substr(0, colon + 1);
    for (const RecentPrefix& r : recent_prefixes_) {
      if (r.type == key.type && r.head == head) {
        out.prefix = r.id;
        return true;
      }
    }
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
  auto remember = [&] {
    if (!digest) return;
    if (recent_prefixes_.size() == kRecentPrefixes)
      recent_prefixes_.erase(recent_prefixes_.begin());
    recent_prefixes_.push_back(RecentPrefix{
        std::string(key.type), std::string(key.hash.substr(0, colon + 1)), out.prefix});
  };
  if (auto it = prefix_ids_.find(std::string_view(key_buffer_)); it != prefix_ids_.end()) {
    out.prefix = it->second;
    remember();
    return true;
  }
  if (!intern) return false;
  out.prefix = static_cast<uint32_t>(prefixes_.size());
  prefixes_.push_back(key_buffer_);
  whole_.push_back(!digest);
  prefix_ids_.emplace(key_buffer_, out.prefix);
  remember();
  return true;
}

std::string_view Resolver::expandKey(const IdentityKey& key, std::string& out) const {
  const std::string& prefix = prefixes_[key.prefix];
  const size_t sep = prefix.find('\x1f');
  if (whole_[key.prefix]) {
    out.assign(prefix, sep + 1, prefix.size() - sep - 2);  // without the trailing '\0'
  } else {
    out.assign(prefix, sep + 1);
    event::appendHex(out, key.digest, sizeof key.digest);
  }
  return std::string_view(prefix).substr(0, sep);
}

uint32_t Resolver::lookup(Graph& graph, const Key& key) {
  if (compactKey(key, compact_, false)) {
    if (const uint32_t entry = findIdentity(compact_); entry != FlatIndex::kNone) return entry;
  }
  if (!graph.findIdentity(key.type, key.hash, found_)) return kNoSlot;
  const uint32_t slot = slotOf(found_.profile);
  compactKey(key, compact_, true);
  const uint32_t entry =
      identities_.push(CachedIdentity{compact_, slot, 0, found_.first_seen, found_.last_seen});
  identity_index_.insert(IdentityKeyHash{}(compact_), entry);
  return entry;
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

uint32_t Resolver::typeId(std::string_view type) {
  for (size_t i = 0; i < type_names_.size(); ++i) {
    if (type_names_[i] == type) return static_cast<uint32_t>(i);
  }
  type_names_.emplace_back(type);
  type_merges_.push_back(config_.rule(type).merge);
  return static_cast<uint32_t>(type_names_.size() - 1);
}

namespace {

template <typename Counts>
uint32_t countOf(const Counts& counts, uint32_t type) {
  for (const auto& c : counts) {
    if (c.type == type) return c.n;
  }
  return 0;
}

template <typename Counts>
void addCount(Counts& counts, uint32_t type, uint32_t n) {
  for (auto& c : counts) {
    if (c.type == type) {
      c.n += n;
      return;
    }
  }
  counts.push_back({type, n});
}

}  // namespace

void Resolver::ensureCounts(Graph& graph, uint32_t slot) {
  if (profiles_[slot].counts_known) return;
  stored_counts_.clear();
  graph.countIdentities(profiles_[slot].id, stored_counts_);
  Profile& p = profiles_[slot];
  p.counts.clear();
  for (const TypeCount& c : stored_counts_) addCount(p.counts, typeId(c.type), c.count);
  p.counts_known = true;
}

uint32_t Resolver::clusterCount(Graph& graph, uint32_t type) {
  if (!counts_valid_) {
    cluster_counts_.clear();
    for (uint32_t slot : cluster_) {
      ensureCounts(graph, slot);
      for (const Count& c : profiles_[slot].counts) addCount(cluster_counts_, c.type, c.n);
    }
    for (const Key* k : new_keys_) addCount(cluster_counts_, typeId(k->type), 1);
    counts_valid_ = true;
  }
  return countOf(cluster_counts_, type);
}

bool Resolver::hasStrongIdentity(Graph& graph, uint32_t slot) {
  ensureCounts(graph, slot);
  for (const Count& c : profiles_[slot].counts) {
    if (c.n > 0 && type_merges_[c.type]) return true;
  }
  return false;
}

const TypeRule* Resolver::brokenLimit(Graph& graph, uint32_t slot) {
  if (limited_.empty()) return nullptr;
  ensureCounts(graph, slot);
  for (const TypeRule* rule : limited_) {
    const uint32_t type = typeId(rule->type);
    const uint32_t adds = countOf(profiles_[slot].counts, type);
    if (adds > 0 && clusterCount(graph, type) + adds > rule->max_per_profile) return rule;
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

void Resolver::widenIdentity(uint32_t entry, int64_t seen) {
  CachedIdentity& s = identities_[entry];
  if (seen >= s.first_seen && seen <= s.last_seen) return;
  s.first_seen = std::min(s.first_seen, seen);
  s.last_seen = std::max(s.last_seen, seen);
  if (!s.dirty) {
    s.dirty = 1;
    dirty_identities_.push_back(entry);
  }
}

uint32_t Resolver::createProfile(Graph& graph, const Key& named_by, int64_t seen) {
  newProfileId(named_by.hash, id_buffer_);
  // A taken id is a 128-bit collision (or a profile written by something else): derive the
  // next candidate from the same identity, so the choice stays deterministic.
  for (int attempt = 1;; ++attempt) {
    if (findProfile(id_buffer_) == FlatIndex::kNone &&
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
  if (const uint32_t entry = findIdentity(compact_); entry != FlatIndex::kNone) {
    // Not expected (a cached identity is one the graph holds), but then it moves here.
    CachedIdentity& s = identities_[entry];
    s.profile = slot;
    s.first_seen = s.last_seen = seen;
  } else {
    identity_index_.insert(IdentityKeyHash{}(compact_),
                           identities_.push(CachedIdentity{compact_, slot, 0, seen, seen}));
  }
  if (p.counts_known) addCount(p.counts, typeId(key.type), 1);
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
    for (const Count& c : l.counts) addCount(w.counts, c.type, c.n);
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
    if (c.known != kNoSlot) {
      const uint32_t slot = root(identities_[c.known].profile);
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
        for (const Count& t : profiles_[slot].counts) addCount(cluster_counts_, t.type, t.n);
      }
    } else {
      const uint32_t max = c.rule->max_per_profile;
      if (max > 0 && combining && clusterCount(graph, typeId(c.key->type)) + 1 > max) {
        rejected_.push_back(Rejected{c.key, kNoSlot, c.rule});
        continue;
      }
      new_keys_.push_back(c.key);
      if (counts_valid_) addCount(cluster_counts_, typeId(c.key->type), 1);
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
    if (c.known != kNoSlot) widenIdentity(c.known, seen);
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
  std::sort(dirty_identities_.begin(), dirty_identities_.end(), [this](uint32_t x, uint32_t y) {
    const IdentityKey& a = identities_[x].key;
    const IdentityKey& b = identities_[y].key;
    if (a.prefix != b.prefix) return prefixes_[a.prefix] < prefixes_[b.prefix];
    return std::memcmp(a.digest, b.digest, sizeof a.digest) < 0;
  });
  for (uint32_t slot : dirty_profiles_) {
    Profile& p = profiles_[slot];
    if (!p.dirty || p.merged_into != kNoSlot) continue;
    p.traits.toJson(config_, traits_json_, meta_json_);
    graph.updateProfile(p.id, p.first_seen, p.last_seen, traits_json_, meta_json_, now_);
    p.dirty = false;
  }
  dirty_profiles_.clear();
  for (uint32_t entry : dirty_identities_) {
    CachedIdentity& s = identities_[entry];
    s.dirty = 0;
    const std::string_view type = expandKey(s.key, expanded_);
    graph.touchIdentity(type, expanded_, s.first_seen, s.last_seen);
  }
  dirty_identities_.clear();
  for (PendingConflict& c : conflicts_) {
    // A profile named when the conflict arose may have been merged later in the batch: name
    // where it went, as the merge re-pointed every row that named it already.
    for (std::string* id : {&c.profile, &c.other}) {
      if (const uint32_t slot = findProfile(*id); slot != FlatIndex::kNone) {
        id->assign(profiles_[root(slot)].id);
      }
    }
    graph.recordConflict(Conflict{c.type, c.hash, c.profile, c.other, c.reason, now_},
                         c.occurrences);
  }
  conflicts_.clear();
  conflict_slots_.clear();
}

}  // namespace omniloop::identity
