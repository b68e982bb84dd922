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

// Exit status: 0 shown, 1 no such profile, 2 bad query (message on `err`).
int showProfile(store::Store& store, const ProfileQuery& query, std::ostream& out,
                std::ostream& err);

}  // namespace omniloop::app
