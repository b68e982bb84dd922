#pragma once
// The CDP store: profiles, the identity graph, events, dead letters and checkpoints.
// openStore() picks a backend from a URI; today `sqlite:PATH`. Every backend keeps its SQL
// dialect to itself (its migrations live in schemas/cdp/<dialect>/) and shares the identity
// rules in store/identity_rules.h, so PostgreSQL and ODBC backends slot in behind this class.
//
// Configuration time (openStore) throws StoreError; the data path (writeBatch) returns a
// Result; commit()/loadCursor() throw StoreError as pipeline::CheckpointStore allows.
// A Store is safe to share between pipelines running on different threads.
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "event/event.h"
#include "pipeline/component.h"
#include "privacy/keyed_hasher.h"
#include "privacy/normalize.h"

namespace omniloop::store {

class StoreError : public std::runtime_error {
 public:
  explicit StoreError(const std::string& message, bool retryable = false)
      : std::runtime_error(message), retryable_(retryable) {}
  // A transient condition (the database is locked by another writer): trying again may work.
  bool retryable() const { return retryable_; }

 private:
  bool retryable_;
};

struct StoreOptions {
  // Pseudonymises identity values before they are stored. Without one, events that carry a
  // clear-text identity are dead-lettered (clear identity values are never stored).
  // Must outlive the store.
  const privacy::KeyedHasher* hasher = nullptr;
  // Normalisation before hashing (e.g. default_region "+49" for national phone numbers).
  privacy::NormalizeOptions normalize;
  // How long a write waits for another process's write lock before asking for a retry.
  int busy_timeout_ms = 5000;
};

struct StoreCounts {
  uint64_t profiles = 0;
  uint64_t identities = 0;
  uint64_t events = 0;
  uint64_t dead_letters = 0;
};

class Store : public pipeline::CheckpointStore {
 public:
  ~Store() override = default;

  // pipeline::CheckpointStore: the committed cursor ("" when none); the batch's DeadLetter
  // events and its cursor in one transaction.
  std::string loadCursor(std::string_view pipeline, std::string_view source_id) override = 0;
  void commit(std::string_view pipeline, std::string_view source_id,
              const event::Batch& batch) override = 0;

  // One transaction: every live event (its identities resolved to a profile, pseudonymised),
  // the batch's DeadLetter events, and batch.cursor. A live event that cannot be stored (no
  // id; a clear identity and no key) is set DeadLetter and stored as such. Retry when the
  // database is busy, Error otherwise; on failure nothing of the batch is stored.
  virtual pipeline::Result writeBatch(std::string_view pipeline, std::string_view source_id,
                                      event::Batch& batch) = 0;

  virtual StoreCounts counts() = 0;
  // The profile a clear identity value belongs to (normalised and pseudonymised like ingested
  // ones; an "h1:" value is looked up as is); nullopt when unknown or not normalisable.
  virtual std::optional<std::string> findProfile(std::string_view type, std::string_view value) = 0;
  // The schema version of the open database.
  virtual int schemaVersion() = 0;
  // "sqlite"
  virtual std::string_view backend() const = 0;
};

// uri: "sqlite:PATH" (also "sqlite://PATH"; "sqlite::memory:" for a private in-memory store).
// Creates the file and its parent directory when missing, applies pending migrations.
// Throws StoreError: unsupported scheme, cannot open, schema newer than this binary.
std::unique_ptr<Store> openStore(const std::string& uri, const StoreOptions& options);

}  // namespace omniloop::store
