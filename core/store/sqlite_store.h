#pragma once
// The SQLite backend of the CDP store: one file, WAL journal, synchronous=NORMAL. One
// connection guarded by a mutex; every statement prepared once when the store opens.
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "event/arena.h"
#include "store/identity_rules.h"
#include "store/sqlite_db.h"
#include "store/store.h"

namespace omniloop::store {

class SqliteStore final : public Store {
 public:
  // `path`: a file (created with its parent directory) or ":memory:".
  SqliteStore(const std::string& path, const StoreOptions& options);
  ~SqliteStore() override;

  std::string loadCursor(std::string_view pipeline, std::string_view source_id) override;
  void commit(std::string_view pipeline, std::string_view source_id,
              const event::Batch& batch) override;
  pipeline::Result writeBatch(std::string_view pipeline, std::string_view source_id,
                              event::Batch& batch) override;
  StoreCounts counts() override;
  std::optional<std::string> findProfile(std::string_view type, std::string_view value) override;
  int schemaVersion() override;
  std::string_view backend() const override { return "sqlite"; }

 private:
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using ProfileCache = std::unordered_map<std::string, std::string, StringHash, std::equal_to<>>;

  void applyMigrations();
  int readSchemaVersion();
  void prepare();

  void writeEvent(std::string_view pipeline, std::string_view source_id, event::Event& e,
                  event::Batch& batch, int64_t now);
  void writeDeadLetters(std::string_view pipeline, std::string_view source_id,
                        const event::Batch& batch, int64_t now);
  void writeCursor(std::string_view pipeline, std::string_view source_id, std::string_view cursor,
                   int64_t now);
  // The profile an identity points at (cache, then database); empty when none.
  std::string_view lookupProfile(const IdentityKey& key);
  const std::string& cacheKey(const IdentityKey& key);

  sqlite::Db db_;
  IdentityKeyer keyer_;
  std::mutex mutex_;

  sqlite::Statement begin_, commit_, rollback_;
  sqlite::Statement find_identity_, upsert_profile_, upsert_identity_, upsert_event_;
  sqlite::Statement upsert_dead_letter_, upsert_checkpoint_, select_checkpoint_, select_counts_;

  // identity (type \x1f hash) -> profile id. Entries are only added inside a transaction and
  // the whole cache is dropped when one rolls back, so it never holds an uncommitted mapping.
  ProfileCache cache_;
  static constexpr size_t kCacheLimit = 1u << 20;

  // Reused working storage (no per-event allocation once warm).
  std::vector<IdentityKey> keys_;
  std::vector<std::string_view> candidates_;
  std::vector<bool> known_;
  std::string key_buffer_;
  std::string json_;
  std::string dead_letter_id_;
  event::Event scratch_;
  event::Arena scratch_arena_{4096};
};

}  // namespace omniloop::store
