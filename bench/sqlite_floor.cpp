// What SQLite itself can do on this machine for the CDP store's heaviest table: N event rows
// written through a prepared INSERT into the `events` table exactly as
// schemas/cdp/sqlite/0002_identity.sql declares it (rowid order, UNIQUE event id, index on
// (profile_id, occurred_at)), with the store's pragmas — and nothing else: no parsing, no
// identity resolution, no profiles. It bounds what `omniloop run` into SQLite can reach.
// usage: sqlite_floor [N=1000000] [profiles=100000] [dir=/tmp] [cases=all]
//   cases: all, or a comma-separated list of rows, batch, group, sorted, store (the write
//   patterns below; bench/run.sh takes `group`, the floor issue 10 compares the store with).
//   `store` is not a floor of that comparison but what it leaves room for: the group case plus
//   every other row the CDP store must end up holding for these events, each written once
//   (a profile row and three identity rows per customer, with the store's keys and index), and
//   no reads at all: what SQLite needs for this store's rows whatever the code around it.
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace {

struct Row {
  unsigned char id[16];
  unsigned char profile[16];
  int64_t occurred_at;
  uint32_t customer;
};

void check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "sqlite_floor: %s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

void stepOnce(sqlite3* db, sqlite3_stmt* statement, const char* what) {
  check(db, sqlite3_step(statement), what);
  sqlite3_reset(statement);
}

void exec(sqlite3* db, const char* sql) {
  check(db, sqlite3_exec(db, sql, nullptr, nullptr, nullptr), sql);
}

// Inserts `rows` committing every `per_commit` rows; seconds taken.
double run(const std::string& path, const std::vector<Row>& rows, bool indexes, size_t per_commit,
           bool sorted, bool graph, size_t customers) {
  for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path + suffix).c_str());
  sqlite3* db = nullptr;
  check(db, sqlite3_open(path.c_str(), &db), "open");
  exec(db,
       "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 4096; "
       "PRAGMA synchronous = NORMAL; PRAGMA cache_size = -131072; PRAGMA temp_store = MEMORY");
  exec(db,
       indexes
           ? "CREATE TABLE events (id BLOB NOT NULL UNIQUE, pipeline TEXT NOT NULL, source TEXT "
             "NOT NULL, "
             "profile_id BLOB, channel TEXT, type TEXT, occurred_at INTEGER, ingested_at INTEGER "
             "NOT NULL, "
             "attributes TEXT NOT NULL DEFAULT '{}'); CREATE INDEX events_profile ON "
             "events(profile_id, occurred_at)"
           : "CREATE TABLE events (id BLOB NOT NULL, pipeline TEXT NOT NULL, source TEXT NOT NULL, "
             "profile_id BLOB, channel TEXT, type TEXT, occurred_at INTEGER, ingested_at INTEGER "
             "NOT NULL, "
             "attributes TEXT NOT NULL DEFAULT '{}')");
  sqlite3_stmt* insert_profile = nullptr;
  sqlite3_stmt* insert_identity = nullptr;
  std::vector<bool> known(graph ? customers : 0);
  if (graph) {
    // As schemas/cdp/sqlite/0002_identity.sql declares them.
    exec(db,
         "CREATE TABLE profiles (id BLOB PRIMARY KEY, created_at INTEGER NOT NULL, updated_at "
         "INTEGER NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, traits TEXT "
         "NOT NULL DEFAULT '{}', traits_meta TEXT NOT NULL DEFAULT '{}') WITHOUT ROWID; "
         "CREATE TABLE identities (type TEXT NOT NULL, hash BLOB NOT NULL, profile_id BLOB NOT "
         "NULL, source TEXT NOT NULL, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, "
         "PRIMARY KEY (type, hash)) WITHOUT ROWID; "
         "CREATE INDEX identities_profile ON identities(profile_id)");
    check(db,
          sqlite3_prepare_v3(db,
                             "INSERT INTO profiles (id, created_at, updated_at, first_seen, "
                             "last_seen, traits) VALUES (?1, ?2, ?2, ?2, ?2, ?3)",
                             -1, SQLITE_PREPARE_PERSISTENT, &insert_profile, nullptr),
          "prepare");
    check(db,
          sqlite3_prepare_v3(db,
                             "INSERT INTO identities (type, hash, profile_id, source, first_seen, "
                             "last_seen) VALUES (?1, ?2, ?3, 'file', ?4, ?4)",
                             -1, SQLITE_PREPARE_PERSISTENT, &insert_identity, nullptr),
          "prepare");
  }
  const std::string traits = "{\"event_count\":1,\"events_by_channel\":{\"pos\":1}}";
  sqlite3_stmt* insert = nullptr;
  check(
      db,
      sqlite3_prepare_v3(
          db,
          indexes
              ? "INSERT INTO events (id, pipeline, source, profile_id, channel, type, occurred_at, "
                "ingested_at, attributes) VALUES (?1, 'bench', 'file', ?2, 'pos', 'purchase', ?3, "
                "?3, ?4) ON CONFLICT (id) DO NOTHING"
              : "INSERT INTO events (id, pipeline, source, profile_id, channel, type, occurred_at, "
                "ingested_at, attributes) VALUES (?1, 'bench', 'file', ?2, 'pos', 'purchase', ?3, "
                "?3, ?4)",
          -1, SQLITE_PREPARE_PERSISTENT, &insert, nullptr),
      "prepare");
  // ~200 bytes of attributes, as the bench's events carry.
  const std::string attributes =
      "{\"order\":{\"total\":101.19,\"currency\":\"EUR\",\"items\":3},\"store\":\"munich-centre\","
      "\"consent\":{\"analytics\":false},\"score\":86,\"customer\":{\"country\":\"FR\"},"
      "\"note\":\"" +
      std::string(60, 'x') + "\"}";
  std::vector<Row> sorted_rows;  // a sorted copy of the group; `rows` serves every case
  const auto t0 = std::chrono::steady_clock::now();
  for (size_t begin = 0; begin < rows.size(); begin += per_commit) {
    std::span<const Row> group(rows.data() + begin, std::min(per_commit, rows.size() - begin));
    if (sorted) {
      sorted_rows.assign(group.begin(), group.end());
      std::sort(sorted_rows.begin(), sorted_rows.end(), [](const Row& a, const Row& b) {
        const int c = std::memcmp(a.profile, b.profile, sizeof a.profile);
        return c != 0 ? c < 0 : a.occurred_at < b.occurred_at;
      });
      group = sorted_rows;
    }
    exec(db, "BEGIN IMMEDIATE");
    for (const Row& r : group) {
      sqlite3_bind_blob(insert, 1, r.id, sizeof r.id, SQLITE_STATIC);
      sqlite3_bind_blob(insert, 2, r.profile, sizeof r.profile, SQLITE_STATIC);
      sqlite3_bind_int64(insert, 3, r.occurred_at);
      sqlite3_bind_text(insert, 4, attributes.data(), static_cast<int>(attributes.size()),
                        SQLITE_STATIC);
      stepOnce(db, insert, "insert");
      if (graph && !known[r.customer]) {
        known[r.customer] = true;
        sqlite3_bind_blob(insert_profile, 1, r.profile, sizeof r.profile, SQLITE_STATIC);
        sqlite3_bind_int64(insert_profile, 2, r.occurred_at);
        sqlite3_bind_text(insert_profile, 3, traits.data(), static_cast<int>(traits.size()),
                          SQLITE_STATIC);
        stepOnce(db, insert_profile, "insert profile");
        // Its email, phone and customer id: 36-byte pseudonym blobs, as the store keeps them.
        std::mt19937_64 h(0x5eed0000ULL + r.customer);
        for (const char* type : {"email", "phone", "crm_id"}) {
          unsigned char hash[36];
          for (unsigned char& b : hash) b = static_cast<unsigned char>(h());
          sqlite3_bind_text(insert_identity, 1, type, -1, SQLITE_STATIC);
          sqlite3_bind_blob(insert_identity, 2, hash, sizeof hash, SQLITE_TRANSIENT);
          sqlite3_bind_blob(insert_identity, 3, r.profile, sizeof r.profile, SQLITE_STATIC);
          sqlite3_bind_int64(insert_identity, 4, r.occurred_at);
          stepOnce(db, insert_identity, "insert identity");
        }
      }
    }
    exec(db, "COMMIT");
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  sqlite3_finalize(insert);
  sqlite3_finalize(insert_profile);
  sqlite3_finalize(insert_identity);
  sqlite3_close(db);
  for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path + suffix).c_str());
  return secs;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const size_t profiles =
      argc > 2 ? std::max<size_t>(std::strtoull(argv[2], nullptr, 10), 1) : 100000;
  const std::string path = std::string(argc > 3 ? argv[3] : "/tmp") + "/omniloop-sqlite-floor-" +
                           std::to_string(::getpid()) + ".db";
  std::mt19937_64 random(42);
  std::vector<Row> rows(n);
  for (size_t i = 0; i < n; ++i) {
    for (unsigned char& b : rows[i].id) b = static_cast<unsigned char>(random());
    // Profile ids are hashes too: one of `profiles` random 16-byte values.
    rows[i].customer = static_cast<uint32_t>(random() % profiles);
    std::mt19937_64 p(rows[i].customer);
    for (unsigned char& b : rows[i].profile) b = static_cast<unsigned char>(p());
    rows[i].occurred_at = 1700000000000000 + static_cast<int64_t>(random() % 31536000000000);
  }
  const std::string only = argc > 4 ? argv[4] : "all";
  struct Case {
    const char* key;
    const char* name;
    bool indexes;
    size_t per_commit;
    bool sorted;
    bool graph;
  };
  const Case cases[] = {
      {"rows", "rows only (no index), commit per 131072", false, 131072, false, false},
      {"batch", "store's indexes, commit per 4096 (one batch)", true, 4096, false, false},
      {"group", "store's indexes, commit per 131072 (one group)", true, 131072, false, false},
      {"sorted", "store's indexes, per 131072, sorted by profile", true, 131072, true, false},
      {"store", "group + each profile and 3 identities once", true, 131072, false, true},
  };
  std::printf("%zu event rows, %zu profiles, SQLite %s\n", n, profiles, sqlite3_libversion());
  for (const Case& c : cases) {
    if (only != "all" &&
        ("," + only + ",").find("," + std::string(c.key) + ",") == std::string::npos) {
      continue;
    }
    const double secs = run(path, rows, c.indexes, c.per_commit, c.sorted, c.graph, profiles);
    std::printf("  %-48s %12.0f rows/s  (%.2f s)\n", c.name, static_cast<double>(n) / secs, secs);
  }
  return 0;
}
