// Identity keying (identity/keyer.h): normalise -> pseudonymise -> storable keys, and a value
// normalised earlier on the event's path is not normalised again.
#include "identity/keyer.h"

#include <gtest/gtest.h>

#include "fixtures.h"

namespace omniloop::identity {
namespace {

using fixtures::germany;
using fixtures::kHasher;

event::Event& addPhone(event::Batch& b, std::string_view key, std::string_view phone) {
  event::Event* e = b.append();
  e->key = b.intern(key);
  e->id = b.intern(event::makeEventId("test", key));
  e->setIdentity("phone", b.intern(phone));
  return *e;
}

TEST(Keyer, KeysAPhoneByItsNormalisedValueWithOneNormalisation) {
  Keyer keyer(&kHasher, germany());
  event::Batch b;
  event::Event& e = addPhone(b, "1", "030 1234567");  // national: read in the default region
  std::vector<Key> keys;
  const uint64_t before = privacy::phoneNormalizationsOnThisThread();
  ASSERT_TRUE(keyer.storableKeys(e, b, keys));
  EXPECT_EQ(privacy::phoneNormalizationsOnThisThread() - before, 1u);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].type, "phone");
  EXPECT_EQ(keys[0].hash, kHasher.pseudonymize("phone", "+49301234567"));
}

// What an earlier component (the cdp sink's phone_country_code) normalised rides on the
// identity: the keyer uses it as it is and normalises nothing. The carried value here differs
// on purpose from what normalising the value would give, so the key shows which one was used.
TEST(Keyer, UsesTheNormalisedValueCarriedOnTheIdentityInsteadOfNormalisingAgain) {
  Keyer keyer(&kHasher, germany());
  event::Batch b;
  event::Event& e = addPhone(b, "1", "+49 30 1234567");
  e.identities[0].setNormalized(b.intern("+49301234599"));
  std::vector<Key> keys;
  const uint64_t before = privacy::phoneNormalizationsOnThisThread();
  ASSERT_TRUE(keyer.storableKeys(e, b, keys));
  EXPECT_EQ(privacy::phoneNormalizationsOnThisThread(), before);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].hash, kHasher.pseudonymize("phone", "+49301234599"));

  // Key rotation pairs reuse it too.
  const privacy::KeyedHasher previous(std::string(32, 'p'));
  keyer.setPrevious(&previous);
  std::vector<Keyer::RotationPair> pairs;
  keyer.rotationPairs(e, b.arena(), pairs);
  EXPECT_EQ(privacy::phoneNormalizationsOnThisThread(), before);
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].current, kHasher.pseudonymize("phone", "+49301234599"));
  EXPECT_EQ(pairs[0].previous, previous.pseudonymize("phone", "+49301234599"));
}

// A stage that replaces the value after it was normalised leaves a stale carried value: the
// keyer sees that it belongs to another value and normalises the new one.
TEST(Keyer, IgnoresACarriedValueOfAReplacedIdentityValue) {
  Keyer keyer(&kHasher, germany());
  event::Batch b;
  event::Event& e = addPhone(b, "1", "+49 30 1234567");
  e.identities[0].setNormalized(b.intern("+49301234567"));
  e.setIdentity("phone", b.intern("+49 30 7654321"));
  std::vector<Key> keys;
  const uint64_t before = privacy::phoneNormalizationsOnThisThread();
  ASSERT_TRUE(keyer.storableKeys(e, b, keys));
  EXPECT_EQ(privacy::phoneNormalizationsOnThisThread() - before, 1u);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].hash, kHasher.pseudonymize("phone", "+49307654321"));
}

// The blocklist judges the carried value like a normalised one.
TEST(Keyer, BlocklistsACarriedValue) {
  Config config = defaultConfig();
  const Blocklist blocklist(config, &kHasher, germany());
  Keyer keyer(&kHasher, germany(), &blocklist);
  event::Batch b;
  event::Event* e = b.append();
  e->id = b.intern(event::makeEventId("test", "1"));
  e->setIdentity("email", b.intern(" NoReply@Shop.Example "));
  e->identities[0].setNormalized(b.intern("noreply@shop.example"));
  std::vector<Key> keys;
  ASSERT_TRUE(keyer.storableKeys(*e, b, keys));
  EXPECT_TRUE(keys.empty());
  EXPECT_EQ(keyer.blocked(), 1u);
}

}  // namespace
}  // namespace omniloop::identity
