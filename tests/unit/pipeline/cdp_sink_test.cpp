#include "pipeline/sinks/cdp_sink.h"

#include "../store/store_test_util.h"

namespace omniloop::store::testing {
namespace {

TEST(CdpSinkCatalog, RegistersABuiltinSinkWithAnEmptyClosedSchema) {
  config::SimpleCatalog catalog;
  pipeline::registerCdpSink(catalog);
  ASSERT_EQ(catalog.items().size(), 1u);
  const config::ComponentInfo& info = catalog.items()[0];
  EXPECT_EQ(info.type, "cdp");
  EXPECT_EQ(info.kind, config::ComponentKind::Sink);
  EXPECT_EQ(info.provider, "builtin");
  EXPECT_NE(info.schema_json.find("\"additionalProperties\":false"), std::string::npos);
  EXPECT_FALSE(info.description.empty());
}

TEST_F(StoreTest, CdpSinkWritesThroughTheStoreAndCommitsTheCursor) {
  auto store = open();
  auto sink = pipeline::makeCdpSink(*store, "crm-contacts", "crm");
  EXPECT_TRUE(sink->commitsCursor());
  event::Batch b;
  add(b, "1", {{"email", "ann@example.com"}});
  add(b, "2", {{"email", "bob@example.com"}});
  b.cursor = "offset:2";
  ASSERT_TRUE(sink->write(b).isOk());
  EXPECT_TRUE(sink->flush().isOk());
  EXPECT_EQ(store->counts().events, 2u);
  EXPECT_EQ(store->counts().profiles, 2u);
  EXPECT_EQ(store->loadCursor("crm-contacts", "crm"), "offset:2");
}

// phone_country_code: a national number is normalised once per event. The sink reads it with
// the pipeline's calling code and the store keys the E.164 result it carries without
// normalising it again (before, the store normalised the sink's E.164 a second time).
TEST_F(StoreTest, CdpSinkPhoneCountryCodeNormalisesEachPhoneOnce) {
  auto store = open();
  auto sink = pipeline::makeCdpSink(*store, "calls", "pbx", R"({"phone_country_code":"+1"})");
  event::Batch b;
  add(b, "1", {{"phone", "4152568563"}});
  add(b, "2", {{"phone", "(415) 256-8564"}});
  add(b, "3", {{"phone", "415.256.8565"}});
  b.cursor = "3";
  const uint64_t before = privacy::phoneNormalizationsOnThisThread();
  ASSERT_TRUE(sink->write(b).isOk());
  ASSERT_TRUE(sink->flush().isOk());
  EXPECT_EQ(privacy::phoneNormalizationsOnThisThread() - before, 3u);
  EXPECT_EQ(store->counts().events, 3u);
  EXPECT_EQ(store->counts().identities, 3u);
  // Keyed as the E.164 number, exactly as a number written with +1 is.
  const auto first = store->findProfile("phone", "+1 415 256 8563");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(store->findProfile("phone", "+14152568564").has_value(), true);
  EXPECT_EQ(store->findProfile("phone", "+14152568565").has_value(), true);
}

}  // namespace
}  // namespace omniloop::store::testing
