// The host API table over event::Batch/Event, called the way a plugin calls it.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "event/event.h"
#include "plugin/host_api.h"

using omniloop::event::Batch;
using omniloop::event::ConsentStatus;
using omniloop::event::Disposition;
using omniloop::event::Event;
using omniloop::event::ValueType;
using omniloop::plugin::AppendLimitScope;
using omniloop::plugin::hostApi;
using omniloop::plugin::HostContext;
using omniloop::plugin::InstanceContext;

namespace {

ol_batch* handle(Batch& b) {
  return reinterpret_cast<ol_batch*>(&b);
}
Event& ev(ol_event* e) {
  return *reinterpret_cast<Event*>(e);
}

void setStr(ol_event* e, std::string path, std::string value) {
  hostApi()->event_set_string(e, path.data(), path.size(), value.data(), value.size());
}

}  // namespace

TEST(HostApi, AnnouncesItsSizeAndVersion) {
  EXPECT_EQ(hostApi()->size, sizeof(ol_host_api));
  EXPECT_EQ(hostApi()->abi_major, OMNILOOP_ABI_MAJOR);
  EXPECT_EQ(hostApi()->abi_minor, OMNILOOP_ABI_MINOR);
}

TEST(HostApi, AppendReturnsNullWhenTheBatchIsFull) {
  Batch batch(2);
  const ol_host_api* api = hostApi();
  EXPECT_NE(api->event_append(handle(batch)), nullptr);
  EXPECT_NE(api->event_append(handle(batch)), nullptr);
  EXPECT_EQ(api->event_append(handle(batch)), nullptr);
  EXPECT_EQ(api->batch_size(handle(batch)), 2u);
  api->event_discard_last(handle(batch));
  EXPECT_EQ(batch.size(), 1u);
}

TEST(HostApi, AppendLimitScopeCapsEventsPerRead) {
  Batch batch(10);
  const ol_host_api* api = hostApi();
  {
    AppendLimitScope limit(1);
    EXPECT_NE(api->event_append(handle(batch)), nullptr);
    EXPECT_EQ(api->event_append(handle(batch)), nullptr);
  }
  EXPECT_NE(api->event_append(handle(batch)), nullptr);  // limit lifted
}

TEST(HostApi, BuilderCopiesPluginStringsIntoTheBatchArena) {
  Batch batch(4);
  const ol_host_api* api = hostApi();
  ol_event* e = api->event_append(handle(batch));
  std::string key = "row-17", path = "customer.name", value = "Ada";
  api->event_set_key(e, key.data(), key.size());
  api->event_set_string(e, path.data(), path.size(), value.data(), value.size());
  // The plugin reuses its buffers: the event must not change.
  key.assign("XXXXXX");
  path.assign("XXXXXXXXXXXXX");
  value.assign("XXX");
  EXPECT_EQ(ev(e).key, "row-17");
  ASSERT_NE(ev(e).find("customer.name"), nullptr);
  EXPECT_EQ(ev(e).find("customer.name")->s, "Ada");
}

TEST(HostApi, SettingAnExistingPathReplacesItsValue) {
  Batch batch(1);
  ol_event* e = hostApi()->event_append(handle(batch));
  setStr(e, "status", "new");
  hostApi()->event_set_int(e, "status", 6, 3);
  ASSERT_EQ(ev(e).fields.size(), 1u);
  EXPECT_EQ(ev(e).fields[0].value.type, ValueType::Int);
  EXPECT_EQ(ev(e).fields[0].value.i, 3);
}

TEST(HostApi, EnvelopeSettersAndReservedPaths) {
  Batch batch(1);
  const ol_host_api* api = hostApi();
  ol_event* e = api->event_append(handle(batch));
  api->event_set_type(e, "call.ended", 10);
  api->event_set_channel(e, "phone", 5);
  api->event_set_time(e, 1234567);
  api->event_add_identity(e, "phone", 5, "+4930123", 8);
  api->event_add_identity(e, "phone", 5, "+4930999", 8);  // replaces
  api->event_set_consent(e, "analytics", 9, "denied", 6);
  setStr(e, "$identities.email", "a@example.com");  // reserved paths work through set_string
  EXPECT_EQ(ev(e).type, "call.ended");
  EXPECT_EQ(ev(e).channel, "phone");
  ASSERT_EQ(ev(e).identities.size(), 2u);
  EXPECT_EQ(ev(e).identity("phone")->value, "+4930999");
  EXPECT_EQ(ev(e).identity("email")->value, "a@example.com");
  EXPECT_EQ(ev(e).consent("analytics"), ConsentStatus::Denied);

  ol_value v;
  ASSERT_EQ(api->event_get(e, "$occurred_at", 12, &v), 1);
  EXPECT_EQ(v.type, static_cast<uint32_t>(OL_INT));
  EXPECT_EQ(v.int_value, 1234567);
  ASSERT_EQ(api->event_get(e, "$consent.analytics", 18, &v), 1);
  EXPECT_EQ(std::string(v.str, v.str_len), "denied");
  EXPECT_EQ(api->event_get(e, "missing", 7, &v), 0);
}

TEST(HostApi, TypedValuesRoundTripThroughGetAndFieldAt) {
  Batch batch(1);
  const ol_host_api* api = hostApi();
  ol_event* e = api->event_append(handle(batch));
  api->event_set_bool(e, "vip", 3, 1);
  api->event_set_double(e, "score", 5, 2.5);
  api->event_set_null(e, "gone", 4);
  api->event_set_json(e, "tags", 4, "[1,2]", 5);
  ASSERT_EQ(api->event_field_count(e), 4u);
  ol_field f;
  ASSERT_EQ(api->event_field_at(e, 1, &f), 1);
  EXPECT_EQ(std::string(f.path, f.path_len), "score");
  EXPECT_EQ(f.value.type, static_cast<uint32_t>(OL_DOUBLE));
  EXPECT_EQ(f.value.double_value, 2.5);
  EXPECT_EQ(api->event_field_at(e, 4, &f), 0);
  ol_value v;
  ASSERT_EQ(api->event_get(e, "tags", 4, &v), 1);
  EXPECT_EQ(v.type, static_cast<uint32_t>(OL_JSON));
  EXPECT_EQ(std::string(v.str, v.str_len), "[1,2]");
  ASSERT_EQ(api->event_get(e, "vip", 3, &v), 1);
  EXPECT_EQ(v.bool_value, 1);
  api->event_remove(e, "vip", 3);
  EXPECT_EQ(api->event_get(e, "vip", 3, &v), 0);
}

TEST(HostApi, DispositionsMapAndElsewhereReadsAsDrop) {
  Batch batch(3);
  const ol_host_api* api = hostApi();
  ol_event* a = api->event_append(handle(batch));
  ol_event* b = api->event_append(handle(batch));
  ol_event* c = api->event_append(handle(batch));
  EXPECT_EQ(api->event_disposition(a), OL_KEEP);
  api->event_set_disposition(a, OL_DEAD_LETTER, "bad row", 7);
  EXPECT_EQ(ev(a).disposition, Disposition::DeadLetter);
  EXPECT_EQ(ev(a).reason, "bad row");
  EXPECT_EQ(api->event_disposition(a), OL_DEAD_LETTER);

  ev(b).disposition = Disposition::Elsewhere;
  EXPECT_EQ(api->event_disposition(b), OL_DROP);
  api->event_set_disposition(b, OL_KEEP, nullptr, 0);  // cannot pull a routed event back
  EXPECT_EQ(ev(b).disposition, Disposition::Elsewhere);

  api->event_dead_letter(c, "a;b;;", 5, "too few columns", 15);
  EXPECT_EQ(ev(c).disposition, Disposition::DeadLetter);
  EXPECT_EQ(ev(c).raw, "a;b;;");
  EXPECT_EQ(ev(c).reason, "too few columns");
}

TEST(HostApi, ToJsonReportsTheFullLengthAndTruncatesToCapacity) {
  Batch batch(1);
  const ol_host_api* api = hostApi();
  ol_event* e = api->event_append(handle(batch));
  setStr(e, "a.b", "x");
  const size_t need = api->event_to_json(e, nullptr, 0);
  ASSERT_GT(need, 10u);
  std::string full(need, '\0');
  EXPECT_EQ(api->event_to_json(e, full.data(), full.size()), need);
  EXPECT_EQ(full.front(), '{');
  EXPECT_EQ(full.back(), '}');
  EXPECT_NE(full.find(R"("a":{"b":"x"})"), std::string::npos);
  char small[4] = {'#', '#', '#', '#'};
  EXPECT_EQ(api->event_to_json(e, small, 3), need);
  EXPECT_EQ(std::string(small, 3), full.substr(0, 3));
  EXPECT_EQ(small[3], '#');  // nothing written past the capacity
}

TEST(HostApi, BatchCursorAndEventAccess) {
  Batch batch(2);
  const ol_host_api* api = hostApi();
  ol_event* e = api->event_append(handle(batch));
  api->batch_set_cursor(handle(batch), "offset=42", 9);
  EXPECT_EQ(batch.cursor, "offset=42");
  EXPECT_EQ(api->batch_event(handle(batch), 0), e);
  EXPECT_EQ(api->batch_event(handle(batch), 1), nullptr);
}

TEST(HostContext, CountersAccumulateAndReachTheCallback) {
  InstanceContext ctx;
  ctx.pipeline = "p";
  ctx.component = "c";
  int64_t forwarded = 0;
  ctx.on_counter = [&](std::string_view name, int64_t delta) {
    if (name == "rows") forwarded += delta;
  };
  HostContext host(std::move(ctx), "vendor.type");
  hostApi()->counter_add(&host, "rows", 4, 2);
  hostApi()->counter_add(&host, "rows", 4, 3);
  hostApi()->log(&host, OL_LOG_DEBUG, "hello", 5);  // must not crash or throw
  EXPECT_EQ(host.counter("rows"), 5);
  EXPECT_EQ(host.counter("other"), 0);
  EXPECT_EQ(forwarded, 5);
}
