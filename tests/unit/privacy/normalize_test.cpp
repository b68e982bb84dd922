#include "privacy/normalize.h"

#include <gtest/gtest.h>

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
  EXPECT_EQ(phone("+1 555 555 5555"), "<rejected:>");   // no area code 555
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
  EXPECT_TRUE(n.normalize("phone", "+1 415 555 0123", out, &r));  // full: starts over, stays bounded
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

}  // namespace
}  // namespace omniloop::privacy
