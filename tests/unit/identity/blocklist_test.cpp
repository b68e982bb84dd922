#include "identity/blocklist.h"

#include <gtest/gtest.h>

#include "fixtures.h"

namespace omniloop::identity {
namespace {

using fixtures::germany;
using fixtures::kHasher;

// Normalises like the store does, then asks the blocklist.
bool blocked(const Blocklist& b, std::string_view type, std::string_view value) {
  std::string normalized;
  if (!privacy::normalizeIdentity(type, value, normalized, germany())) return false;
  return b.blockedValue(type, normalized);
}

// Whether the value would become an identity at all: normalisable and not blocked.
bool links(const Blocklist& b, std::string_view type, std::string_view value) {
  std::string normalized;
  return privacy::normalizeIdentity(type, value, normalized, germany()) && !b.blockedValue(type, normalized);
}

TEST(Blocklist, BuiltInRulesCatchObviousJunk) {
  const Blocklist b(defaultConfig(), &kHasher, germany());
  EXPECT_TRUE(blocked(b, "email", "Test@Test.com"));
  EXPECT_TRUE(blocked(b, "email", "noreply@shop.example"));
  EXPECT_TRUE(blocked(b, "email", "do-not-reply@bank.example"));
  // Placeholder phone numbers are no valid numbers: normalisation (libphonenumber) refuses
  // them before the blocklist is asked.
  EXPECT_FALSE(links(b, "phone", "0000000000"));
  EXPECT_FALSE(links(b, "phone", "+49 0000000000"));
  EXPECT_FALSE(links(b, "phone", "+49 1234567890"));
  EXPECT_FALSE(links(b, "phone", "+1 555 555 5555"));
  EXPECT_TRUE(blocked(b, "crm_id", "N/A"));
  EXPECT_TRUE(blocked(b, "loyalty_id", "0"));
  EXPECT_TRUE(blocked(b, "mastodon", "unknown"));  // any type, listed or not
}

TEST(Blocklist, RealLookingValuesPass) {
  const Blocklist b(defaultConfig(), &kHasher, germany());
  EXPECT_FALSE(blocked(b, "email", "customer93600@example.com"));
  EXPECT_FALSE(blocked(b, "email", "reply@shop.example"));
  EXPECT_FALSE(blocked(b, "phone", "+491700093600"));
  EXPECT_FALSE(blocked(b, "phone", "+491700000000"));  // zeros, but after a real prefix
  EXPECT_FALSE(blocked(b, "phone", "0151 1234 5678"));
  // Valid numbers whose digits happen to run in sequence are not junk.
  EXPECT_TRUE(links(b, "phone", "+49 30 1234567"));
  EXPECT_TRUE(links(b, "phone", "+1 234 567 8901"));
  EXPECT_TRUE(links(b, "phone", "+49 30 9876543"));
  EXPECT_FALSE(blocked(b, "crm_id", "C-42"));
}

TEST(Blocklist, ConfiguredValuesAreNormalisedPerTypeAndTyped) {
  Config c = defaultConfig();
  c.blocklist = {"Family@Example.org", "loyalty_id:2000000000019", "phone:089 123456"};
  const Blocklist b(c, &kHasher, germany());
  EXPECT_TRUE(blocked(b, "email", "family@example.ORG "));
  EXPECT_TRUE(blocked(b, "loyalty_id", "2000000000019"));
  EXPECT_FALSE(blocked(b, "crm_id", "2000000000019"));  // typed: only loyalty ids
  EXPECT_TRUE(blocked(b, "phone", "+49 89 123456"));
  EXPECT_TRUE(blocked(b, "shopify_customer_id", "Family@Example.org"));  // untyped: any type
}

TEST(Blocklist, PseudonymsHashedUpstreamAreBlockedToo) {
  Config c = defaultConfig();
  c.blocklist = {"loyalty_id:2000000000019"};
  const Blocklist b(c, &kHasher, germany());
  EXPECT_TRUE(b.blockedPseudonym("loyalty_id", kHasher.pseudonymize("loyalty_id", "2000000000019")));
  EXPECT_TRUE(b.blockedPseudonym("email", kHasher.pseudonymize("email", "test@test.com")));
  EXPECT_FALSE(b.blockedPseudonym("email", kHasher.pseudonymize("email", "ann@example.com")));
  const privacy::KeyedHasher other(std::string(32, 'o'));
  EXPECT_FALSE(b.blockedPseudonym("email", other.pseudonymize("email", "test@test.com")));  // another key
}

TEST(Blocklist, BuiltInRulesCanBeSwitchedOff) {
  Config c = defaultConfig();
  c.builtin_blocklist = false;
  const Blocklist b(c, &kHasher, germany());
  EXPECT_FALSE(blocked(b, "email", "test@test.com"));
  EXPECT_FALSE(b.blockedPseudonym("email", kHasher.pseudonymize("email", "test@test.com")));
}

TEST(Blocklist, ATypedValueItsTypeRejectsIsAConfigurationError) {
  Config c = defaultConfig();
  c.blocklist = {"email:not-an-email"};
  try {
    Blocklist b(c, &kHasher, germany());
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "identity.blocklist: 'email:not-an-email' is not a usable email value (it would never match anything)");
  }
}

TEST(Blocklist, DefaultConstructedBlocksNothing) {
  const Blocklist b;
  EXPECT_FALSE(b.blockedValue("email", "test@test.com"));
}

}  // namespace
}  // namespace omniloop::identity
