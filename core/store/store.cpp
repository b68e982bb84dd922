#include "store/store.h"

#include "store/sqlite_store.h"

namespace omniloop::store {

std::unique_ptr<Store> openStore(const std::string& uri, const StoreOptions& options) {
  const size_t colon = uri.find(':');
  if (colon == std::string::npos || colon == 0) {
    throw StoreError("store URI '" + uri + "' names no scheme: use sqlite:PATH (e.g. sqlite:/var/lib/omniloop/cdp.db)");
  }
  const std::string scheme = uri.substr(0, colon);
  if (scheme == "sqlite") {
    std::string path = uri.substr(colon + 1);
    if (path.starts_with("//")) path.erase(0, 2);  // sqlite:///var/lib/x.db
    if (path.empty()) throw StoreError("store URI '" + uri + "' names no file: use sqlite:PATH");
    return std::make_unique<SqliteStore>(path, options);
  }
  throw StoreError("unsupported store URI scheme '" + scheme +
                   "': use sqlite:PATH (postgresql:// and odbc: come in a later release)");
}

}  // namespace omniloop::store
