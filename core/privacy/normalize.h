#pragma once
// Identifier normalisation: the same person typed two ways must hash to the same pseudonym.
// Each function writes the normalised form into `out` (replacing its content, reusing its
// capacity) and returns false, with `out` empty, when the input is not a usable identifier.
// No allocation beyond `out` growing; safe on the per-event path.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace omniloop::privacy {

// Trim, lower-case (ASCII; other bytes kept). Rejects: no '@', nothing before or after the
// last '@', whitespace or control characters inside.
bool normalizeEmail(std::string_view in, std::string& out);

// Why a value is not a usable identifier (the label of the `identity_rejected` counter).
enum class Rejection : uint8_t {
  None,
  Empty,               // nothing left after trimming
  TooLong,             // more than kMaxIdentityBytes
  MalformedEmail,      // no text before or after the last '@', or whitespace inside
  InvalidPhone,        // letters, or a number libphonenumber does not know as valid
  PhoneWithoutRegion,  // written nationally and no default region to read it with
};
// "empty", "too_long", "email_malformed", "phone_invalid", "phone_without_region" ("" for None).
std::string_view toString(Rejection r);

// Longer identity values (after trimming) are rejected: no real identifier is this long.
inline constexpr size_t kMaxIdentityBytes = 256;

// To E.164 with libphonenumber's validity rules (its metadata of every numbering plan).
// Spaces, tabs, '-', '.', '/', '(' and ')' are allowed ("+49 (0)89 ..." drops the trunk 0); a
// leading "00" is the international prefix. A number without '+' or "00" is read in
// `default_region`: an ISO 3166 region ("DE", "US") or a calling code ("+49", "+1"); without
// one it is rejected (PhoneWithoutRegion). Letters, extensions and numbers that are not valid
// in their numbering plan are rejected (InvalidPhone). `why` (may be null) says why.
bool normalizePhone(std::string_view in, std::string& out, std::string_view default_region = {},
                    Rejection* why = nullptr);

// How many times normalizePhone ran on the calling thread (cached answers not counted): lets
// a test prove that a phone is normalised once per event.
uint64_t phoneNormalizationsOnThisThread();

// A default region usable with normalizePhone: a known ISO 3166 region with a numbering plan
// ("DE", "us") or a calling code ("+49"). Returns the ISO region ("DE"), or "" when unknown.
std::string phoneRegion(std::string_view region_or_code);

// Trim ASCII whitespace; rejects an empty result.
bool normalizeGeneric(std::string_view in, std::string& out);

// A country calling code usable as default_region: "+" then 1..3 digits, not starting with 0.
bool isCallingCode(std::string_view code);

struct NormalizeOptions {
  std::string default_region;  // for phone numbers written nationally: "DE" (or "+49")
};

// By identity type: "email" and "phone" have their own rules, every other type is generic.
// Every type rejects values longer than kMaxIdentityBytes. `why` (may be null) says why.
bool normalizeIdentity(std::string_view type, std::string_view in, std::string& out,
                       const NormalizeOptions& options = {}, Rejection* why = nullptr);

// normalizeIdentity with a bounded cache of phone results per raw value (libphonenumber takes
// microseconds per number; a source repeats the same numbers). Other types are not cached
// (their rules are cheaper than a lookup). Not thread-safe: one per writer.
class IdentityNormalizer {
 public:
  explicit IdentityNormalizer(NormalizeOptions options, size_t max_cached = 65536)
      : options_(std::move(options)), max_cached_(max_cached) {}
  bool normalize(std::string_view type, std::string_view in, std::string& out,
                 Rejection* why = nullptr);
  const NormalizeOptions& options() const { return options_; }
  size_t cached() const { return phones_.size(); }

 private:
  struct Cached {
    std::string normalized;  // empty when rejected
    Rejection why = Rejection::None;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  NormalizeOptions options_;
  size_t max_cached_;
  std::unordered_map<std::string, Cached, Hash, std::equal_to<>> phones_;
};

}  // namespace omniloop::privacy
