// The pure parts of the data subject's rights: durations, retention, identities of a request,
// suppression derivatives (store/subject_rights.h, store/suppressions.h).
#include <gtest/gtest.h>

#include "identity/resolver.h"
#include "privacy/keyed_hasher.h"
#include "store/store.h"
#include "store/subject_rights.h"
#include "store/suppressions.h"

namespace omniloop::store {
namespace {

constexpr int64_t kSecond = 1000000;

TEST(Retention, DurationsInEveryUnit) {
  EXPECT_EQ(*parseDuration("3y"), 3 * 365 * 86400 * kSecond);
  EXPECT_EQ(*parseDuration("400d"), 400 * 86400 * kSecond);
  EXPECT_EQ(*parseDuration("12h"), 12 * 3600 * kSecond);
  EXPECT_EQ(*parseDuration("5m"), 5 * 60 * kSecond);
  EXPECT_EQ(*parseDuration(" 30s "), 30 * kSecond);
  for (const char* bad : {"", "d", "3", "3w", "-3d", "3.5d", "1e3d"})
    EXPECT_FALSE(parseDuration(bad)) << bad;
}

TEST(Retention, PolicyByNameWithDefaultAndDeadLetters) {
  const RetentionPolicy p =
      parseRetention(R"({"default":"3y","call_center":"400d","dead_letters":"30d"})");
  EXPECT_EQ(p.default_us, *parseDuration("3y"));
  EXPECT_EQ(p.dead_letters_us, *parseDuration("30d"));
  ASSERT_EQ(p.by_name.size(), 1u);
  EXPECT_EQ(p.by_name.at("call_center"), *parseDuration("400d"));
  EXPECT_TRUE(parseRetention("").empty());
  try {
    parseRetention(R"({"call_center":"forever"})");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("retention.call_center"), std::string::npos) << e.what();
  }
}

TEST(SubjectIdentity, KnownTypeAndWellFormedValueOnly) {
  const std::vector<std::string> types = {"email", "phone"};
  EXPECT_EQ(parseSubjectIdentity("email:Jane@Example.com", types, {}).type, "email");
  EXPECT_EQ(parseSubjectIdentity("phone:+44 7911 123456", types, {}).value, "+44 7911 123456");
  EXPECT_EQ(parseSubjectIdentity("email:h1:0000:abc", types, {}).value,
            "h1:0000:abc");  // a pseudonym as is
  for (const char* bad : {"email", "email:", ":x", "fax:123", "email:jane", "phone:call me"}) {
    EXPECT_THROW(parseSubjectIdentity(bad, types, {}), std::invalid_argument) << bad;
  }
  try {
    parseSubjectIdentity("email:jane.example.com", types, {});
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("jane"), std::string::npos)
        << "the value was echoed: " << e.what();
  }
}

TEST(Suppressions, DerivativeIsNotThePseudonymAndIsMatched) {
  const privacy::KeyedHasher hasher(std::string(32, 'k')), key(std::string(32, 's'));
  const std::string pseudonym = hasher.pseudonymize("email", "ann@example.com");
  const std::string d = Suppressions::derive(key, "email", pseudonym);
  EXPECT_TRUE(d.starts_with("s1:" + key.keyId() + ":"));
  EXPECT_EQ(d.size(), 3 + 8 + 1 + 64u);
  EXPECT_EQ(d.find(pseudonym.substr(12)), std::string::npos);
  EXPECT_NE(Suppressions::derive(key, "phone", pseudonym), d);     // the type is part of it
  EXPECT_NE(Suppressions::derive(hasher, "email", pseudonym), d);  // so is the key

  Suppressions list(&key);
  EXPECT_TRUE(list.any(std::vector<identity::Key>{{"email", pseudonym}}).empty());
  list.assign({{"email", d}});
  const std::string other = hasher.pseudonymize("email", "bob@example.com");
  EXPECT_EQ(list.any(std::vector<identity::Key>{{"email", other}, {"email", pseudonym}}), "email");
  EXPECT_TRUE(list.any(std::vector<identity::Key>{{"email", other}}).empty());

  Suppressions keyless(nullptr);
  keyless.assign({{"email", d}});
  EXPECT_THROW(keyless.any(std::vector<identity::Key>{{"email", other}}), StoreError);
}

}  // namespace
}  // namespace omniloop::store
