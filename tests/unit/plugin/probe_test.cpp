// The handshake rules applied to a descriptor (without any shared library).
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "omniloop/plugin.h"
#include "plugin/probe.h"

using omniloop::plugin::componentStride;
using omniloop::plugin::personalFields;
using omniloop::plugin::readComponent;
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
                std::to_string(OL_COMPONENT_SIZE_1_0) + " bytes)");
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

// A component table as a plugin built against ABI 1.0 lays it out: entries of the 1.0 size,
// packed one after the other. The host must step by that size, not its own sizeof.
TEST(ReadComponent, StepsThroughAnAbi10TableByTheDeclaredSize) {
  constexpr size_t k10 = OL_COMPONENT_SIZE_1_0;
  static_assert(k10 < sizeof(ol_component), "ABI 1.1 grew ol_component");
  alignas(ol_component) unsigned char table[3 * k10];
  const char* types[] = {"old.a", "old.b", "old.c"};
  for (size_t i = 0; i < 3; ++i) {
    ol_component c = source(types[i]);
    c.size = static_cast<uint32_t>(k10);
    std::memcpy(table + i * k10, &c, k10);  // only the 1.0 prefix exists in the plugin
  }
  // What follows the last entry is not the plugin's: make it garbage a wrong read would show.
  auto d = descriptor(reinterpret_cast<const ol_component*>(table), 3);
  d.abi_minor = 0;
  EXPECT_EQ(componentStride(&d), k10);
  EXPECT_EQ(validateDescriptor(&d), "");
  for (size_t i = 0; i < 3; ++i) {
    const ol_component c = readComponent(&d, i);
    EXPECT_STREQ(c.type, types[i]);
    EXPECT_EQ(c.kind, static_cast<uint32_t>(OL_SOURCE));
    EXPECT_TRUE(c.create != nullptr && c.destroy != nullptr && c.read != nullptr);
    EXPECT_EQ(c.personal_fields, nullptr);  // not in 1.0: reads as absent
    EXPECT_EQ(c.personal_field_count, 0u);
    EXPECT_TRUE(personalFields(c).empty());
  }
}

TEST(ReadComponent, ReadsTheDeclaredPersonalFields) {
  static const char* const fields[] = {"first_name", "customer.email"};
  ol_component c[] = {source("crm.contacts"), source("crm.other")};
  c[0].personal_fields = fields;
  c[0].personal_field_count = 2;
  const auto d = descriptor(c, 2);
  EXPECT_EQ(validateDescriptor(&d), "");
  EXPECT_EQ(personalFields(readComponent(&d, 0)),
            (std::vector<std::string>{"first_name", "customer.email"}));
  EXPECT_TRUE(personalFields(readComponent(&d, 1)).empty());
}

TEST(ReadComponent, RefusesMalformedPersonalFieldsAndMixedSizes) {
  static const char* const fields[] = {"first_name", ""};
  ol_component c[] = {source("crm.contacts"), source("crm.other")};
  c[0].personal_fields = fields;
  c[0].personal_field_count = 2;
  auto d = descriptor(c, 2);
  EXPECT_EQ(validateDescriptor(&d),
            "plugin 'vendor.plugin': component 'crm.contacts' (source): personal field #1 is "
            "empty");
  c[0].personal_fields = nullptr;
  EXPECT_EQ(validateDescriptor(&d),
            "plugin 'vendor.plugin': component 'crm.contacts' (source) declares 2 personal "
            "fields but no array");
  c[0].personal_field_count = 0;
  c[1].size = static_cast<uint32_t>(OL_COMPONENT_SIZE_1_0);
  EXPECT_EQ(validateDescriptor(&d),
            "plugin 'vendor.plugin': component #1 has size " +
                std::to_string(OL_COMPONENT_SIZE_1_0) + " but component #0 has size " +
                std::to_string(sizeof(ol_component)) +
                " (every entry of the table must be a sizeof(ol_component))");
}
