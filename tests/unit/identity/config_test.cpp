#include "identity/config.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "config/identity_types.h"

namespace omniloop::identity {
namespace {

std::string errorOf(std::string_view json) {
  try {
    parseConfig(json);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "<accepted>";
}

TEST(IdentityConfig, DefaultsRankTypesAndMakePhonesAndDevicesWeak) {
  const Config c = defaultConfig();
  std::vector<std::string> order;
  for (const TypeRule& r : c.types) order.push_back(r.type);
  EXPECT_EQ(order, (std::vector<std::string>{"crm_id", "loyalty_id", "email", "phone", "social", "device_id"}));
  EXPECT_EQ(c.rule("crm_id").max_per_profile, 1u);
  EXPECT_EQ(c.rule("email").max_per_profile, 5u);
  EXPECT_FALSE(c.rule("phone").merge);
  EXPECT_FALSE(c.rule("device_id").merge);
  EXPECT_TRUE(c.rule("email").merge);
  EXPECT_TRUE(c.builtin_blocklist);
  EXPECT_TRUE(c.traits.empty());
  // An unlisted type merges, has no limit and ranks after every listed one.
  EXPECT_EQ(c.rule("mastodon").priority, 1000);
  EXPECT_TRUE(c.rule("mastodon").merge);
  EXPECT_EQ(c.rule("mastodon").max_per_profile, 0u);
}

// omniloop.yaml's typo check (config/daemon_config.cpp) knows the built-in types from this list.
TEST(IdentityConfig, BuiltinTypeListMatchesTheDefaults) {
  std::vector<std::string> listed(std::begin(config::kBuiltinIdentityTypes), std::end(config::kBuiltinIdentityTypes));
  std::vector<std::string> defaults;
  for (const TypeRule& r : defaultConfig().types) defaults.push_back(r.type);
  std::sort(listed.begin(), listed.end());
  std::sort(defaults.begin(), defaults.end());
  EXPECT_EQ(listed, defaults);
}

TEST(IdentityConfig, DefaultRegionIsARegionWithANumberingPlan) {
  EXPECT_EQ(parseConfig(R"({"default_region":"de"})").default_region, "DE");
  EXPECT_EQ(parseConfig("{}").default_region, "");
  EXPECT_EQ(errorOf(R"({"default_region":"XX"})"),
            "identity.default_region: must be a two-letter region with a telephone numbering plan, such as DE or US");
  EXPECT_EQ(parseConfig(R"({"types":{"emails":{"custom":true}}})").rule("emails").priority, 1000);
}

TEST(IdentityConfig, EmptyOrNullSectionGivesTheDefaults) {
  for (std::string_view json : {"", "null", "{}"}) {
    const Config c = parseConfig(json);
    EXPECT_EQ(c.types.size(), defaultConfig().types.size()) << json;
  }
}

TEST(IdentityConfig, TypesOverlayTheDefaultsAndResort) {
  const Config c = parseConfig(R"({"types":{"email":{"max_per_profile":1,"priority":1},
      "phone":{"merge":true},"shopify_customer_id":{"priority":2,"max_per_profile":1}}})");
  EXPECT_EQ(c.types[0].type, "crm_id");  // priority 1, name before "email"
  EXPECT_EQ(c.types[1].type, "email");
  EXPECT_EQ(c.types[2].type, "loyalty_id");
  EXPECT_EQ(c.types[3].type, "shopify_customer_id");
  EXPECT_EQ(c.rule("email").max_per_profile, 1u);
  EXPECT_TRUE(c.rule("phone").merge);
  EXPECT_EQ(c.rule("phone").priority, 4);  // kept from the default
}

TEST(IdentityConfig, ParsesTraitsWithFilters) {
  const Config c = parseConfig(R"({"traits":{
      "lifetime_value":{"sum":"order.total","where":{"channel":"pos"}},
      "channels":{"distinct":"$channel"},
      "last_contact_channel":{"last":"$channel"},
      "orders":{"count":"*","where":{"type":["order.placed","order.paid"]}}}})");
  ASSERT_EQ(c.traits.size(), 4u);
  EXPECT_EQ(c.traits[0].name, "lifetime_value");
  EXPECT_EQ(c.traits[0].aggregate, Aggregate::Sum);
  EXPECT_EQ(c.traits[0].field, "order.total");
  EXPECT_EQ(c.traits[0].channels, std::vector<std::string>{"pos"});
  EXPECT_EQ(c.traits[1].aggregate, Aggregate::Distinct);
  EXPECT_EQ(c.traits[2].aggregate, Aggregate::Last);
  EXPECT_EQ(c.traits[3].types, (std::vector<std::string>{"order.placed", "order.paid"}));
}

TEST(IdentityConfig, BlocklistKeepsValuesAsText) {
  const Config c = parseConfig(R"({"blocklist":["test@test.com","0000000000",1234],"builtin_blocklist":false})");
  EXPECT_EQ(c.blocklist, (std::vector<std::string>{"test@test.com", "0000000000", "1234"}));
  EXPECT_FALSE(c.builtin_blocklist);
}

TEST(IdentityConfig, RejectsEachMistakeNamingTheSetting) {
  EXPECT_EQ(errorOf(R"({"types":{"E-mail":{}}})"),
            "identity.types.E-mail: an identity type is lower-case letters, digits and '_', starting with a letter");
  EXPECT_EQ(errorOf(R"({"types":{"email":{"max":1}}})"),
            "identity.types.email.max: unknown setting (use priority, max_per_profile, merge or custom)");
  EXPECT_EQ(errorOf(R"({"types":{"email":{"priority":0}}})"),
            "identity.types.email.priority: must be a whole number from 1 (strongest) upwards");
  EXPECT_EQ(errorOf(R"({"traits":{"ltv":{"where":{"channel":"pos"}}}})"),
            "identity.traits.ltv: needs exactly one of count, sum, min, max, last, distinct (e.g. { sum: order.total })");
  EXPECT_EQ(errorOf(R"({"traits":{"ltv":{"sum":"a","max":"a"}}})"),
            "identity.traits.ltv: needs exactly one of count, sum, min, max, last, distinct (e.g. { sum: order.total })");
  EXPECT_EQ(errorOf(R"({"traits":{"event_count":{"count":"*"}}})"),
            "identity.traits.event_count: is a built-in trait; choose another name");
  EXPECT_EQ(errorOf(R"({"traits":{"ltv":{"sum":"*"}}})"), "identity.traits.ltv.sum: \"*\" only counts events");
  EXPECT_EQ(errorOf(R"({"traits":{"ltv":{"sum":"$occurred_at"}}})").rfind("identity.traits.ltv.sum: must name an event field", 0),
            0u);
  EXPECT_EQ(errorOf(R"({"traits":{"ltv":{"sum":"total","where":{"store":"x"}}}})"),
            "identity.traits.ltv.where.store: unknown filter (use channel and/or type)");
  EXPECT_EQ(errorOf(R"({"colour":1})"),
            "identity.colour: unknown setting (use types, default_region, blocklist, builtin_blocklist, traits, max_distinct)");
  EXPECT_EQ(errorOf(R"({"blocklist":[true]})"), "identity.blocklist: holds values as text (quote numbers: \"0000000000\")");
}

}  // namespace
}  // namespace omniloop::identity
