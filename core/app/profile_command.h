#pragma once
// `omniloop profile`: one unified profile from the CDP store — identities (types, sources,
// pseudonyms; never a clear value the store did not hold in clear), computed traits, merges,
// guard conflicts and the cross-channel timeline. Human-readable or --json.
#include <cstddef>
#include <ostream>
#include <string>

#include "store/store.h"

namespace omniloop::app {

struct ProfileQuery {
  std::string identity;    // "type:value" (the value is pseudonymised like ingested ones)
  std::string profile_id;  // or a profile id as is
  std::string region;      // phone numbers without country code: ISO region ("DE"); "" = the store's default
  size_t timeline = 20;    // latest events to show
  bool json = false;
};

// Exit status: 0 shown, 1 no such profile, 2 bad query (message on `err`; with query.json also
// {"found":false,"error":...,"hint":...} on `out`).
int showProfile(store::Store& store, const ProfileQuery& query, std::ostream& out,
                std::ostream& err);

// Reports that no profile can be shown: `error` (and `hint`) on `err`, and with query.json the
// JSON answer {"found":false,"error":...,"hint":...} on `out`. Returns `code`.
int profileError(const ProfileQuery& query, std::ostream& out, std::ostream& err, int code,
                 const std::string& error, const std::string& hint);

}  // namespace omniloop::app
