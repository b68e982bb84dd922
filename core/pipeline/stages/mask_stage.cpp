// The `mask` stage: per field (dotted path), one masking method (reference: docs/stages.md and
// docs/privacy.md "Masking methods"). A value that cannot be masked as configured is replaced
// by null (fail closed): a mask never lets a clear value through.
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <functional>
#include <unordered_map>

#include "config/loader.h"
#include "pipeline/stages/stage_build.h"
#include "privacy/keyed_hasher.h"
#include "privacy/normalize.h"
#include "privacy/tokenizer.h"

namespace omniloop::pipeline {

using event::Arena;
using event::Event;
using event::Value;
using event::ValueType;

namespace {

constexpr std::string_view kRedacted = "[redacted]";

enum class Method : uint8_t {
  Redact,
  Drop,
  Truncate,
  Year,
  YearMonth,
  Postcode,
  Network,
  Bands,
  Hmac,
  Tokenize
};

enum class HmacAs : uint8_t { Infer, Email, Phone, Generic };

struct MaskRule {
  std::string_view path;
  Method method = Method::Redact;
  size_t n = 0;                          // Truncate: characters kept
  std::vector<double> bands;             // Bands: ascending bounds
  std::vector<std::string_view> labels;  // Bands: bands.size() + 1 labels
  HmacAs as = HmacAs::Infer;             // Hmac (Infer resolved at build time)
  std::string_view hash_type;            // Hmac: the type mixed into the HMAC
  std::string_view region;               // Hmac, phone: default calling code
};

inline bool isChild(std::string_view path, std::string_view parent) {
  return path.size() > parent.size() && path[parent.size()] == '.' &&
         std::memcmp(path.data(), parent.data(), parent.size()) == 0;
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The text of a scalar value: strings as they are, numbers and booleans formatted into `buf`.
std::string_view textOf(const Value& v, std::array<char, 64>& buf) {
  switch (v.type) {
    case ValueType::String:
    case ValueType::Json:
      return v.s;
    case ValueType::Bool:
      return v.b ? "true" : "false";
    case ValueType::Int: {
      auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v.i);
      return {buf.data(), static_cast<size_t>(r.ptr - buf.data())};
    }
    case ValueType::Double: {
      auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v.d);
      return {buf.data(), static_cast<size_t>(r.ptr - buf.data())};
    }
    case ValueType::Null:
      break;
  }
  return {};
}

// The first `n` UTF-8 characters of `s` (never cutting inside a character).
std::string_view firstChars(std::string_view s, size_t n) {
  size_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte
    if (chars == n) return s.substr(0, i);
    ++chars;
  }
  return s;
}

// A number from an Int, a Double or numeric text.
bool numberOf(const Value& v, double& out) {
  if (v.type == ValueType::Int) {
    out = static_cast<double>(v.i);
    return true;
  }
  if (v.type == ValueType::Double) {
    out = v.d;
    return std::isfinite(v.d);
  }
  if (v.type != ValueType::String) return false;
  std::string_view s = trim(v.s);
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(out);
}

// "2024-03-02..." -> "2024" (Year) or "2024-03" (YearMonth); "" when it is not a date.
std::string_view datePrefix(std::string_view s, bool month) {
  s = trim(s);
  if (s.size() < 4 || !isDigit(s[0]) || !isDigit(s[1]) || !isDigit(s[2]) || !isDigit(s[3])) {
    return {};
  }
  if (s.size() > 4 && isDigit(s[4])) return {};  // a number, not a year (unix time, ...)
  if (!month) return s.substr(0, 4);
  if (s.size() < 7 || (s[4] != '-' && s[4] != '/') || !isDigit(s[5]) || !isDigit(s[6])) return {};
  if (s.size() > 7 && isDigit(s[7])) return {};
  return s.substr(0, 7);
}

// Outward part of a postcode: before the space ("SW1A 1AA" -> "SW1A"), else the first three
// characters ("94107" -> "941").
std::string_view postcodePrefix(std::string_view s) {
  s = trim(s);
  if (s.empty()) return {};
  const size_t space = s.find(' ');
  if (space != std::string_view::npos) return s.substr(0, space);
  return firstChars(s, 3);
}

// IPv4 -> its /24 ("192.0.2.0/24"), IPv6 -> its /48 ("2001:db8:85a3::/48"); written into `buf`.
std::string_view networkOf(std::string_view s, std::array<char, 64>& buf) {
  s = trim(s);
  char in[INET6_ADDRSTRLEN + 1];
  if (s.empty() || s.size() >= sizeof in) return {};
  std::memcpy(in, s.data(), s.size());
  in[s.size()] = '\0';
  unsigned char addr[16];
  char text[INET6_ADDRSTRLEN];
  const char* suffix = nullptr;
  if (inet_pton(AF_INET, in, addr) == 1) {
    addr[3] = 0;
    if (!inet_ntop(AF_INET, addr, text, sizeof text)) return {};
    suffix = "/24";
  } else if (inet_pton(AF_INET6, in, addr) == 1) {
    std::memset(addr + 6, 0, 10);
    if (!inet_ntop(AF_INET6, addr, text, sizeof text)) return {};
    suffix = "/48";
  } else {
    return {};
  }
  const size_t tl = std::strlen(text), sl = std::strlen(suffix);
  if (tl + sl > buf.size()) return {};
  std::memcpy(buf.data(), text, tl);
  std::memcpy(buf.data() + tl, suffix, sl);
  return {buf.data(), tl + sl};
}

std::string formatBound(double d) {
  std::array<char, 64> buf;
  auto r = std::to_chars(buf.data(), buf.data() + buf.size(), d);
  return std::string(buf.data(), r.ptr);
}

// Which identity normalisation an hmac without `as` uses, from the field's last segment.
HmacAs inferAs(std::string_view path) {
  const size_t dot = path.rfind('.');
  std::string name(dot == std::string_view::npos ? path : path.substr(dot + 1));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name.find("email") != std::string::npos || name.find("e-mail") != std::string::npos) {
    return HmacAs::Email;
  }
  if (name.find("phone") != std::string::npos || name.find("mobile") != std::string::npos ||
      name.find("msisdn") != std::string::npos) {
    return HmacAs::Phone;
  }
  return HmacAs::Generic;
}

class MaskStage final : public Stage {
 public:
  Result process(event::Batch& batch) override {
    Arena& arena = batch.arena();
    batch_ = &batch;
    hmac_caches_.resize(rules_.size());
    tokens_handed_ = false;
    for (Event& e : batch) {
      if (!e.live()) continue;
      for (const MaskRule& r : rules_) apply(r, e, arena);
    }
    if (tokens_handed_ && tokenizer_ != nullptr && !tokenizer_->flush(error_)) {
      return Result::error("mask: tokenize: " + error_);
    }
    return Result::ok();
  }

  // Dead letters parsed before this stage are masked like live events (the payload a replay
  // uses keeps the masked values); raw, unparsed records are left to the store (sealed).
  Result processDeadLetters(event::Batch& batch) override {
    Arena& arena = batch.arena();
    batch_ = &batch;
    hmac_caches_.resize(rules_.size());
    tokens_handed_ = false;
    for (Event& e : batch) {
      if (e.disposition != event::Disposition::DeadLetter || !e.raw.empty()) continue;
      for (const MaskRule& r : rules_) apply(r, e, arena);
    }
    if (tokens_handed_ && tokenizer_ != nullptr && !tokenizer_->flush(error_)) {
      return Result::error("mask: tokenize: " + error_);
    }
    return Result::ok();
  }

  // Building (configuration time).
  std::string_view keep(std::string s) {
    strings_.push_back(std::move(s));
    return strings_.back();
  }
  std::vector<MaskRule>& rules() { return rules_; }
  const privacy::KeyedHasher* hasher_ = nullptr;
  privacy::Tokenizer* tokenizer_ = nullptr;

 private:
  void apply(const MaskRule& r, Event& e, Arena& arena) {
    if (r.method == Method::Drop) {
      e.remove(r.path);
      return;
    }
    for (size_t i = 0; i < e.fields.size(); ++i) {
      event::Field& f = e.fields[i];
      if (f.path != r.path && !isChild(f.path, r.path)) continue;
      const bool had_value = !f.value.isNull();
      maskValue(r, e, f.value, arena);
      // A value the method could not mask was stored as null: counted per field (run
      // summary "counters", /metrics omniloop_mask_nulled_total{reason="<field>"}).
      if (had_value && f.value.isNull()) batch_->count("mask_nulled", r.path);
    }
  }

  void maskValue(const MaskRule& r, Event& e, Value& v, Arena& arena) {
    if (v.isNull()) return;
    std::array<char, 64> buf;
    switch (r.method) {
      case Method::Drop:
        return;
      case Method::Redact:
        v = Value::string(kRedacted);
        return;
      case Method::Truncate: {
        const std::string_view t = textOf(v, buf);
        const std::string_view cut = firstChars(t, r.n);
        if (v.type == ValueType::String) {
          v = Value::string(cut);
        } else {
          v = Value::string(arena.copy(cut));
        }
        return;
      }
      case Method::Year:
      case Method::YearMonth: {
        if (v.type == ValueType::Int && r.method == Method::Year && v.i >= 1000 && v.i <= 9999) {
          return;  // already a year
        }
        const std::string_view p = v.type == ValueType::String
                                       ? datePrefix(v.s, r.method == Method::YearMonth)
                                       : std::string_view();
        v = p.empty() ? Value::null() : Value::string(p);
        return;
      }
      case Method::Postcode: {
        const std::string_view p = postcodePrefix(textOf(v, buf));
        v = p.empty() ? Value::null()
                      : Value::string(v.type == ValueType::String ? p : arena.copy(p));
        return;
      }
      case Method::Network: {
        const std::string_view n =
            v.type == ValueType::String ? networkOf(v.s, buf) : std::string_view();
        v = n.empty() ? Value::null() : Value::string(arena.copy(n));
        return;
      }
      case Method::Bands: {
        double d = 0;
        if (!numberOf(v, d)) {
          v = Value::null();
          return;
        }
        const size_t band = static_cast<size_t>(
            std::upper_bound(r.bands.begin(), r.bands.end(), d) - r.bands.begin());
        v = Value::string(r.labels[band]);
        return;
      }
      case Method::Hmac:
        hmac(r, v, arena, buf);
        return;
      case Method::Tokenize: {
        const std::string_view t = textOf(v, buf);
        if (!tokenizer_->tokenize(t, scratch_, error_)) {
          v = Value::null();
          e.disposition = event::Disposition::DeadLetter;
          e.reason = "mask: tokenize failed";
          return;
        }
        tokens_handed_ = true;
        v = Value::string(arena.copy(scratch_));
        return;
      }
    }
  }

  void hmac(const MaskRule& r, Value& v, Arena& arena, std::array<char, 64>& buf) {
    const std::string_view t = textOf(v, buf);
    if (privacy::KeyedHasher::isPseudonym(t)) return;  // already masked upstream
    // The same customers come back (orders, calls): a bounded cache per rule from the raw text
    // to its pseudonym skips normalisation (libphonenumber) and the HMAC on a repeat.
    HmacCache& cache = hmac_caches_[static_cast<size_t>(&r - rules_.data())];
    if (const auto hit = cache.find(t); hit != cache.end()) {
      v = hit->second.empty() ? Value::null() : Value::string(arena.copy(hit->second));
      return;
    }
    if (cache.size() >= kHmacCacheEntries) cache.clear();
    const std::string_view pseudonym = hmacUncached(r, t);
    cache.emplace(std::string(t), std::string(pseudonym));
    v = pseudonym.empty() ? Value::null() : Value::string(arena.copy(pseudonym));
  }

  // The pseudonym of `t` under rule `r` (in scratch_), or "" when it cannot be masked.
  std::string_view hmacUncached(const MaskRule& r, std::string_view t) {
    bool ok = false;
    if (r.as == HmacAs::Email) {
      ok = privacy::normalizeEmail(t, normalized_);
    } else if (r.as == HmacAs::Phone) {
      ok = phonesFor(r.region).normalize("phone", t, normalized_);
    }
    // Not a valid email / phone (or a generic field): hashed as trimmed text, same type.
    if (!ok && !privacy::normalizeGeneric(t, normalized_)) return {};
    hasher_->pseudonymizeInto(scratch_, r.hash_type, normalized_);
    return scratch_;
  }

  struct CacheHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using HmacCache = std::unordered_map<std::string, std::string, CacheHash, std::equal_to<>>;
  static constexpr size_t kHmacCacheEntries = 65536;
  std::vector<HmacCache> hmac_caches_;

  // libphonenumber allocates on every parse: a bounded cache per region (the same numbers
  // recur: one customer's calls) keeps the warm path allocation-free, as the store does.
  privacy::IdentityNormalizer& phonesFor(std::string_view region) {
    for (auto& [r, n] : phones_) {
      if (r == region) return *n;
    }
    privacy::NormalizeOptions o;
    o.default_region = std::string(region);
    phones_.emplace_back(std::string(region), std::make_unique<privacy::IdentityNormalizer>(o));
    return *phones_.back().second;
  }

  std::vector<std::pair<std::string, std::unique_ptr<privacy::IdentityNormalizer>>> phones_;
  std::vector<MaskRule> rules_;
  std::deque<std::string> strings_;
  std::string normalized_, scratch_, error_;
  bool tokens_handed_ = false;
  event::Batch* batch_ = nullptr;
};

const std::vector<std::string>& methodNames() {
  static const std::vector<std::string> names = {"redact",     "drop", "truncate",
                                                 "generalize", "hmac", "tokenize"};
  return names;
}

const std::vector<std::string>& generalizeNames() {
  static const std::vector<std::string> names = {"year", "year-month", "postcode", "network",
                                                 "bands"};
  return names;
}

constexpr const char* kExample =
    "mask: { first_name: redact, email: hmac, birth_date: { generalize: year }, postcode: "
    "{ truncate: 3 }, ip: { generalize: network }, total: { generalize: { bands: [0, 50, 100] "
    "} }, card: tokenize, note: drop }";

std::string hintFor(const std::string& word, const std::vector<std::string>& known,
                    std::string_view what) {
  std::string hint;
  const std::string close = config::closestMatch(word, known);
  if (!close.empty()) hint = "did you mean '" + close + "'? ";
  hint += "known " + std::string(what) + ": ";
  for (size_t i = 0; i < known.size(); ++i) hint += (i ? ", " : "") + known[i];
  return hint;
}

class MaskBuilder {
 public:
  MaskBuilder(MaskStage& stage, BuildScope& scope, const StageContext* ctx)
      : stage_(stage), scope_(scope), ctx_(ctx) {}

  void build(const YAML::Node& body) {
    if (!body.IsMap() || body.size() == 0) {
      scope_.error(body, "mask takes a mapping of field: method", kExample);
      return;
    }
    for (auto it = body.begin(); it != body.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      if (!key.IsScalar() || key.Scalar().empty()) {
        scope_.error(key, "a mask key is a field path such as customer.email", kExample);
        continue;
      }
      const std::string& path = key.Scalar();
      if (path[0] == '$') {
        scope_.error(key, "mask addresses attributes, not '" + path + "'",
                     "$identities.* are pseudonymised by the store; mask the attribute before "
                     "copying it, or drop it");
        continue;
      }
      MaskRule rule;
      rule.path = stage_.keep(path);
      if (method(value, rule)) stage_.rules().push_back(std::move(rule));
    }
  }

 private:
  bool method(const YAML::Node& node, MaskRule& rule) {
    if (node.IsScalar()) {
      const std::string& m = node.Scalar();
      if (m == "redact") {
        rule.method = Method::Redact;
      } else if (m == "drop") {
        rule.method = Method::Drop;
      } else if (m == "hmac") {
        return hmac(node, YAML::Node(), rule);
      } else if (m == "tokenize") {
        return tokenize(node, rule);
      } else if (m == "truncate" || m == "generalize") {
        scope_.error(node, "'" + m + "' takes a parameter",
                     m == "truncate" ? "for example: { truncate: 3 }"
                                     : "for example: { generalize: year } (year, year-month, "
                                       "postcode, network, or { bands: [0, 50, 100] })");
        return false;
      } else {
        scope_.error(node, "unknown mask method '" + m + "'", hintFor(m, methodNames(), "methods"));
        return false;
      }
      return true;
    }
    if (!node.IsMap() || node.size() != 1) {
      scope_.error(node, "a mask method is a name (redact) or a one-key mapping ({ truncate: 3 })",
                   kExample);
      return false;
    }
    const auto first = node.begin();
    const YAML::Node key = first->first;
    const YAML::Node param = first->second;
    const std::string m = key.IsScalar() ? key.Scalar() : std::string();
    if (m == "truncate") {
      int64_t n = -1;
      if (param.IsScalar()) {
        const std::string& s = param.Scalar();
        auto r = std::from_chars(s.data(), s.data() + s.size(), n);
        if (r.ec != std::errc() || r.ptr != s.data() + s.size()) n = -1;
      }
      if (n < 0) {
        scope_.error(param, "truncate takes a number of characters to keep (0 or more)",
                     "for example: { truncate: 3 }");
        return false;
      }
      rule.method = Method::Truncate;
      rule.n = static_cast<size_t>(n);
      return true;
    }
    if (m == "generalize") return generalize(param, rule);
    if (m == "hmac") return hmac(key, param, rule);
    if (m == "redact" || m == "drop" || m == "tokenize") {
      scope_.error(key, "'" + m + "' takes no parameter", "write it as a plain name: field: " + m);
      return false;
    }
    scope_.error(key, "unknown mask method '" + m + "'", hintFor(m, methodNames(), "methods"));
    return false;
  }

  bool generalize(const YAML::Node& param, MaskRule& rule) {
    if (param.IsScalar()) {
      const std::string& g = param.Scalar();
      if (g == "year") {
        rule.method = Method::Year;
      } else if (g == "year-month") {
        rule.method = Method::YearMonth;
      } else if (g == "postcode") {
        rule.method = Method::Postcode;
      } else if (g == "network") {
        rule.method = Method::Network;
      } else {
        scope_.error(param, "unknown generalization '" + g + "'",
                     hintFor(g, generalizeNames(), "generalizations") +
                         " (bands are written { bands: [0, 50, 100] })");
        return false;
      }
      return true;
    }
    YAML::Node bands_key, list;
    if (param.IsMap() && param.size() == 1) {
      const auto first = param.begin();
      bands_key = first->first;
      list = first->second;
    }
    if (bands_key.IsDefined() && bands_key.IsScalar() && bands_key.Scalar() == "bands") {
      if (!list.IsSequence() || list.size() == 0) {
        scope_.error(list, "bands takes a list of ascending numbers", "{ bands: [0, 50, 100] }");
        return false;
      }
      for (const YAML::Node& b : list) {
        double d = 0;
        bool ok = b.IsScalar();
        if (ok) {
          const std::string& s = b.Scalar();
          auto r = std::from_chars(s.data(), s.data() + s.size(), d);
          ok = r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(d);
        }
        if (!ok || (!rule.bands.empty() && d <= rule.bands.back())) {
          scope_.error(b, ok ? "band bounds must be ascending" : "a band bound is a number",
                       "{ bands: [0, 50, 100, 500] }");
          return false;
        }
        rule.bands.push_back(d);
      }
      rule.method = Method::Bands;
      rule.labels.push_back(stage_.keep("<" + formatBound(rule.bands.front())));
      for (size_t i = 0; i + 1 < rule.bands.size(); ++i) {
        rule.labels.push_back(
            stage_.keep(formatBound(rule.bands[i]) + "-" + formatBound(rule.bands[i + 1])));
      }
      rule.labels.push_back(stage_.keep(formatBound(rule.bands.back()) + "+"));
      return true;
    }
    scope_.error(param, "generalize takes year, year-month, postcode, network or { bands: [...] }",
                 "for example: { generalize: { bands: [0, 50, 100, 500] } }");
    return false;
  }

  bool hmac(const YAML::Node& at, const YAML::Node& param, MaskRule& rule) {
    rule.method = Method::Hmac;
    rule.as = HmacAs::Infer;
    std::string region = ctx_ != nullptr ? ctx_->default_region : std::string();
    if (param.IsDefined() && !param.IsNull()) {
      if (!param.IsMap()) {
        scope_.error(param,
                     "hmac takes no parameter or { as: email | phone | text, region: \"+1\" }",
                     "the key is the store's pseudonymisation key, never written in YAML");
        return false;
      }
      for (auto it = param.begin(); it != param.end(); ++it) {
        const YAML::Node kn = it->first;
        const YAML::Node vn = it->second;
        const std::string k = kn.IsScalar() ? kn.Scalar() : std::string();
        const std::string v = vn.IsScalar() ? vn.Scalar() : std::string();
        if (k == "as") {
          if (v == "email") {
            rule.as = HmacAs::Email;
          } else if (v == "phone") {
            rule.as = HmacAs::Phone;
          } else if (v == "text") {
            rule.as = HmacAs::Generic;
          } else {
            scope_.error(vn, "hmac 'as' is email, phone or text",
                         "email and phone values are normalised before hashing");
            return false;
          }
        } else if (k == "region") {
          if (!privacy::isCallingCode(v)) {
            scope_.error(vn, "region is a country calling code such as \"+1\" or \"+49\"",
                         "used for phone numbers written without one");
            return false;
          }
          region = v;
        } else {
          scope_.error(kn, "unknown hmac option '" + k + "'",
                       hintFor(k, {"as", "region"}, "options") +
                           "; the key is never written in YAML (key_file / OMNILOOP_KEY)");
          return false;
        }
      }
    }
    if (rule.as == HmacAs::Infer) rule.as = inferAs(rule.path);
    rule.hash_type = rule.as == HmacAs::Email   ? std::string_view("email")
                     : rule.as == HmacAs::Phone ? std::string_view("phone")
                                                : std::string_view("text");
    rule.region = stage_.keep(region);
    if (ctx_ != nullptr) {
      if (ctx_->hasher == nullptr) {
        scope_.error(at, "hmac needs the store's pseudonymisation key",
                     "set key_file in omniloop.yaml or OMNILOOP_KEY");
        return false;
      }
      stage_.hasher_ = ctx_->hasher;
    }
    return true;
  }

  bool tokenize(const YAML::Node& at, MaskRule& rule) {
    rule.method = Method::Tokenize;
    if (ctx_ != nullptr) {
      privacy::Tokenizer* t = ctx_->tokenizer ? ctx_->tokenizer() : nullptr;
      if (t == nullptr) {
        scope_.error(at, "tokenize needs the store's vault",
                     "run the pipeline with a CDP store (store: in omniloop.yaml); the vault key "
                     "is vault_key_file");
        return false;
      }
      stage_.tokenizer_ = t;
    }
    return true;
  }

  MaskStage& stage_;
  BuildScope& scope_;
  const StageContext* ctx_;
};

}  // namespace

std::unique_ptr<Stage> buildMaskStage(const YAML::Node& body, BuildScope& scope,
                                      const StageContext* ctx) {
  auto stage = std::make_unique<MaskStage>();
  MaskBuilder(*stage, scope, ctx).build(body);
  return stage;
}

}  // namespace omniloop::pipeline
