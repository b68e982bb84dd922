// Which plugin components run in a worker process (Runtime::runsIsolated; docs/operations.md,
// "Plugin isolation"): the pipeline's `isolation:` first, then plugin_isolation.mode, with the
// plugins bundled with omniloop following plugin_isolation.bundled.
#include <gtest/gtest.h>

#include "app/runtime.h"

namespace omniloop::app {
namespace {

config::PluginIsolationConfig isolationConfig(const std::string& mode, const std::string& bundled) {
  config::PluginIsolationConfig c;
  c.mode = mode;
  c.bundled = bundled;
  return c;
}

TEST(IsolationPolicy, DefaultsIsolateOtherPluginsAndRunBundledOnesInProcess) {
  const config::PluginIsolationConfig defaults;
  EXPECT_TRUE(Runtime::runsIsolated("", defaults, /*bundled=*/false));
  EXPECT_FALSE(Runtime::runsIsolated("", defaults, /*bundled=*/true));
}

TEST(IsolationPolicy, BundledProcessIsolatesEveryPlugin) {
  const auto c = isolationConfig("process", "process");
  EXPECT_TRUE(Runtime::runsIsolated("", c, true));
  EXPECT_TRUE(Runtime::runsIsolated("", c, false));
}

TEST(IsolationPolicy, ModeInProcessRunsEveryPluginInProcess) {
  const auto c = isolationConfig("in_process", "process");
  EXPECT_FALSE(Runtime::runsIsolated("", c, true));
  EXPECT_FALSE(Runtime::runsIsolated("", c, false));
}

TEST(IsolationPolicy, ThePipelinesIsolationDecidesForAllItsPlugins) {
  const config::PluginIsolationConfig defaults;
  EXPECT_TRUE(Runtime::runsIsolated("process", defaults, true));
  EXPECT_TRUE(Runtime::runsIsolated("process", isolationConfig("in_process", "in_process"), true));
  EXPECT_FALSE(Runtime::runsIsolated("in_process", defaults, false));
  EXPECT_FALSE(Runtime::runsIsolated("in_process", isolationConfig("process", "process"), false));
}

}  // namespace
}  // namespace omniloop::app
