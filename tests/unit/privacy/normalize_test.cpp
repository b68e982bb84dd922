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

TEST(NormalizePhone, StripsPunctuationOfInternationalNumbers) {
  EXPECT_EQ(phone("+1 (555) 123-4567"), "+15551234567");
  EXPECT_EQ(phone("+33 1.23.45.67.89"), "+33123456789");
  EXPECT_EQ(phone(" +49 89/1234-5678 "), "+498912345678");
}

TEST(NormalizePhone, TurnsLeadingDoubleZeroIntoPlus) {
  EXPECT_EQ(phone("0049 89 1234 5678"), "+498912345678");
}

TEST(NormalizePhone, DropsTrunkZeroWrittenAfterCountryCode) {
  EXPECT_EQ(phone("+49 (0)89 1234 5678"), "+498912345678");
  EXPECT_EQ(phone("+44 (0) 20 7946 0958"), "+442079460958");
}

TEST(NormalizePhone, NationalNumberTakesDefaultRegion) {
  EXPECT_EQ(phone("089 1234 5678", "+49"), "+498912345678");
  EXPECT_EQ(phone("(0151) 123 456 78", "+49"), "+4915112345678");
}

TEST(NormalizePhone, NationalNumberWithoutRegionIsRejected) {
  EXPECT_EQ(phone("089 1234 5678"), "<rejected:>");
  EXPECT_EQ(phone("089 1234 5678", "49"), "<rejected:>");  // not a calling code
  EXPECT_EQ(phone("5551234567", "+49"), "<rejected:>");     // no trunk 0 outside NANP
  EXPECT_EQ(phone("5551234567"), "<rejected:>");
}

TEST(NormalizePhone, NorthAmericanNumbersTakePlusOne) {
  EXPECT_EQ(phone("415-256-8563", "+1"), "+14152568563");
  EXPECT_EQ(phone("1 (415) 256 8563", "+1"), "+14152568563");
  EXPECT_EQ(phone("0152568563", "+1"), "<rejected:>");  // area codes never start with 0 or 1
  EXPECT_EQ(phone("415256856", "+1"), "<rejected:>");   // 9 digits
}

TEST(NormalizePhone, EnforcesEightToFifteenDigits) {
  EXPECT_EQ(phone("+4915112"), "<rejected:>");
  EXPECT_EQ(phone("+49151123"), "+49151123");
  EXPECT_EQ(phone("+491511234567890"), "+491511234567890");
  EXPECT_EQ(phone("+4915112345678901"), "<rejected:>");
}

TEST(NormalizePhone, RejectsLettersExtensionsAndStrayPlus) {
  EXPECT_EQ(phone("+49 89 1234 5678 ext 12"), "<rejected:>");
  EXPECT_EQ(phone("call me"), "<rejected:>");
  EXPECT_EQ(phone("49+891234567"), "<rejected:>");
  EXPECT_EQ(phone("++49891234567"), "<rejected:>");
  EXPECT_EQ(phone("+0891234567"), "<rejected:>");
  EXPECT_EQ(phone(""), "<rejected:>");
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
  options.default_region = "+49";
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
