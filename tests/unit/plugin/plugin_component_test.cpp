// PluginSource/Stage/Sink over raw C callbacks: status mapping, messages, instance lifetime.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "event/event.h"
#include "plugin/plugin_component.h"

using omniloop::event::Batch;
using omniloop::pipeline::Status;
using omniloop::plugin::HostContext;
using omniloop::plugin::InstanceContext;
using omniloop::plugin::PluginInstance;
using omniloop::plugin::PluginSink;
using omniloop::plugin::PluginSource;
using omniloop::plugin::PluginStage;

namespace {

// What the fake plugin returns next, and what it saw.
struct Fake {
  int status = OL_OK;
  std::string message;
  bool fill_buffer_unterminated = false;
  int resumed = 0;
  int destroyed = 0;
};
Fake g_fake;

int fakeCall(char* err, size_t cap) {
  if (g_fake.fill_buffer_unterminated) {
    std::memset(err, 'e', cap);  // no NUL anywhere
  } else {
    std::snprintf(err, cap, "%s", g_fake.message.c_str());
  }
  return g_fake.status;
}
int create(const ol_host_api*, void*, const char*, size_t, void** i, char*, size_t) {
  *i = &g_fake;
  return OL_OK;
}
void destroy(void* i) {
  static_cast<Fake*>(i)->destroyed++;
}
int resume(void*, const char*, size_t, char* err, size_t cap) {
  g_fake.resumed++;
  return fakeCall(err, cap);
}
int read(void*, ol_batch*, size_t, char* err, size_t cap) {
  return fakeCall(err, cap);
}
int process(void*, ol_batch*, char* err, size_t cap) {
  return fakeCall(err, cap);
}
int write(void*, ol_batch*, char* err, size_t cap) {
  return fakeCall(err, cap);
}

ol_component component() {
  ol_component c{};
  c.size = sizeof c;
  c.kind = OL_SOURCE;
  c.type = "fake.type";
  c.create = create;
  c.destroy = destroy;
  c.resume = resume;
  c.read = read;
  c.process = process;
  c.write = write;
  return c;
}
const ol_component kComponent = component();

std::unique_ptr<PluginInstance> instance() {
  g_fake = Fake{};
  return std::make_unique<PluginInstance>(
      &kComponent, &g_fake, std::make_unique<HostContext>(InstanceContext{}, "fake.type"));
}

}  // namespace

TEST(PluginComponent, MapsEveryStatusOfARead) {
  PluginSource source(instance());
  Batch batch(1);
  const std::pair<int, Status> cases[] = {{OL_OK, Status::Ok},       {OL_END, Status::End},
                                          {OL_IDLE, Status::Idle},   {OL_RETRY, Status::Retry},
                                          {OL_ERROR, Status::Error}, {99, Status::Error}};
  for (const auto& [raw, expected] : cases) {
    g_fake.status = raw;
    EXPECT_EQ(source.read(batch, 1).status, expected) << raw;
  }
}

TEST(PluginComponent, ErrorCarriesThePluginMessageOrSaysThereWasNone) {
  PluginSource source(instance());
  Batch batch(1);
  g_fake.status = OL_RETRY;
  g_fake.message = "database locked";
  EXPECT_EQ(source.read(batch, 1).message, "database locked");
  g_fake.message.clear();
  g_fake.status = OL_ERROR;
  EXPECT_EQ(source.read(batch, 1).message,
            "plugin component 'fake.type' read failed without a message");
  g_fake.status = 99;
  g_fake.message = "huh";
  EXPECT_EQ(source.read(batch, 1).message,
            "plugin component 'fake.type' read returned unknown status 99: huh");
}

TEST(PluginComponent, UnterminatedErrorBufferIsCutAtItsCapacity) {
  PluginStage stage(instance());
  Batch batch(1);
  g_fake.status = OL_ERROR;
  g_fake.fill_buffer_unterminated = true;
  const auto r = stage.process(batch);
  EXPECT_EQ(r.status, Status::Error);
  EXPECT_EQ(r.message, std::string(omniloop::plugin::kErrorBufferSize - 1, 'e'));
}

TEST(PluginComponent, EndOrIdleOutsideAReadIsAnError) {
  PluginStage stage(instance());
  Batch batch(1);
  g_fake.status = OL_END;
  const auto r = stage.process(batch);
  EXPECT_EQ(r.status, Status::Error);
  EXPECT_EQ(r.message,
            "plugin component 'fake.type' process returned end, which only a source's read may "
            "return");
  PluginSink sink(instance());
  g_fake.status = OL_IDLE;
  EXPECT_EQ(sink.write(batch).status, Status::Error);
  EXPECT_TRUE(sink.flush().isOk());  // no flush callback: nothing to do
}

TEST(PluginComponent, EmptyCursorMeansStartAndSkipsResume) {
  PluginSource source(instance());
  EXPECT_TRUE(source.resume("").isOk());
  EXPECT_EQ(g_fake.resumed, 0);
  EXPECT_TRUE(source.resume("42").isOk());
  EXPECT_EQ(g_fake.resumed, 1);
}

TEST(PluginComponent, DestroysTheInstanceExactlyOnce) {
  {
    PluginSink sink(instance());
    EXPECT_EQ(g_fake.destroyed, 0);
  }
  EXPECT_EQ(g_fake.destroyed, 1);
}
