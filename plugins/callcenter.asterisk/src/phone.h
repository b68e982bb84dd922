#pragma once
// Caller numbers to E.164 with libphonenumber, national numbers read in the PBX's country.
#include <string>
#include <string_view>

namespace omniloop::asterisk {

class PhoneNormalizer {
 public:
  // country: ISO 3166-1 alpha-2 ("DE", "US"), or "" to accept only international numbers
  // ("+49...", "0049..." is national in most countries and needs a country). Throws
  // std::invalid_argument for a country libphonenumber does not know.
  explicit PhoneNormalizer(std::string country);
  // The E.164 form ("+4930123456"), or "" when the text is not a phone number: valid by the
  // country's numbering plan, or possible with at least 7 national digits (so test numbers pass
  // but an internal extension such as "201" or "2011" does not).
  std::string toE164(std::string_view number) const;

 private:
  std::string country_;
};

}  // namespace omniloop::asterisk
