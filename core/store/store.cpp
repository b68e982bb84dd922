#include "store/store.h"

#include <cctype>

#include "store/odbc_store.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace omniloop::store {

namespace {

constexpr const char* kSchemes =
    "use sqlite:PATH, postgresql://user:password@host:port/database or odbc:DSN=name";

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string redactStoreUri(std::string_view uri) {
  std::string out(uri);
  // URI user info: scheme://user:password@host
  if (const size_t scheme_end = out.find("://"); scheme_end != std::string::npos) {
    const size_t start = scheme_end + 3;
    size_t end = out.find_first_of("/?#", start);
    if (end == std::string::npos) end = out.size();
    const size_t at = out.rfind('@', end);
    if (at != std::string::npos && at >= start) {
      const size_t colon = out.find(':', start);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "[secret]");
    }
  }
  // Parameters: password=..., pwd=... after ?, &, ;, a blank or the scheme's colon; a value
  // runs to the next separator, or to the closing brace of an ODBC {braced value}.
  for (size_t i = 0; i < out.size(); ++i) {
    if (i > 0 && std::string_view("?&; :").find(out[i - 1]) == std::string_view::npos) continue;
    const size_t eq = out.find('=', i);
    if (eq == std::string::npos) break;
    std::string_view key(out.data() + i, eq - i);
    while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
    if (!iequals(key, "password") && !iequals(key, "pwd")) continue;
    size_t value = eq + 1;
    while (value < out.size() && out[value] == ' ') ++value;
    size_t end;
    if (value < out.size() && out[value] == '{') {
      end = out.find('}', value);
      end = end == std::string::npos ? out.size() : end + 1;
    } else {
      end = out.find_first_of("&; #", value);
      if (end == std::string::npos) end = out.size();
    }
    out.replace(value, end - value, "[secret]");
    i = value + 7;
  }
  return out;
}

std::optional<ProfileView> Store::profile(std::string_view, size_t) {
  throw StoreError("the " + std::string(backend()) + " store cannot show profiles yet");
}

bool Store::rightsTransaction(bool, const std::function<void(SqlSession&)>&) {
  throw StoreError("the " + std::string(backend()) +
                   " store does not support erasure, export, purge or the audit log yet: use a SQLite or "
                   "PostgreSQL store");
}

std::unique_ptr<Store> openStore(const std::string& uri, const StoreOptions& options) {
  const size_t colon = uri.find(':');
  if (colon == std::string::npos || colon == 0) {
    throw StoreError("store URI '" + redactStoreUri(uri) + "' names no scheme: " + kSchemes +
                     " (e.g. sqlite:/var/lib/omniloop/cdp.db)");
  }
  const std::string scheme = uri.substr(0, colon);
  if (scheme == "sqlite") {
    std::string path = uri.substr(colon + 1);
    if (path.starts_with("//")) path.erase(0, 2);  // sqlite:///var/lib/x.db
    if (path.empty()) throw StoreError("store URI '" + uri + "' names no file: use sqlite:PATH");
    return std::make_unique<SqliteStore>(path, options);
  }
  if (scheme == "postgresql" || scheme == "postgres") {
    return std::make_unique<PostgresStore>(uri, options);
  }
  if (scheme == "odbc") {
    std::string connection = uri.substr(colon + 1);
    if (connection.empty()) {
      throw StoreError("store URI 'odbc:' names no data source: use odbc:DSN=name or "
                       "odbc:Driver={driver};Database=...");
    }
    return std::make_unique<OdbcStore>(connection, options);
  }
  throw StoreError("unsupported store URI scheme '" + scheme + "': " + kSchemes);
}

}  // namespace omniloop::store

namespace omniloop::store {

pipeline::Result Store::putVault(const std::vector<VaultRow>&) {
  return pipeline::Result::error("the " + std::string(backend()) + " store has no tokenisation vault");
}

std::optional<VaultRow> Store::getVault(std::string_view) {
  throw StoreError("the " + std::string(backend()) + " store has no tokenisation vault");
}

uint64_t Store::purgeExpiredVault(int64_t) {
  throw StoreError("the " + std::string(backend()) + " store has no tokenisation vault");
}

void Store::appendAudit(const AuditRow&) {
  throw StoreError("the " + std::string(backend()) + " store has no audit log");
}

}  // namespace omniloop::store
