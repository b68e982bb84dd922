#include "store/store.h"

#include <cctype>

#include "omniloop/redact.hpp"
#include "store/odbc_store.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace omniloop::store {

namespace {

constexpr const char* kSchemes =
    "use sqlite:PATH, postgresql://user:password@host:port/database or odbc:DSN=name";

}  // namespace

std::string redactStoreUri(std::string_view uri) { return sdk::redactSecrets(uri); }

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
    try {
      return std::make_unique<PostgresStore>(uri, options);
    } catch (const StoreError& e) {
      // libpq may quote a part of the URI (a malformed password token) in its own words.
      throw StoreError(sdk::redactSecretsOf(e.what(), uri), e.retryable());
    }
  }
  if (scheme == "odbc") {
    std::string connection = uri.substr(colon + 1);
    if (connection.empty()) {
      throw StoreError("store URI 'odbc:' names no data source: use odbc:DSN=name or "
                       "odbc:Driver={driver};Database=...");
    }
    try {
      return std::make_unique<OdbcStore>(connection, options);
    } catch (const StoreError& e) {
      throw StoreError(sdk::redactSecretsOf(e.what(), connection), e.retryable());
    }
  }
  throw StoreError("unsupported store URI scheme '" + scheme + "': " + kSchemes);
}

}  // namespace omniloop::store

namespace omniloop::store {

event::Result Store::putVault(const std::vector<VaultRow>&) {
  return event::Result::error("the " + std::string(backend()) + " store has no tokenisation vault");
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
