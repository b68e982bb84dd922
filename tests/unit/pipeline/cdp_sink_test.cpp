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

}  // namespace
}  // namespace omniloop::store::testing
