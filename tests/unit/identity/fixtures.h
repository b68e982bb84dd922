#pragma once
// What the identity unit tests share: one pseudonymisation key and German phone defaults.
#include <string>

#include "privacy/keyed_hasher.h"
#include "privacy/normalize.h"

namespace omniloop::identity::fixtures {

inline const privacy::KeyedHasher kHasher(std::string(32, 'k'));

inline privacy::NormalizeOptions germany() {
  privacy::NormalizeOptions o;
  o.default_region = "+49";
  return o;
}

}  // namespace omniloop::identity::fixtures
