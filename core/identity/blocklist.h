#pragma once
// Junk identifier values that must never link anyone: "test@test.com", "0000000000", a shop's
// default loyalty card. A blocked identity is ignored as if the event had not carried it (the
// event is still stored and resolved through its other identities).
//
// Two checks: a normalised clear value against the configured list and the built-in rules
// (exact junk values, no-reply mailboxes; phone numbers are judged by libphonenumber's
// validity rules when they are normalised, not by digit patterns here), and a pseudonym ("h1:...", hashed upstream with the same key) against the configured
// and built-in exact values hashed for every listed type. Patterns cannot be checked on a
// pseudonym.
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "identity/config.h"
#include "privacy/keyed_hasher.h"
#include "privacy/normalize.h"

namespace omniloop::identity {

class Blocklist {
 public:
  // `hasher` may be null (then pseudonyms are never blocked). Throws std::invalid_argument for
  // a configured entry that no listed type accepts.
  Blocklist(const Config& config, const privacy::KeyedHasher* hasher,
            const privacy::NormalizeOptions& normalize);
  Blocklist() = default;  // blocks nothing

  // `normalized`: the value after privacy::normalizeIdentity for `type`.
  bool blockedValue(std::string_view type, std::string_view normalized) const;
  bool blockedPseudonym(std::string_view type, std::string_view pseudonym) const;

  // The built-in rules alone (documented in docs/store.md).
  static bool builtinJunk(std::string_view type, std::string_view normalized);

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Set = std::unordered_set<std::string, Hash, std::equal_to<>>;
  struct PerType {
    std::string type;
    Set values;      // normalised for the type
    Set pseudonyms;  // "h1:..."
  };
  const PerType* find(std::string_view type) const;
  PerType& at(std::string_view type);

  bool builtin_ = false;
  std::vector<PerType> types_;
  Set any_;  // untyped entries, trimmed, checked against every type's normalised value
};

}  // namespace omniloop::identity
