#pragma once
// Identifier normalisation: the same person typed two ways must hash to the same pseudonym.
// Each function writes the normalised form into `out` (replacing its content, reusing its
// capacity) and returns false, with `out` empty, when the input is not a usable identifier.
// No allocation beyond `out` growing; safe on the per-event path.
#include <string>
#include <string_view>

namespace omniloop::privacy {

// Trim, lower-case (ASCII; other bytes kept). Rejects: no '@', nothing before or after the
// last '@', whitespace or control characters inside.
bool normalizeEmail(std::string_view in, std::string& out);

// To E.164: "+" then 8..15 digits. Strips spaces, tabs, '-', '.', '/', '(' and ')'; a "(0)"
// after the country code ("+49 (0)89 ...") is dropped; a leading "00" becomes "+". A national
// number (leading single '0') takes `default_region` ("+49") in place of that 0; without a
// default region it is rejected. With default_region "+1" (North America, no trunk 0) a
// 10-digit NPA-NXX-XXXX number, or 11 digits starting with 1, take +1.
// Anything else (letters, extensions) is rejected.
bool normalizePhone(std::string_view in, std::string& out, std::string_view default_region = {});

// Trim ASCII whitespace; rejects an empty result.
bool normalizeGeneric(std::string_view in, std::string& out);

// A country calling code usable as default_region: "+" then 1..3 digits, not starting with 0.
bool isCallingCode(std::string_view code);

struct NormalizeOptions {
  std::string default_region;  // for phone numbers written nationally, e.g. "+49"
};

// By identity type: "email" and "phone" have their own rules, every other type is generic.
bool normalizeIdentity(std::string_view type, std::string_view in, std::string& out,
                       const NormalizeOptions& options = {});

}  // namespace omniloop::privacy
