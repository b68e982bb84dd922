#include "privacy/normalize.h"

#include "privacy/phone_validity.h"

#include <gtest/gtest.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

namespace omniloop::privacy {
namespace {

std::string email(std::string_view in) {
  std::string out = "stale";
  return normalizeEmail(in, out) ? out : "<rejected:" + out + ">";
}

std::string phone(std::string_view in, std::string_view region = {}) {
  std::string out = "stale";
  return normalizePhone(in, out, region) ? out : "<rejected:" + out + ">";
}

TEST(NormalizeEmail, TrimsAndLowerCases) {
  EXPECT_EQ(email("  John.Doe@Example.COM \t"), "john.doe@example.com");
  EXPECT_EQ(email("a@b"), "a@b");
  EXPECT_EQ(email("\"quoted@local\"@Example.org"), "\"quoted@local\"@example.org");
}

TEST(NormalizeEmail, LeavesNonAsciiBytesAlone) {
  EXPECT_EQ(email("J\xC3\x96rg@Example.de"), "j\xC3\x96rg@example.de");
}

TEST(NormalizeEmail, RejectsWhatIsNoAddressAndEmptiesOutput) {
  EXPECT_EQ(email("john.doe.example.com"), "<rejected:>");
  EXPECT_EQ(email("@example.com"), "<rejected:>");
  EXPECT_EQ(email("john@"), "<rejected:>");
  EXPECT_EQ(email("john doe@example.com"), "<rejected:>");
  EXPECT_EQ(email("   "), "<rejected:>");
  EXPECT_EQ(email(""), "<rejected:>");
}

std::string why(std::string_view in, std::string_view region = {}) {
  std::string out;
  Rejection r = Rejection::None;
  normalizePhone(in, out, region, &r);
  return std::string(toString(r));
}

TEST(NormalizePhone, StripsPunctuationOfInternationalNumbers) {
  EXPECT_EQ(phone("+1 (415) 555-0123"), "+14155550123");
  EXPECT_EQ(phone("+33 1.23.45.67.89"), "+33123456789");
  EXPECT_EQ(phone(" +49 89/1234-5678 "), "+498912345678");
  EXPECT_EQ(phone("+44\t20 7946 0958"), "+442079460958");
}

// These two were dropped by a home-made "sequential digits" rule: they are valid numbers.
TEST(NormalizePhone, KeepsValidNumbersWhateverTheirDigits) {
  EXPECT_EQ(phone("+49 30 1234567"), "+49301234567");
  EXPECT_EQ(phone("+1 234 567 8901"), "+12345678901");
  EXPECT_EQ(phone("+1-234-567-8901"), "+12345678901");
  EXPECT_EQ(phone("030 1234567", "DE"), "+49301234567");
}

TEST(NormalizePhone, TurnsLeadingDoubleZeroIntoPlus) {
  EXPECT_EQ(phone("0049 89 1234 5678"), "+498912345678");
  EXPECT_EQ(phone("0049-30-1234567", "US"), "+49301234567");  // the region does not matter then
}

TEST(NormalizePhone, DropsTrunkZeroWrittenAfterCountryCode) {
  EXPECT_EQ(phone("+49 (0)89 1234 5678"), "+498912345678");
  EXPECT_EQ(phone("+44 (0) 20 7946 0958"), "+442079460958");
}

TEST(NormalizePhone, NationalNumberTakesDefaultRegion) {
  EXPECT_EQ(phone("089 1234 5678", "DE"), "+498912345678");
  EXPECT_EQ(phone("089 1234 5678", "de"), "+498912345678");
  EXPECT_EQ(phone("(0151) 123 456 78", "DE"), "+4915112345678");
  EXPECT_EQ(phone("0301234567", "+49"), "+49301234567");  // a calling code works too
  EXPECT_EQ(phone("020 7946 0958", "GB"), "+442079460958");
}

TEST(NormalizePhone, NationalNumberWithoutRegionIsRejected) {
  EXPECT_EQ(phone("089 1234 5678"), "<rejected:>");
  EXPECT_EQ(why("089 1234 5678"), "phone_without_region");
  EXPECT_EQ(phone("089 1234 5678", "49"), "<rejected:>");  // neither a region nor a calling code
  EXPECT_EQ(phone("089 1234 5678", "XX"), "<rejected:>");
  EXPECT_EQ(phone("5551234567"), "<rejected:>");
}

TEST(NormalizePhone, NorthAmericanNumbersTakePlusOne) {
  EXPECT_EQ(phone("415-555-0123", "US"), "+14155550123");
  EXPECT_EQ(phone("(415) 555-0123", "+1"), "+14155550123");
  EXPECT_EQ(phone("1 (415) 555 0123", "US"), "+14155550123");
  EXPECT_EQ(phone("0152568563", "US"), "<rejected:>");  // area codes never start with 0 or 1
  EXPECT_EQ(phone("415555012", "US"), "<rejected:>");   // 9 digits
}

TEST(NormalizePhone, RejectsNumbersNoNumberingPlanHas) {
  EXPECT_EQ(phone("+4915112"), "<rejected:>");  // too short
  EXPECT_EQ(why("+4915112"), "phone_invalid");
  EXPECT_EQ(phone("+4915112345678901"), "<rejected:>");  // too long
  EXPECT_EQ(phone("123", "DE"), "<rejected:>");
  EXPECT_EQ(phone("+49 0000000000"), "<rejected:>");
  EXPECT_EQ(phone("+1 555 555 5555"), "<rejected:>");  // no area code 555
  EXPECT_EQ(phone("1234567890", "DE"), "<rejected:>");
  EXPECT_EQ(phone("0000000000", "DE"), "<rejected:>");
  EXPECT_EQ(why("0000000000", "DE"), "phone_invalid");
}

TEST(NormalizePhone, RejectsLettersExtensionsAndStrayPlus) {
  EXPECT_EQ(phone("+49 89 1234 5678 ext 12"), "<rejected:>");
  EXPECT_EQ(phone("call me"), "<rejected:>");
  EXPECT_EQ(phone("+49 30 12E4567"), "<rejected:>");
  EXPECT_EQ(phone("1-800-FLOWERS", "US"), "<rejected:>");
  EXPECT_EQ(why("call me"), "phone_invalid");
  EXPECT_EQ(phone("49+891234567"), "<rejected:>");
  EXPECT_EQ(phone("++49891234567"), "<rejected:>");
  EXPECT_EQ(phone("+0891234567"), "<rejected:>");
  EXPECT_EQ(phone(""), "<rejected:>");
  EXPECT_EQ(why("   "), "empty");
}

TEST(NormalizeIdentity, SaysWhyAValueIsRejected) {
  std::string out;
  Rejection r = Rejection::None;
  EXPECT_FALSE(normalizeIdentity("email", "jane.example.com", out, {}, &r));
  EXPECT_EQ(toString(r), "email_malformed");
  EXPECT_FALSE(normalizeIdentity("crm_id", std::string(kMaxIdentityBytes + 1, 'x'), out, {}, &r));
  EXPECT_EQ(toString(r), "too_long");
  EXPECT_FALSE(normalizeIdentity("crm_id", " \t", out, {}, &r));
  EXPECT_EQ(toString(r), "empty");
  EXPECT_TRUE(normalizeIdentity("crm_id", std::string(kMaxIdentityBytes, 'x'), out, {}, &r));
  EXPECT_EQ(r, Rejection::None);
}

TEST(IdentityNormalizer, CachesPhoneResultsPerRawValueWithinItsBound) {
  IdentityNormalizer n(NormalizeOptions{"DE"}, 2);
  std::string out;
  Rejection r = Rejection::None;
  EXPECT_TRUE(n.normalize("phone", "030 1234567", out, &r));
  EXPECT_EQ(out, "+49301234567");
  EXPECT_TRUE(n.normalize("phone", "030 1234567", out, &r));  // from the cache: same answer
  EXPECT_EQ(out, "+49301234567");
  EXPECT_EQ(n.cached(), 1u);
  EXPECT_FALSE(n.normalize("phone", "0000000000", out, &r));
  EXPECT_EQ(out, "");
  EXPECT_FALSE(n.normalize("phone", "0000000000", out, &r));  // a cached rejection keeps its reason
  EXPECT_EQ(r, Rejection::InvalidPhone);
  EXPECT_EQ(n.cached(), 2u);
  EXPECT_TRUE(
      n.normalize("phone", "+1 415 555 0123", out, &r));  // full: starts over, stays bounded
  EXPECT_EQ(out, "+14155550123");
  EXPECT_LE(n.cached(), 2u);
  EXPECT_TRUE(n.normalize("email", " A@B.C", out, &r));  // other types: not cached
  EXPECT_LE(n.cached(), 2u);
}

TEST(NormalizeGeneric, TrimsAndRejectsEmpty) {
  std::string out;
  EXPECT_TRUE(normalizeGeneric("  CRM-0042 \n", out));
  EXPECT_EQ(out, "CRM-0042");
  EXPECT_FALSE(normalizeGeneric(" \t ", out));
  EXPECT_EQ(out, "");
}

TEST(NormalizeIdentity, DispatchesOnType) {
  std::string out;
  NormalizeOptions options;
  options.default_region = "DE";
  EXPECT_TRUE(normalizeIdentity("email", " A@B.C ", out, options));
  EXPECT_EQ(out, "a@b.c");
  EXPECT_TRUE(normalizeIdentity("phone", "0151 1234 5678", out, options));
  EXPECT_EQ(out, "+4915112345678");
  EXPECT_TRUE(normalizeIdentity("crm_id", " AbC ", out, options));
  EXPECT_EQ(out, "AbC");  // generic: case kept
  EXPECT_FALSE(normalizeIdentity("email", "AbC", out, options));
}

TEST(CallingCode, AcceptsPlusAndOneToThreeDigits) {
  EXPECT_TRUE(isCallingCode("+1"));
  EXPECT_TRUE(isCallingCode("+49"));
  EXPECT_TRUE(isCallingCode("+358"));
  EXPECT_FALSE(isCallingCode("+3581"));
  EXPECT_FALSE(isCallingCode("49"));
  EXPECT_FALSE(isCallingCode("+0"));
  EXPECT_FALSE(isCallingCode("+"));
  EXPECT_FALSE(isCallingCode("+4a"));
}

// libphonenumber's example number of every type of every region, and of every
// non-geographic calling code: one valid number of each numbering plan's kinds.
std::vector<i18n::phonenumbers::PhoneNumber> everyExampleNumber() {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  std::vector<PhoneNumber> examples;
  std::set<std::string> regions;
  util.GetSupportedRegions(&regions);
  for (const std::string& region : regions) {
    for (int type = PhoneNumberUtil::FIXED_LINE; type <= PhoneNumberUtil::VOICEMAIL; ++type) {
      PhoneNumber example;
      if (util.GetExampleNumberForType(region, static_cast<PhoneNumberUtil::PhoneNumberType>(type),
                                       &example)) {
        examples.push_back(example);
      }
    }
  }
  std::set<int> global_codes;
  util.GetSupportedGlobalNetworkCallingCodes(&global_codes);
  for (int code : global_codes) {
    PhoneNumber example;
    if (util.GetExampleNumberForNonGeoEntity(code, &example)) examples.push_back(example);
  }
  return examples;
}

// International numbers written with spaces, '-', '.' or a group in parentheses take a fast
// path that skips libphonenumber's Parse. It must give what Parse + IsValidNumber give, for
// every numbering plan: every region's example number of every type, as written
// internationally, with dashes, with its first group in parentheses (and malformed
// parentheses), and with one and two digits put in front of the national number (where a
// national prefix or a carrier code would be stripped by Parse).
TEST(NormalizePhone, FastPathAgreesWithLibphonenumberForEveryRegion) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  auto oracle = [&](const std::string& in) {
    PhoneNumber number;
    if (util.Parse(in, "ZZ", &number) != PhoneNumberUtil::NO_PARSING_ERROR ||
        !util.IsValidNumber(number)) {
      return std::string("<rejected:>");
    }
    std::string out;
    util.Format(number, PhoneNumberUtil::E164, &out);
    return out;
  };
  const std::vector<PhoneNumber> examples = everyExampleNumber();
  ASSERT_GT(examples.size(), 1000u);
  size_t compared = 0;
  for (const PhoneNumber& example : examples) {
    std::string written;
    util.Format(example, PhoneNumberUtil::INTERNATIONAL, &written);
    std::string dashed = written;
    std::replace(dashed.begin(), dashed.end(), ' ', '-');
    dashed.replace(0, dashed.find('-') + 1, written.substr(0, written.find(' ') + 1));
    std::vector<std::string> inputs{written, dashed};
    // The first group after the calling code in parentheses, as in "+49 (171) 234-5678",
    // and malformed parentheses (which the fast path leaves to Parse).
    if (const size_t first = written.find(' '); first != std::string::npos) {
      const size_t second = written.find(' ', first + 1);
      if (second != std::string::npos) {
        std::string bracketed = written;
        bracketed.insert(second, ")");
        bracketed.insert(first + 1, "(");
        inputs.push_back(bracketed);
        inputs.push_back(written.substr(0, first + 1) + "(" + written.substr(first + 1));
        inputs.push_back("+(" + written.substr(1, first - 1) + ")" + written.substr(first));
        inputs.push_back(written.substr(0, first + 1) + "() " + written.substr(first + 1));
      }
    }
    const std::string code = "+" + std::to_string(example.country_code());
    const std::string national = std::to_string(example.national_number());
    for (char d = '0'; d <= '9'; ++d) {  // "d", "0d", "1d" and "9d" in front
      for (const char* before : {"", "0", "1", "9"}) {
        inputs.push_back(code + " " + before + d + national);
      }
    }
    for (const std::string& in : inputs) {
      EXPECT_EQ(phone(in), oracle(in)) << "written as " << in;
      ++compared;
    }
  }
  EXPECT_GT(compared, 50000u);
}

// PhoneValidity reimplements IsValidNumber over libphonenumber's own metadata with RE2: it must
// agree with the library on every region's example numbers, on their neighbours (last digit
// changed, one digit more, one fewer) and with each digit put in front: valid and invalid
// numbers of every plan, shared calling codes (+1, +7, +44) and non-geographic ones included.
TEST(PhoneValidity, AgreesWithLibphonenumberOnEveryPlan) {
  using i18n::phonenumbers::PhoneNumber;
  using i18n::phonenumbers::PhoneNumberUtil;
  const PhoneNumberUtil& util = *PhoneNumberUtil::GetInstance();
  const PhoneValidity& validity = PhoneValidity::instance();
  ASSERT_TRUE(validity.available());
  const std::vector<PhoneNumber> examples = everyExampleNumber();
  size_t valid = 0, invalid = 0;
  for (const PhoneNumber& example : examples) {
    const std::string national = std::to_string(example.national_number());
    std::vector<std::string> variants{national, national + "7", national.substr(1)};
    for (char d = '0'; d <= '9'; ++d) {
      variants.push_back(national.substr(0, national.size() - 1) + d);
      if (d != '0') variants.push_back(d + national);
    }
    for (const std::string& v : variants) {
      if (v.empty() || v.size() > 17 || v[0] == '0') continue;
      PhoneNumber number;
      number.set_country_code(example.country_code());
      number.set_national_number(std::stoull(v));
      const bool expected = util.IsValidNumber(number);
      EXPECT_EQ(validity.isValid(example.country_code(), v), expected)
          << "+" << example.country_code() << " " << v;
      ++(expected ? valid : invalid);
    }
  }
  EXPECT_GT(valid, 1000u);
  EXPECT_GT(invalid, 1000u);
  EXPECT_FALSE(validity.isValid(999, "1234567"));  // no such calling code
}

}  // namespace
}  // namespace omniloop::privacy
