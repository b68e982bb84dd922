#include "privacy/normalize.h"

#include "privacy/phone_validity.h"

#include <array>
#include <atomic>
#include <cctype>
#include <optional>
#include <vector>

#include <phonenumbers/phonenumberutil.h>

namespace omniloop::privacy {

namespace {

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

bool reject(std::string& out) {
  out.clear();
  return false;
}

}  // namespace

bool normalizeEmail(std::string_view in, std::string& out) {
  out.clear();
  std::string_view s = trim(in);
  const size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == s.size()) return reject(out);
  out.resize(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c <= 0x20 || c == 0x7f) return reject(out);
    out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : static_cast<char>(c);
  }
  return true;
}

bool isCallingCode(std::string_view code) {
  if (code.size() < 2 || code.size() > 4 || code[0] != '+' || code[1] == '0') return false;
  for (size_t i = 1; i < code.size(); ++i) {
    if (!isDigit(code[i])) return false;
  }
  return true;
}

std::string phoneRegion(std::string_view region_or_code) {
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  std::string region;
  if (isCallingCode(region_or_code)) {
    int code = 0;
    for (char c : region_or_code.substr(1)) code = code * 10 + (c - '0');
    util.GetRegionCodeForCountryCode(code,
                                     &region);  // the main region of a shared code ("US" for +1)
  } else if (region_or_code.size() == 2) {
    for (char c : region_or_code)
      region.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  if (region.empty() || util.GetCountryCodeForRegion(region) == 0) return {};
  return region;
}

namespace {

// The common case, written internationally with only spaces, '-' or '.' between the digits
// ("+49 171 2345678"), skips libphonenumber's Parse: it costs ~15 us a number in ICU regexps,
// half the work of a first sight. Country calling codes are prefix-free, so the first 1..3
// digits that name a code are the code; the rest is the national number. Only a number Parse
// would leave as it is takes this path: one whose national part starts with neither 0 nor the
// country's national prefix (what Parse may strip) and that libphonenumber calls valid as
// written. Everything else returns nullopt and goes through Parse, so the result never depends
// on the path (tests compare both over every region's example numbers).
//
// Some plans strip more than that (Mexico reads "+52 1 222 123 4567" as "+52 222 123 4567"),
// and which do is in metadata that libphonenumber keeps private. So each calling code is
// probed once, against the installed metadata: every example number of its main region, with
// each digit 1-9 in front, must come out of Parse as written whenever it is valid as written.
bool parseKeepsNationalNumbers(int code) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  std::string region;
  util.GetRegionCodeForCountryCode(code, &region);
  std::vector<PhoneNumber> examples;
  PhoneNumber example;
  if (region == "001") {
    if (util.GetExampleNumberForNonGeoEntity(code, &example)) examples.push_back(example);
  } else {
    for (int type = PhoneNumberUtil::FIXED_LINE; type <= PhoneNumberUtil::VOICEMAIL; ++type) {
      if (util.GetExampleNumberForType(region, static_cast<PhoneNumberUtil::PhoneNumberType>(type),
                                       &example)) {
        examples.push_back(example);
      }
    }
  }
  const std::string prefix = "+" + std::to_string(code);
  for (const PhoneNumber& base : examples) {
    const std::string national = std::to_string(base.national_number());
    for (char d = '1'; d <= '9'; ++d) {
      const std::string as_written = std::string(1, d) + national;
      if (as_written.size() > 17) continue;
      PhoneNumber manual;
      manual.set_country_code(code);
      manual.set_national_number(std::stoull(as_written));
      if (!util.IsValidNumber(manual)) continue;
      PhoneNumber parsed;
      std::string e164;
      if (util.Parse(prefix + as_written, "ZZ", &parsed) == PhoneNumberUtil::NO_PARSING_ERROR) {
        util.Format(parsed, PhoneNumberUtil::E164, &e164);
      }
      if (e164 != prefix + as_written) return false;
    }
  }
  return true;
}

bool fastPathAllowed(int code) {
  enum : int8_t { kUnknown = 0, kAllowed = 1, kRefused = -1 };
  static std::array<std::atomic<int8_t>, 1000> verdicts{};  // calling codes have 1-3 digits
  std::atomic<int8_t>& verdict = verdicts[static_cast<size_t>(code)];
  int8_t v = verdict.load(std::memory_order_relaxed);
  if (v == kUnknown) {  // two threads may both probe: same answer, no harm
    v = parseKeepsNationalNumbers(code) ? kAllowed : kRefused;
    verdict.store(v, std::memory_order_relaxed);
  }
  return v == kAllowed;
}

std::optional<bool> normalizeInternationalFast(std::string_view s, std::string& out) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  char all[kMaxIdentityBytes];
  size_t n = 0;
  // A group of digits in parentheses after the first digit ("+49 (171) 234-5678") is
  // punctuation to Parse like a space; an opening one before any digit, nested, empty or
  // unclosed ones go to Parse.
  bool open = false;
  size_t group = 0;
  for (size_t i = 1; i < s.size(); ++i) {
    const char c = s[i];
    if (isDigit(c)) {
      all[n++] = c;
      ++group;
    } else if (c == '(') {
      if (open || n == 0) return std::nullopt;
      open = true;
      group = 0;
    } else if (c == ')') {
      if (!open || group == 0) return std::nullopt;
      open = false;
    } else if (!(c == ' ' || c == '-' || c == '.') || open) {
      return std::nullopt;
    }
  }
  if (open) return std::nullopt;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  std::string region;
  int code = 0;
  size_t code_len = 0;
  for (size_t len = 1; len <= 3 && len < n; ++len) {
    code = code * 10 + (all[len - 1] - '0');
    util.GetRegionCodeForCountryCode(code, &region);
    if (region != "ZZ") {
      code_len = len;
      break;
    }
  }
  const size_t national_len = n - code_len;
  if (code_len == 0 || national_len > 17 || all[code_len] == '0' || !fastPathAllowed(code)) {
    return std::nullopt;
  }
  const std::string_view national(all + code_len, national_len);
  if (region != "001") {  // non-geographic codes have no national prefix
    std::string ndd;
    util.GetNddPrefixForRegion(region, true, &ndd);
    if (!ndd.empty() && national.starts_with(ndd)) return std::nullopt;
  }
  const PhoneValidity& validity = PhoneValidity::instance();
  bool valid = false;
  if (validity.available()) {
    valid = validity.isValid(code, national);
  } else {
    uint64_t value = 0;
    for (char c : national) value = value * 10 + static_cast<uint64_t>(c - '0');
    PhoneNumber number;
    number.set_country_code(code);
    number.set_national_number(value);
    valid = util.IsValidNumber(number);
  }
  if (!valid) return std::nullopt;  // Parse may still read it another way
  out.assign("+");
  out.append(all, n);
  return true;
}

thread_local uint64_t phone_normalizations = 0;  // phoneNormalizationsOnThisThread()

}  // namespace

uint64_t phoneNormalizationsOnThisThread() {
  return phone_normalizations;
}

bool normalizePhone(std::string_view in, std::string& out, std::string_view default_region,
                    Rejection* why) {
  ++phone_normalizations;
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  auto fail = [&](Rejection r) {
    if (why != nullptr) *why = r;
    return reject(out);
  };
  out.clear();
  std::string_view s = trim(in);
  if (s.empty()) return fail(Rejection::Empty);
  if (s.size() > kMaxIdentityBytes) return fail(Rejection::TooLong);
  // What people type around the digits, nothing else: letters (extensions, "call me", vanity
  // numbers) are refused before libphonenumber, which would read some of them.
  if (s.front() == '+') {
    if (const auto fast = normalizeInternationalFast(s, out)) {
      if (why != nullptr) *why = Rejection::None;
      return *fast;
    }
  }
  std::string digits;  // the number as libphonenumber gets it: '+', digits and separators
  size_t count = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (isDigit(c)) {
      ++count;
    } else if (c == '+') {
      if (count != 0 || !digits.empty()) return fail(Rejection::InvalidPhone);  // '+' only in front
    } else if (!(c == ' ' || c == '\t' || c == '-' || c == '.' || c == '/' || c == '(' ||
                 c == ')')) {
      return fail(Rejection::InvalidPhone);
    }
    digits.push_back(c == '\t' ? ' ' : c);
  }
  if (count == 0) return fail(Rejection::InvalidPhone);
  const bool international = digits[0] == '+';
  std::string region = "ZZ";  // unknown: only an international number parses
  if (!international) {
    size_t first = digits.find_first_of("0123456789");
    if (digits.compare(first, 2, "00") == 0) {
      digits.replace(first, 2, "+");  // 00 is the international prefix almost everywhere
    } else {
      region = phoneRegion(default_region);
      if (region.empty()) return fail(Rejection::PhoneWithoutRegion);
    }
  }
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util.Parse(digits, region, &number) != PhoneNumberUtil::NO_PARSING_ERROR ||
      !util.IsValidNumber(number)) {
    return fail(Rejection::InvalidPhone);
  }
  util.Format(number, PhoneNumberUtil::E164, &out);
  if (why != nullptr) *why = Rejection::None;
  return true;
}

bool normalizeGeneric(std::string_view in, std::string& out) {
  std::string_view s = trim(in);
  out.assign(s.data(), s.size());
  return !out.empty();
}

std::string_view toString(Rejection r) {
  switch (r) {
    case Rejection::None:
      return "";
    case Rejection::Empty:
      return "empty";
    case Rejection::TooLong:
      return "too_long";
    case Rejection::MalformedEmail:
      return "email_malformed";
    case Rejection::InvalidPhone:
      return "phone_invalid";
    case Rejection::PhoneWithoutRegion:
      return "phone_without_region";
  }
  return "";
}

bool normalizeIdentity(std::string_view type, std::string_view in, std::string& out,
                       const NormalizeOptions& options, Rejection* why) {
  if (type == "phone") return normalizePhone(in, out, options.default_region, why);
  Rejection r = Rejection::None;
  const std::string_view s = trim(in);
  if (s.empty()) {
    r = Rejection::Empty;
  } else if (s.size() > kMaxIdentityBytes) {
    r = Rejection::TooLong;
  } else if (type == "email" ? !normalizeEmail(s, out) : !normalizeGeneric(s, out)) {
    r = type == "email" ? Rejection::MalformedEmail : Rejection::Empty;
  }
  if (why != nullptr) *why = r;
  if (r != Rejection::None) return reject(out);
  return true;
}

bool IdentityNormalizer::normalize(std::string_view type, std::string_view in, std::string& out,
                                   Rejection* why) {
  if (type != "phone") return normalizeIdentity(type, in, out, options_, why);
  if (const auto hit = phones_.find(in); hit != phones_.end()) {
    out = hit->second.normalized;
    if (why != nullptr) *why = hit->second.why;
    return hit->second.why == Rejection::None;
  }
  Rejection r = Rejection::None;
  const bool ok = normalizePhone(in, out, options_.default_region, &r);
  if (in.size() <= kMaxIdentityBytes) {
    if (phones_.size() >= max_cached_) phones_.clear();  // bounded: start over rather than grow
    phones_.emplace(std::string(in), Cached{out, r});
  }
  if (why != nullptr) *why = r;
  return ok;
}

}  // namespace omniloop::privacy
