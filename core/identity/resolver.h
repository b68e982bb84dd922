#pragma once
// Deterministic identity resolution over pseudonymised identifiers, shared by every store
// backend (which provides the rows through identity::Graph, see graph.h for the call pattern).
//
// An event's identities claim a profile one by one, strongest type first (Config::types
// order: priority, then type name); weak identifiers (merge: false) come after every strong one.
// A profile is "strong" when it holds an identity of a type that merges, "weak-only" otherwise.
//   - a known identity brings its profile into the event's cluster, unless that would give the
//     cluster more identities of a type than its max_per_profile (a conflict: the identity
//     stays where it is);
//   - a known weak identifier of a weak-only profile always brings it (a strong cluster absorbs
//     the calls that came before the CRM record); one of a strong profile brings it only into
//     an event without strong identities whose cluster holds no strong profile yet (a shared
//     phone never fuses two people);
//   - an unknown identity joins the cluster unless its type is already at its limit there (a
//     conflict: it is left unlinked this time);
//   - the cluster's profiles become one: the smallest profile id wins, the others are merged
//     into it (identities, events, consents re-pointed; traits combined; profile_merges row);
//   - a cluster without a profile becomes a new profile named by its strongest new identity
//     (newProfileId), so replaying the same events anywhere yields the same profiles.
// The result depends only on the events and their order, never on batch boundaries, caches or
// timing: crashes and replays end with identical profiles. Without conflicts (no limit reached,
// no weak identifier claimed by two strong profiles) it does not depend on their order either:
// the profiles are the connected components of the events' identities (docs/store.md).
// Profile ids still do (a profile is named by the identity that opened it).
//
// Caches (identity -> profile, profile state) live across batches and are only trusted while
// the backend says nothing else wrote the store (beginBatch's cache_valid). Not thread-safe:
// the backend serialises batches.
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "event/arena.h"
#include "event/event.h"
#include "identity/config.h"
#include "identity/graph.h"
#include "identity/traits.h"

namespace omniloop::identity {

// One pseudonymised identity of an event (store::IdentityKey is the same type).
struct Key {
  std::string_view type;
  std::string_view hash;  // "h1:<key id>:<hex>"
};

struct Resolution {
  static constexpr uint32_t kNone = UINT32_MAX;
  // The event's profile ("" when the event carried no usable identity). Valid until the next
  // resolve() or flush(); a later merge in the same batch re-points the event in the store.
  std::string_view profile;
  uint32_t handle = kNone;  // for observe()
};

struct ResolverStats {
  uint64_t profiles_created = 0;
  uint64_t merges = 0;
  uint64_t conflicts = 0;  // limit conflicts (weak identifiers pointing elsewhere are not)
};

// The id of a profile created by identity `hash`: the first 32 hex digits of its HMAC (a
// malformed pseudonym gets a hash of itself), written into `out`.
void newProfileId(std::string_view hash, std::string& out);

class Resolver {
 public:
  // `max_cached_profiles`: beyond this many cached profiles (and 4x as many identities) the
  // caches are dropped at the next batch.
  explicit Resolver(Config config, size_t max_cached_profiles = size_t{1} << 18);
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  const Config& config() const { return config_; }

  // Before each batch, inside the transaction. `now`: ingestion time (created_at/updated_at,
  // merges, conflicts). `cache_valid`: false when another writer may have changed the store
  // since the last committed batch; every cached identity and profile is dropped. Returns
  // whether the caches were kept (they are also dropped when they outgrew
  // max_cached_profiles), so a backend that tracks what the Resolver already knows can forget
  // it too. While changes are pending (not flushed yet: a backend that flushes once per group
  // of batches, see flush) the caches hold them and are always kept.
  bool beginBatch(int64_t now, bool cache_valid);

  // The profile of an event with `keys` (distinct; blocked ones already removed), seen at
  // `seen`. Creates, attaches and merges through `graph` as it goes. `event_id` names the
  // event in merge reasons; `source` becomes a new identity's source.
  Resolution resolve(Graph& graph, std::span<const Key> keys, std::string_view event_id,
                     std::string_view source, int64_t seen);

  // Adds a stored event to its profile's traits; only `inserted` (new) events count, so a
  // replayed event is never counted twice.
  void observe(const Resolution& r, const event::Event& e, int64_t seen, bool inserted);

  // Writes the profile (seen range, traits) and identity (seen range) changes and recorded
  // conflicts of the batches since the last flush, in key order; one write per touched row
  // however many of those batches touched it. Call before COMMIT: once per batch, or once per
  // group of batches sharing a transaction (then a row touched by every batch is written once).
  void flush(Graph& graph);
  // Changes are waiting for flush().
  bool pending() const;
  // The caches outgrew max_cached_profiles: flush and commit, and the next beginBatch drops them.
  bool oversized() const;

  // After COMMIT / after ROLLBACK (drops the caches: they may hold uncommitted state).
  void committed();
  void rolledBack();

  const ResolverStats& stats() const { return stats_; }

 private:
  static constexpr uint32_t kNoSlot = UINT32_MAX;

  // Identities of one type on a profile; `type` numbers type_names_.
  struct Count {
    uint32_t type;
    uint32_t n;
  };
  struct Profile {
    std::string_view id;             // in ids_
    uint32_t merged_into = kNoSlot;  // folded into another profile (its row is gone)
    bool loaded = false;             // seen range and traits known (from the row, or new)
    bool counts_known = false;       // identities per type known
    bool dirty = false;              // needs updateProfile at flush
    int64_t first_seen = 0;
    int64_t last_seen = 0;
    std::vector<Count> counts;
    Traits traits;
  };
  // The cache keys end in hex digits of an HMAC (identities "type\x1fh1:kid:hex", profile ids),
  // already uniformly spread: mixing their last 16 bytes is enough, and cheaper than hashing
  // all ~80 bytes on each of an event's ~3 lookups. Shorter keys are hashed whole.
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const {
      if (s.size() < 16) return std::hash<std::string_view>{}(s);
      uint64_t tail = 0, before = 0;
      std::memcpy(&tail, s.data() + s.size() - 8, 8);
      std::memcpy(&before, s.data() + s.size() - 16, 8);
      uint64_t h = (tail ^ (before * 0x9e3779b97f4a7c15ULL)) + s.size();
      h ^= h >> 32;
      h *= 0xd6e8feb86659fd93ULL;
      h ^= h >> 32;
      return static_cast<size_t>(h);
    }
  };
  template <typename V>
  using Map = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
  // A cached identity's key, compact and fixed-size: a pseudonym "h1:<key id>:<64 hex>" keeps
  // its digest as 32 bytes and the rest, "type\x1fh1:<key id>:", as a number into
  // prefixes_ (a handful of entries). Any other form is interned whole (digest all zero).
  struct IdentityKey {
    unsigned char digest[32];
    uint32_t prefix;
    bool operator==(const IdentityKey& o) const {
      return prefix == o.prefix && std::memcmp(digest, o.digest, sizeof digest) == 0;
    }
  };
  struct IdentityKeyHash {
    size_t operator()(const IdentityKey& k) const {
      uint64_t a = 0, b = 0;
      std::memcpy(&a, k.digest, 8);
      std::memcpy(&b, k.digest + 24, 8);
      uint64_t h = a ^ (b * 0x9e3779b97f4a7c15ULL) ^ (uint64_t{k.prefix} << 40);
      h ^= h >> 32;
      h *= 0xd6e8feb86659fd93ULL;
      h ^= h >> 32;
      return static_cast<size_t>(h);
    }
  };
  // A cached identity: 56 bytes in a chunk of identities_, found through identity_index_.
  struct CachedIdentity {
    IdentityKey key;
    uint32_t profile : 31;
    uint32_t dirty : 1;  // seen range widened since the last flush
    int64_t first_seen;
    int64_t last_seen;
  };
  // Entries that never move (chunks of 4,096), so growing never copies the cache.
  class IdentityChunks {
   public:
    static constexpr size_t kChunk = 4096;
    size_t size() const { return size_; }
    CachedIdentity& operator[](uint32_t i) { return chunks_[i / kChunk][i % kChunk]; }
    const CachedIdentity& operator[](uint32_t i) const { return chunks_[i / kChunk][i % kChunk]; }
    uint32_t push(const CachedIdentity& e);
    void clear();

   private:
    std::vector<std::unique_ptr<CachedIdentity[]>> chunks_;
    size_t size_ = 0;
  };
  // Open addressing (linear probing, at most half full) from a hash to an entry number; each
  // slot keeps 32 bits of the hash, so a probe rarely touches an entry that is not the one.
  // Replaces node-based maps: no allocation per entry, ~8-16 bytes of index per entry.
  class FlatIndex {
   public:
    static constexpr uint32_t kNone = UINT32_MAX;
    // The entry `matches` accepts among those filed under `hash`, or kNone.
    template <typename Matches>
    uint32_t find(size_t hash, Matches&& matches) const {
      if (slots_.empty()) return kNone;
      const auto tag = static_cast<uint32_t>(hash);
      for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
        const Slot& s = slots_[i];
        if (s.entry == 0) return kNone;
        if (s.tag == tag && matches(s.entry - 1)) return s.entry - 1;
      }
    }
    void insert(size_t hash, uint32_t entry);
    size_t size() const { return used_; }
    void clear();

   private:
    struct Slot {
      uint32_t entry = 0;  // entry + 1; 0 = empty
      uint32_t tag = 0;
    };
    void place(size_t hash, uint32_t entry_plus_one, uint32_t tag);
    std::vector<Slot> slots_;
    size_t mask_ = 0;
    size_t used_ = 0;
  };

  uint32_t root(uint32_t slot);
  uint32_t slotOf(std::string_view profile_id);  // adds an unloaded slot when unknown
  // The cached entry of `key` (read from the graph when not cached), or kNoSlot when the graph
  // does not hold it.
  uint32_t lookup(Graph& graph, const Key& key);
  uint32_t findIdentity(const IdentityKey& key) const;
  uint32_t findProfile(std::string_view id) const;
  void ensureLoaded(Graph& graph, uint32_t slot);
  void ensureCounts(Graph& graph, uint32_t slot);
  uint32_t clusterCount(Graph& graph, uint32_t type);
  uint32_t typeId(std::string_view type);  // interns into type_names_
  // The profile holds an identity of a type that merges (not only weak identifiers).
  bool hasStrongIdentity(Graph& graph, uint32_t slot);
  // The first per-type limit that adding `slot` to the cluster would break, or nullptr.
  const TypeRule* brokenLimit(Graph& graph, uint32_t slot);
  uint32_t createProfile(Graph& graph, const Key& named_by, int64_t seen);
  void attach(Graph& graph, const Key& key, uint32_t slot, std::string_view source, int64_t seen);
  void merge(Graph& graph, uint32_t winner, uint32_t loser, std::string_view reason);
  void markDirty(uint32_t slot);
  void widen(Graph& graph, uint32_t slot, int64_t seen);
  void widenIdentity(uint32_t entry, int64_t seen);
  const std::string& identityKey(const Key& key);
  // The compact cache key of `key` into `out`; false when its prefix is not interned and
  // `intern` is false (then it cannot be cached).
  bool compactKey(const Key& key, IdentityKey& out, bool intern);
  // The type and pseudonym a compact key stands for (the pseudonym into `out`).
  std::string_view expandKey(const IdentityKey& key, std::string& out) const;
  void dropCaches();

  Config config_;
  std::vector<const TypeRule*> limited_;  // rules with max_per_profile > 0
  size_t max_profiles_;
  int64_t now_ = 0;
  ResolverStats stats_;

  std::deque<Profile> profiles_;
  event::Arena ids_;           // their ids (never move: Resolution::profile views them)
  FlatIndex profile_index_;    // id -> slot
  IdentityChunks identities_;  // (type, pseudonym) -> profile slot, seen range
  FlatIndex identity_index_;
  std::vector<std::string> prefixes_;  // IdentityKey::prefix -> "type\x1fh1:<key id>:" or whole key
  std::vector<bool> whole_;            // the prefix is a whole "type\x1fhash" (no digest)
  Map<uint32_t> prefix_ids_;
  struct RecentPrefix {
    std::string type, head;  // head: "h1:<key id>:"
    uint32_t id;
  };
  static constexpr size_t kRecentPrefixes = 8;
  std::vector<RecentPrefix> recent_prefixes_;

  // Since the last flush.
  std::vector<uint32_t> dirty_profiles_;
  std::vector<uint32_t> dirty_identities_;  // entries of identities_
  struct PendingConflict {
    std::string type, hash, reason, profile, other;
    uint32_t occurrences = 0;
  };
  std::vector<PendingConflict> conflicts_;
  Map<size_t> conflict_slots_;  // "type\x1fhash\x1freason" -> index in conflicts_

  // Reused working storage for resolve().
  struct Claim {
    const Key* key;
    const TypeRule* rule;
    uint32_t known;  // entry of identities_; kNoSlot: an identity the graph does not hold
  };
  struct Rejected {
    const Key* key;
    uint32_t stays;         // kNoSlot: left unlinked
    const TypeRule* limit;  // the limit it would have broken
  };
  std::vector<Claim> claims_;
  std::vector<uint32_t> cluster_;        // profile slots
  std::vector<const Key*> brought_by_;   // the identity that brought each cluster member
  std::vector<const Key*> new_keys_;     // identities the cluster adopts
  std::vector<Rejected> rejected_;
  std::vector<Count> cluster_counts_;
  std::vector<std::string> type_names_;  // Count::type -> type
  std::vector<bool> type_merges_;        // Count::type -> its rule merges (a strong type)
  std::vector<TypeCount> stored_counts_;
  bool counts_valid_ = false;
  std::string key_buffer_, id_buffer_, reason_, traits_json_, meta_json_, expanded_;
  IdentityKey compact_{};
  StoredIdentity found_;
  StoredProfile stored_;
};

}  // namespace omniloop::identity
