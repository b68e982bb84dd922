#include "phone.h"

#include <phonenumbers/logger.h>
#include <phonenumbers/phonenumberutil.h>

#include <mutex>

#include <stdexcept>

namespace omniloop::asterisk {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

PhoneNormalizer::PhoneNormalizer(std::string country) : country_(std::move(country)) {
  // libphonenumber's default logger may print the number it failed on: personal data.
  static std::once_flag quiet;
  std::call_once(quiet, [] {
    PhoneNumberUtil::GetInstance()->SetLogger(new i18n::phonenumbers::NullLogger());
  });
  if (country_.empty()) {
    country_ = "ZZ";  // unknown region: only numbers written with '+' parse
    return;
  }
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  if (util->GetCountryCodeForRegion(country_) == 0) {
    throw std::invalid_argument("option 'country': '" + country_ +
                                "' is not an ISO 3166-1 alpha-2 code libphonenumber knows "
                                "(e.g. DE, US, GB)");
  }
}

std::string PhoneNormalizer::toE164(std::string_view number) const {
  const PhoneNumberUtil* util = PhoneNumberUtil::GetInstance();
  PhoneNumber parsed;
  if (util->Parse(std::string(number), country_, &parsed) != PhoneNumberUtil::NO_PARSING_ERROR) {
    return "";
  }
  // Valid by the numbering plan, or at least possible with 7+ national digits (test and mock
  // numbers); an internal extension ("201", "2011") is neither.
  const bool possible = util->IsPossibleNumberWithReason(parsed) == PhoneNumberUtil::IS_POSSIBLE &&
                        std::to_string(parsed.national_number()).size() >= 7;
  if (!possible && !util->IsValidNumber(parsed)) return "";
  std::string out;
  util->Format(parsed, PhoneNumberUtil::E164, &out);
  return out;
}

}  // namespace omniloop::asterisk
