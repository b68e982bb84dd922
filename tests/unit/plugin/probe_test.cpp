// The handshake rules applied to a descriptor (without any shared library).
#include <gtest/gtest.h>

#include "omniloop/plugin.h"
#include "plugin/probe.h"

using omniloop::plugin::validateDescriptor;

namespace {

int create(const ol_host_api*, void*, const char*, size_t, void**, char*, size_t) {
  return OL_OK;
}
void destroy(void*) {}
int read(void*, ol_batch*, size_t, char*, size_t) {
  return OL_END;
}
int process(void*, ol_batch*, char*, size_t) {
  return OL_OK;
}

ol_component source(const char* type) {
  ol_component c{};
  c.size = sizeof c;
  c.kind = OL_SOURCE;
  c.type = type;
  c.description = "";
  c.config_schema = "{}";
  c.create = create;
  c.destroy = destroy;
  c.read = read;
  return c;
}

ol_plugin_descriptor descriptor(const ol_component* components, size_t n) {
  ol_plugin_descriptor d{};
  d.size = sizeof d;
  d.abi_major = OMNILOOP_ABI_MAJOR;
  d.abi_minor = OMNILOOP_ABI_MINOR;
  d.name = "vendor.plugin";
  d.version = "1.0.0";
  d.component_count = n;
  d.components = components;
  return d;
}

}  // namespace

TEST(ValidateDescriptor, AcceptsAWellFormedPlugin) {
  const ol_component c[] = {source("vendor.src")};
  const auto d = descriptor(c, 1);
  EXPECT_EQ(validateDescriptor(&d), "");
}

TEST(ValidateDescriptor, AcceptsAnOlderMinor) {
  const ol_component c[] = {source("vendor.src")};
  auto d = descriptor(c, 1);
  d.abi_minor = 0;
  EXPECT_EQ(validateDescriptor(&d), "");
}

TEST(ValidateDescriptor, RefusesASourceWithoutRead) {
  ol_component c[] = {source("vendor.src")};
  c[0].read = nullptr;
  const auto d = descriptor(c, 1);
  EXPECT_EQ(validateDescriptor(&d),
            "plugin 'vendor.plugin': component 'vendor.src' (source) has no read callback");
}

TEST(ValidateDescriptor, RefusesAStageWithoutProcess) {
  ol_component c[] = {source("vendor.stage")};
  c[0].kind = OL_STAGE;
  const auto d = descriptor(c, 1);
  EXPECT_EQ(validateDescriptor(&d),
            "plugin 'vendor.plugin': component 'vendor.stage' (stage) has no process callback");
  c[0].process = process;
  EXPECT_EQ(validateDescriptor(&d), "");
}

TEST(ValidateDescriptor, RefusesDuplicateTypesOfOneKind) {
  const ol_component c[] = {source("vendor.src"), source("vendor.src")};
  const auto d = descriptor(c, 2);
  EXPECT_EQ(validateDescriptor(&d),
            "plugin 'vendor.plugin': source type 'vendor.src' is listed twice");
}

TEST(ValidateDescriptor, RefusesBadNamesAndSizes) {
  ol_component c[] = {source("has space")};
  auto d = descriptor(c, 1);
  EXPECT_EQ(validateDescriptor(&d),
            "plugin 'vendor.plugin': component type 'has space' is not a valid type name (use "
            "letters, digits, '.', '_', '-')");
  c[0] = source("");
  EXPECT_EQ(validateDescriptor(&d), "plugin 'vendor.plugin': component #0 has no type name");
  c[0] = source("ok");
  c[0].size = 16;
  EXPECT_EQ(validateDescriptor(&d),
            "plugin 'vendor.plugin': component #0: size 16 is smaller than the ABI " +
                std::to_string(OMNILOOP_ABI_MAJOR) + ".0 component (" +
                std::to_string(sizeof(ol_component)) + " bytes)");
  c[0] = source("ok");
  d.version = "";
  EXPECT_EQ(validateDescriptor(&d), "plugin 'vendor.plugin' has no version");
  d.version = "1.0.0";
  d.component_count = 0;
  EXPECT_EQ(validateDescriptor(&d), "plugin 'vendor.plugin' provides no components");
  d.component_count = 1;
  d.size = 4;
  EXPECT_EQ(validateDescriptor(&d), "descriptor size 4 is too small to hold an ABI version");
}
