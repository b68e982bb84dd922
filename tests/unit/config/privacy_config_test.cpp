// omniloop.yaml `privacy:`: purposes with their legal basis and TCF ids, the TCF vendor id, and
// positioned errors for what is wrong.
#include <gtest/gtest.h>

#include "config/loader.h"

namespace omniloop::config {
namespace {

std::vector<Diagnostic> privacyErrors(const std::string& yaml) {
  try {
    parseDaemonConfig(yaml, "omniloop.yaml");
  } catch (const ConfigError& e) {
    return e.diagnostics();
  }
  return {};
}

TEST(PrivacyConfig, ReadsPurposesInFileOrderWithTheirMarks) {
  const DaemonConfig c = parseDaemonConfig(
      "privacy:\n"
      "  purposes:\n"
      "    marketing: { basis: consent, tcf: [1, 3, 4] }\n"
      "    analytics: { basis: legitimate_interest, tcf: [7, 9], description: site statistics }\n"
      "    billing: { basis: contract }\n"
      "  tcf: { vendor_id: 755 }\n",
      "omniloop.yaml");
  ASSERT_EQ(c.privacy.purposes.size(), 3U);
  EXPECT_EQ(c.privacy.tcf_vendor_id, 755U);
  EXPECT_EQ(c.privacy.purposes[0].name, "marketing");
  EXPECT_EQ(c.privacy.purposes[0].basis, "consent");
  EXPECT_EQ(c.privacy.purposes[0].tcf, (std::vector<int>{1, 3, 4}));
  EXPECT_EQ(c.privacy.purposes[0].mark.str(), "omniloop.yaml:3:5");
  EXPECT_EQ(c.privacy.purposes[1].basis, "legitimate_interest");
  EXPECT_EQ(c.privacy.purposes[1].description, "site statistics");
  EXPECT_EQ(c.privacy.purposes[2].tcf, std::vector<int>{});
  ASSERT_NE(c.privacy.find("billing"), nullptr);
  EXPECT_EQ(c.privacy.find("sales"), nullptr);
  EXPECT_EQ(c.privacy.names(), (std::vector<std::string>{"marketing", "analytics", "billing"}));
}

TEST(PrivacyConfig, NoSectionMeansNoPurposes) {
  const DaemonConfig c = parseDaemonConfig("store: sqlite:x.db\n", "omniloop.yaml");
  EXPECT_TRUE(c.privacy.purposes.empty());
  EXPECT_EQ(c.privacy.tcf_vendor_id, 0U);
}

TEST(PrivacyConfig, RejectsUnknownBasesTcfIdsAndKeysWithPositions) {
  auto d = privacyErrors("privacy:\n  purposes:\n    marketing: { basis: consnet }\n");
  ASSERT_EQ(d.size(), 1U);
  EXPECT_EQ(d[0].mark.line, 3);
  EXPECT_NE(d[0].message.find("legitimate_interest"), std::string::npos) << d[0].message;

  d = privacyErrors(
      "privacy:\n  purposes:\n    marketing: { basis: consent, tcf: [12] }\n  tcf: { vendor_id: 1 "
      "}\n");
  ASSERT_EQ(d.size(), 1U);
  EXPECT_EQ(d[0].mark.line, 3);

  d = privacyErrors("privacy:\n  purposes:\n    marketing: { tcf: [1] }\n");
  ASSERT_FALSE(d.empty());
  EXPECT_NE(d[0].message.find("basis"), std::string::npos) << d[0].message;

  d = privacyErrors("privacy:\n  purpose: {}\n");
  ASSERT_EQ(d.size(), 1U);
  EXPECT_EQ(d[0].mark.line, 2);
}

TEST(PrivacyConfig, TcfMappedPurposeNeedsTheVendorId) {
  const auto d =
      privacyErrors("privacy:\n  purposes:\n    marketing: { basis: consent, tcf: [1] }\n");
  ASSERT_EQ(d.size(), 1U);
  EXPECT_EQ(d[0].mark.str(), "omniloop.yaml:3:5");
  EXPECT_NE(d[0].message.find("privacy.tcf.vendor_id"), std::string::npos);
  EXPECT_NE(d[0].hint.find("vendor_id"), std::string::npos);
}

}  // namespace
}  // namespace omniloop::config
