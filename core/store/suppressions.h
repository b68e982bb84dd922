#pragma once
// Erasure suppressions: after a data subject is erased, every identity they had is refused at
// ingestion. The `suppressions` table never holds the pseudonym itself but a one-way derivative
// of it: "s1:<suppression key id>:<HMAC-SHA256 hex of type \x1f pseudonym under the suppression
// key>". The suppression key is a key of its own (omniloop.yaml suppression_key_file), so the
// list cannot be joined with any other table and nothing stored after an erasure equals a
// pseudonym the subject had.
//
// A backend keeps the table's rows in memory (one set), reloads them when another writer
// changed the store, and checks every event's keys inside its write transaction (under the
// same writer lock an erasure takes), so an event of an erased subject is never stored after
// the erasure committed.
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "event/event.h"
#include "identity/resolver.h"
#include "privacy/keyed_hasher.h"

namespace omniloop::identity {
class Keyer;  // identity/keyer.h
}  // namespace omniloop::identity

namespace omniloop::store {

class Suppressions {
 public:
  // `key` (may be null: then only an empty list can be checked) must outlive this object.
  explicit Suppressions(const privacy::KeyedHasher* key) : key_(key) {}

  static constexpr std::string_view kPrefix = "s1:";
  // The derivative stored for identity (type, pseudonym).
  static std::string derive(const privacy::KeyedHasher& key, std::string_view type,
                            std::string_view pseudonym);

  bool empty() const { return set_.empty(); }
  size_t size() const { return set_.size(); }
  const privacy::KeyedHasher* key() const { return key_; }
  // Replaces the list with the table's rows (type, derivative).
  void assign(const std::vector<std::pair<std::string, std::string>>& rows);

  // The type of the first of `keys` (type, pseudonym) that is suppressed; empty when none is.
  // Throws StoreError when the list is not empty and there is no suppression key to check with.
  std::string_view any(std::span<const identity::Key> keys) const;
  // For a dead letter: its identities pseudonymised leniently (a malformed value too).
  std::string_view anyIn(const event::Event& e, identity::Keyer& keyer, std::string& scratch) const;

 private:
  bool contains(std::string_view type, std::string_view pseudonym) const;

  const privacy::KeyedHasher* key_;
  std::unordered_set<std::string> set_;  // type \x1f derivative
  mutable std::string probe_;
};

// Marks `e` dropped because its subject was erased, and tallies it on the batch: counter
// family `suppressed`, label the identity type that matched (run summary, /metrics,
// /v1/pipelines).
void dropSuppressed(event::Event& e, event::Batch& batch, std::string_view type);

}  // namespace omniloop::store
