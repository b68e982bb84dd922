#include "identity/blocklist.h"

#include <stdexcept>

namespace omniloop::identity {

namespace {

// Placeholders typed into any identifier field (compared case-insensitively).
constexpr std::string_view kJunkAny[] = {"0",    "-",       "-1",        "?",    "n/a",  "na",
                                         "none", "null",    "nil",       "test", "xxx",  "tbd",
                                         "unknown", "undefined", "not available", "keine"};

constexpr std::string_view kJunkEmails[] = {
    "test@test.com",      "test@test.de",      "test@example.com", "example@example.com",
    "email@example.com",  "name@example.com",  "user@domain.com",  "noemail@noemail.com",
    "none@none.com",      "no@email.com",      "null@null.com",    "unknown@unknown.com",
    "a@a.com",            "abc@abc.com",       "asdf@asdf.com",    "x@x.com",
    "xxx@xxx.com",        "test@gmail.com",    "noemail@gmail.com"};

// Mailboxes nobody reads: an address with one of these local parts links nobody.
constexpr std::string_view kJunkLocalParts[] = {"noreply",      "no-reply",  "no_reply",
                                                "donotreply",   "do-not-reply", "do_not_reply",
                                                "mailer-daemon", "nobody",   "invalid"};

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

bool Blocklist::builtinJunk(std::string_view type, std::string_view v) {
  for (std::string_view junk : kJunkAny) {
    if (equalsIgnoreCase(v, junk)) return true;
  }
  if (type == "email") {
    for (std::string_view junk : kJunkEmails) {
      if (v == junk) return true;
    }
    const size_t at = v.rfind('@');
    if (at != std::string_view::npos) {
      const std::string_view local = v.substr(0, at);
      for (std::string_view junk : kJunkLocalParts) {
        if (local == junk) return true;
      }
    }
    return false;
  }
  return false;
}

const Blocklist::PerType* Blocklist::find(std::string_view type) const {
  for (const PerType& t : types_) {
    if (t.type == type) return &t;
  }
  return nullptr;
}

Blocklist::PerType& Blocklist::at(std::string_view type) {
  for (PerType& t : types_) {
    if (t.type == type) return t;
  }
  types_.push_back(PerType{std::string(type), {}, {}});
  return types_.back();
}

Blocklist::Blocklist(const Config& config, const privacy::KeyedHasher* hasher,
                     const privacy::NormalizeOptions& normalize)
    : builtin_(config.builtin_blocklist) {
  types_.reserve(config.types.size());
  std::string normalized;
  auto add = [&](std::string_view type, std::string_view value) {
    PerType& t = at(type);
    t.values.emplace(value);
    if (hasher != nullptr) t.pseudonyms.insert(hasher->pseudonymize(type, value));
  };
  for (const std::string& entry : config.blocklist) {
    std::string_view value = entry;
    const TypeRule* typed = nullptr;
    if (const size_t colon = value.find(':'); colon != std::string_view::npos) {
      for (const TypeRule& r : config.types) {
        if (r.type == value.substr(0, colon)) typed = &r;
      }
    }
    if (typed != nullptr) {
      value.remove_prefix(typed->type.size() + 1);
      if (!privacy::normalizeIdentity(typed->type, value, normalized, normalize)) {
        throw std::invalid_argument("identity.blocklist: '" + entry + "' is not a usable " + typed->type +
                                    " value (it would never match anything)");
      }
      add(typed->type, normalized);
      continue;
    }
    bool used = false;
    for (const TypeRule& r : config.types) {
      if (!privacy::normalizeIdentity(r.type, value, normalized, normalize)) continue;
      add(r.type, normalized);
      used = true;
    }
    if (privacy::normalizeGeneric(value, normalized)) {
      any_.emplace(normalized);
      used = true;
    }
    if (!used) {
      throw std::invalid_argument("identity.blocklist: '" + entry + "' is empty after trimming");
    }
  }
  // The built-in exact values also as pseudonyms, for identities hashed upstream.
  if (builtin_ && hasher != nullptr) {
    for (const TypeRule& r : config.types) {
      for (std::string_view junk : kJunkAny) {
        if (privacy::normalizeIdentity(r.type, junk, normalized, normalize)) add(r.type, normalized);
      }
      if (r.type == "email") {
        for (std::string_view junk : kJunkEmails) add(r.type, junk);
      }
    }
  }
}

bool Blocklist::blockedValue(std::string_view type, std::string_view normalized) const {
  if (builtin_ && builtinJunk(type, normalized)) return true;
  if (const PerType* t = find(type); t != nullptr && t->values.find(normalized) != t->values.end()) {
    return true;
  }
  return !any_.empty() && any_.find(normalized) != any_.end();
}

bool Blocklist::blockedPseudonym(std::string_view type, std::string_view pseudonym) const {
  const PerType* t = find(type);
  return t != nullptr && t->pseudonyms.find(pseudonym) != t->pseudonyms.end();
}

}  // namespace omniloop::identity
