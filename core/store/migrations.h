#pragma once
// The CDP store's schema migrations, embedded at build time from schemas/cdp/<dialect>/
// (see store.cmake). Versions run 1, 2, 3 ... without gaps; the last one is the schema
// version this binary knows.
#include <span>
#include <string_view>

namespace omniloop::store {

struct Migration {
  int version;
  std::string_view name;  // "initial" for 0001_initial.sql
  std::string_view sql;   // statements separated by ';'
};

// In version order; empty for a dialect with no migrations. Dialects: "sqlite".
std::span<const Migration> embeddedMigrations(std::string_view dialect);

// The highest version among `migrations` (0 when none).
inline int latestVersion(std::span<const Migration> migrations) {
  return migrations.empty() ? 0 : migrations.back().version;
}

}  // namespace omniloop::store
