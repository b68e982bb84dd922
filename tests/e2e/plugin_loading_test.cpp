// Safe plugin loading as an operator meets it through `omniloop plugins`: a plugin file replaced
// between probe and load, and sha256 pins in omniloop.yaml.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "command.h"

using namespace omniloop::testing;
namespace fs = std::filesystem;

namespace {

const std::string kTestPlugins = std::string(OMNILOOP_BINARY_DIR) + "/test-plugins";

std::string testPlugin(const std::string& name) {
  return kTestPlugins + "/" + name + "/test_" + name + ".so";
}

void writeText(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs(text.c_str(), f);
  std::fclose(f);
}

std::string sha256sum(const std::string& file) {
  FILE* p = ::popen(("sha256sum '" + file + "'").c_str(), "r");
  char buf[65] = {};
  const size_t n = p ? std::fread(buf, 1, 64, p) : 0;
  if (p) ::pclose(p);
  return std::string(buf, n);
}

// A plugin directory only this user can write to (mkdtemp makes 0700).
std::string pluginDir(const std::string& tag) {
  const std::string dir = tempDir(tag);
  fs::permissions(dir, fs::perms(0755));
  return dir;
}

}  // namespace

// The probe child of test_swap_on_probe renames a crashing plugin over the file being probed.
// Before, `omniloop plugins` then loaded the path again and died of SIGSEGV (exit 139).
TEST(PluginLoading, PluginsCommandLoadsTheFileItProbedWhenThePathIsSwapped) {
  const std::string dir = pluginDir("swap");
  fs::copy_file(testPlugin("swap_on_probe"), dir + "/swap.so");
  fs::copy_file(testPlugin("crash_on_load"), dir + "/crash.spare");
  auto r =
      runCommand({omniloopBin(), "plugins"},
                 {"OMNILOOP_PLUGIN_PATH=" + dir, "OMNILOOP_TEST_SWAP_FROM=" + dir + "/crash.spare",
                  "OMNILOOP_TEST_SWAP_TO=" + dir + "/swap.so"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_FALSE(fs::exists(dir + "/crash.spare")) << "the probe did not swap the file";
  EXPECT_NE(r.out.find("test.swap_on_probe 1.0.0"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("failed to load"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

TEST(PluginLoading, Sha256PinInTheConfigRefusesAnotherFileWithItsPosition) {
  const std::string dir = pluginDir("pin");
  const std::string good = fs::canonical(testPlugin("good")).string();
  const std::string actual = sha256sum(good);
  const std::string wrong(64, 'c');
  const std::string config = dir + "/omniloop.yaml";
  writeText(config, "store: \"sqlite::memory:\"\nplugin_dirs: [" + kTestPlugins +
                        "/good]\nplugins:\n  test.good:\n    sha256: " + wrong + "\n");
  auto r = runCommand({omniloopBin(), "plugins", "--config", config});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("test.good 1.2.3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  " + good + ": " + config + ":5:13: plugins.test.good.sha256 pins " +
                       wrong + ", but this file's sha256 is " + actual),
            std::string::npos)
      << r.out;

  // The right digest (upper case as some tools print it) loads it; the listing shows it.
  std::string upper = actual;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  writeText(config, "store: \"sqlite::memory:\"\nplugin_dirs: [" + kTestPlugins +
                        "/good]\nplugins:\n  test.good:\n    sha256: " + upper + "\n");
  r = runCommand({omniloopBin(), "plugins", "--config", config});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("test.good 1.2.3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  sha256 " + actual), std::string::npos) << r.out;

  // Not a digest: a config error where it is written.
  writeText(config, "store: \"sqlite::memory:\"\nplugins:\n  test.good:\n    sha256: 12ab\n");
  r = runCommand({omniloopBin(), "plugins", "--config", config});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(config + ":4:13"), std::string::npos) << r.err;
  fs::remove_all(dir);
}

TEST(PluginLoading, GroupWritablePluginDirectoryIsRefusedWithTheReason) {
  const std::string dir = pluginDir("groupdir");
  fs::copy_file(testPlugin("good"), dir + "/good.so");
  fs::permissions(dir, fs::perms(0775));
  auto r = runCommand({omniloopBin(), "plugins"}, {"OMNILOOP_PLUGIN_PATH=" + dir});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("test.good 1.2.3"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(dir + ": refused: the plugin directory is writable by its group (mode "
                             "0775)"),
            std::string::npos)
      << r.out;
  fs::remove_all(dir);
}
