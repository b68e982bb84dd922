// omniloop.yaml: defaults, validation with hints, relative paths and the environment override.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/identity_types.h"
#include "config/loader.h"

namespace omniloop::config {
namespace {

// Keeps OMNILOOP_STORE out of (or in) a test's way and restores it afterwards.
class StoreEnv {
 public:
  explicit StoreEnv(const char* value) {
    if (const char* old = std::getenv("OMNILOOP_STORE")) saved_ = old, had_ = true;
    if (value) {
      setenv("OMNILOOP_STORE", value, 1);
    } else {
      unsetenv("OMNILOOP_STORE");
    }
  }
  ~StoreEnv() {
    if (had_) {
      setenv("OMNILOOP_STORE", saved_.c_str(), 1);
    } else {
      unsetenv("OMNILOOP_STORE");
    }
  }

 private:
  std::string saved_;
  bool had_ = false;
};

std::vector<Diagnostic> errorsOf(const std::string& yaml) {
  try {
    parseDaemonConfig(yaml, "/etc/omniloop/omniloop.yaml");
  } catch (const ConfigError& e) {
    return e.diagnostics();
  }
  ADD_FAILURE() << "expected a ConfigError for:\n" << yaml;
  return {};
}

// Found by fuzzing (tests/fuzz/pipeline_yaml_fuzz.cpp): a byte that is not UTF-8 in a file with
// an identity: section escaped as std::invalid_argument ("invalid JSON: The input is not valid
// UTF-8"), naming neither the file nor the line.
TEST(DaemonConfig, BytesThatAreNotUtf8AreAnErrorAtTheirPosition) {
  const auto errors = errorsOf(
      "store: sqlite:x.db\nvault_key_file: ab\xa8\xa8.key\nidentity:\n  traits:\n"
      "    orders: { count: \"*\", where: { type: order.placed } }\n");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].mark.line, 2);
  EXPECT_EQ(errors[0].mark.column, 19);
  EXPECT_NE(errors[0].message.find("not valid UTF-8 (byte 0xA8)"), std::string::npos)
      << errors[0].message;
  // Well-formed multi-byte text is fine; a sequence cut off at the end of the file is not.
  EXPECT_NO_THROW(parseDaemonConfig("log: {file: \"f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80.log\"}\n",
                                    "/etc/omniloop/omniloop.yaml"));
  EXPECT_EQ(errorsOf("store: sqlite:x\xe2\x82").at(0).mark.column, 16);
}

TEST(DaemonConfig, EmptyFileGivesDefaults) {
  StoreEnv env(nullptr);
  const DaemonConfig cfg = parseDaemonConfig("# all defaults\n", "/etc/omniloop/omniloop.yaml");
  EXPECT_EQ(cfg.file, "/etc/omniloop/omniloop.yaml");
  EXPECT_EQ(cfg.store, "sqlite:var/omniloop.db");
  EXPECT_TRUE(cfg.plugin_dirs.empty());
  EXPECT_EQ(cfg.log.level, "info");
  EXPECT_EQ(cfg.log.format, "text");
  EXPECT_EQ(cfg.admin.listen, "127.0.0.1:8686");
  EXPECT_TRUE(cfg.admin.token_file.empty());
  EXPECT_EQ(cfg.group_commit_events, 131072u);
  EXPECT_EQ(cfg.group_commit_ms, 2000);
}

TEST(DaemonConfig, GroupCommitBoundsAreReadAndChecked) {
  const DaemonConfig cfg =
      parseDaemonConfig("group_commit: { max_events: 4000, max_ms: 0 }\n", "/etc/omniloop/omniloop.yaml");
  EXPECT_EQ(cfg.group_commit_events, 4000u);
  EXPECT_EQ(cfg.group_commit_ms, 0);
  const auto diags = errorsOf("group_commit:\n  max_events: 0\n  max_seconds: 2\n");
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0].mark.line, 2);
  EXPECT_NE(diags[0].message.find("group_commit.max_events"), std::string::npos) << diags[0].message;
  EXPECT_EQ(diags[1].message, "unknown key 'max_seconds' in 'group_commit'");
}

TEST(DaemonConfig, PluginSha256PinsAreReadWithTheirPositions) {
  const std::string digest = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
  const DaemonConfig cfg = parseDaemonConfig(
      "plugins:\n  omniloop.files:\n    sha256: " + digest + "\n  com.vendor.crm: {}\n",
      "/etc/omniloop/omniloop.yaml");
  ASSERT_EQ(cfg.plugin_pins.size(), 1u);  // a plugin without a sha256 is not pinned
  EXPECT_EQ(cfg.plugin_pins[0].name, "omniloop.files");
  EXPECT_EQ(cfg.plugin_pins[0].sha256,
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  EXPECT_EQ(cfg.plugin_pins[0].mark.str(), "/etc/omniloop/omniloop.yaml:3:13");

  const auto diags = errorsOf("plugins:\n  x:\n    sha256: abc\n    md5: def\n");
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0].mark.line, 3);
  EXPECT_NE(diags[0].hint.find("sha256sum"), std::string::npos) << diags[0].hint;
  EXPECT_EQ(diags[1].message, "unknown key 'md5' in 'plugins.x'");
}

TEST(DaemonConfig, AdminLimitsAndAllowInsecureAreReadAndChecked) {
  const DaemonConfig defaults = parseDaemonConfig("{}\n", "/etc/omniloop/omniloop.yaml");
  EXPECT_FALSE(defaults.admin.allow_insecure);
  EXPECT_EQ(defaults.admin.request_timeout_seconds, 10);
  EXPECT_EQ(defaults.admin.max_connections, 256);
  EXPECT_EQ(defaults.admin.max_connections_per_client, 32);
  const DaemonConfig cfg = parseDaemonConfig(
      "admin: { allow_insecure: true, request_timeout_seconds: 3, max_connections: 50, "
      "max_connections_per_client: 5 }\n",
      "/etc/omniloop/omniloop.yaml");
  EXPECT_TRUE(cfg.admin.allow_insecure);
  EXPECT_EQ(cfg.admin.request_timeout_seconds, 3);
  EXPECT_EQ(cfg.admin.max_connections, 50);
  EXPECT_EQ(cfg.admin.max_connections_per_client, 5);
  const auto diags = errorsOf(
      "admin:\n  request_timeout_seconds: 0\n  max_connections: -1\n  allow_insecure: yes please\n");
  ASSERT_EQ(diags.size(), 3u);
  EXPECT_EQ(diags[0].mark.line, 2);
  EXPECT_NE(diags[0].message.find("admin.request_timeout_seconds"), std::string::npos) << diags[0].message;
}

TEST(DaemonConfig, StoreCacheBoundsAreReadAndChecked) {
  const DaemonConfig defaults =
      parseDaemonConfig("log: { level: info }\n", "/etc/omniloop/omniloop.yaml");
  // 0: each backend's own default (store::StoreOptions::cacheProfiles).
  EXPECT_EQ(defaults.store_cache_profiles, 0u);
  EXPECT_EQ(defaults.store_cache_sqlite_mib, 160);
  const DaemonConfig cfg = parseDaemonConfig("store_cache: { profiles: 200000, sqlite_mib: 32 }\n",
                                             "/etc/omniloop/omniloop.yaml");
  EXPECT_EQ(cfg.store_cache_profiles, 200000u);
  EXPECT_EQ(cfg.store_cache_sqlite_mib, 32);
  const auto diags = errorsOf("store_cache:\n  profiles: 10\n  identities: 2\n");
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0].mark.line, 2);
  EXPECT_NE(diags[0].message.find("store_cache.profiles"), std::string::npos) << diags[0].message;
  EXPECT_EQ(diags[1].message, "unknown key 'identities' in 'store_cache'");
}

TEST(DaemonConfig, RelativePathsResolveAgainstTheFilesDirectory) {
  StoreEnv env(nullptr);
  const DaemonConfig cfg = parseDaemonConfig(
      "store: sqlite:../../var/quickstart.db\n"
      "plugin_dirs: [plugins, /opt/omniloop/plugins]\n"
      "key_file: ../keys/hmac.key\n"
      "pipelines_dir: pipelines.d\n"
      "log: { level: debug, format: json, file: log/omniloop.log }\n"
      "admin: { listen: '0.0.0.0:9000', token_file: ./admin.token }\n",
      "/etc/omniloop/omniloop.yaml");
  EXPECT_EQ(cfg.store, "sqlite:/var/quickstart.db");
  EXPECT_EQ(cfg.plugin_dirs,
            (std::vector<std::string>{"/etc/omniloop/plugins", "/opt/omniloop/plugins"}));
  EXPECT_EQ(cfg.key_file, "/etc/keys/hmac.key");
  EXPECT_EQ(cfg.pipelines_dir, "/etc/omniloop/pipelines.d");
  EXPECT_EQ(cfg.log.level, "debug");
  EXPECT_EQ(cfg.log.format, "json");
  EXPECT_EQ(cfg.log.file, "/etc/omniloop/log/omniloop.log");
  EXPECT_EQ(cfg.admin.listen, "0.0.0.0:9000");
  EXPECT_EQ(cfg.admin.token_file, "/etc/omniloop/admin.token");
}

TEST(DaemonConfig, StoresThatAreNotRelativeFilesAreLeftAlone) {
  StoreEnv env(nullptr);
  for (const char* store : {"sqlite:/srv/cdp.db", "sqlite::memory:", "postgresql://cdp@db/cdp"}) {
    EXPECT_EQ(
        parseDaemonConfig(std::string("store: '") + store + "'\n", "/etc/o/omniloop.yaml").store,
        store);
  }
}

TEST(DaemonConfig, SinglePluginDirMayBeWrittenAsText) {
  StoreEnv env(nullptr);
  const DaemonConfig cfg = parseDaemonConfig("plugin_dirs: plugins\n", "/etc/o/omniloop.yaml");
  EXPECT_EQ(cfg.plugin_dirs, (std::vector<std::string>{"/etc/o/plugins"}));
}

TEST(DaemonConfig, LoadFromFileResolvesAgainstThatFile) {
  StoreEnv env(nullptr);
  const std::filesystem::path dir =
      std::filesystem::path(OMNILOOP_BINARY_DIR) / "test-data" / "config_test" / "etc";
  std::filesystem::create_directories(dir);
  const std::filesystem::path file = dir / "omniloop.yaml";
  {
    std::ofstream out(file);
    out << "store: sqlite:data/cdp.db\nkey_file: hmac.key\n";
  }
  const DaemonConfig cfg = loadDaemonConfig(file.string());
  const std::string abs_dir = std::filesystem::absolute(dir).lexically_normal().string();
  EXPECT_EQ(cfg.store, "sqlite:" + abs_dir + "/data/cdp.db");
  EXPECT_EQ(cfg.key_file, abs_dir + "/hmac.key");
  EXPECT_THROW(loadDaemonConfig((dir / "missing.yaml").string()), ConfigError);
}

TEST(DaemonConfig, EnvironmentOverridesTheStore) {
  StoreEnv env("sqlite:/tmp/override.db");
  EXPECT_EQ(parseDaemonConfig("store: sqlite:x.db\n", "/etc/o/omniloop.yaml").store,
            "sqlite:/tmp/override.db");
  EXPECT_EQ(parseDaemonConfig("", "").store, "sqlite:/tmp/override.db");
}

TEST(DaemonConfig, UnknownKeySuggestsTheRightOne) {
  const auto diags = errorsOf("store: sqlite:x.db\nplugins_dir: [a]\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "unknown key 'plugins_dir'");
  EXPECT_EQ(diags[0].mark.file, "/etc/omniloop/omniloop.yaml");
  EXPECT_EQ(diags[0].mark.line, 2);
  EXPECT_EQ(diags[0].mark.column, 1);
  EXPECT_EQ(diags[0].hint, "did you mean 'plugin_dirs'?");
}

TEST(DaemonConfig, BadValuesAreAllReported) {
  const auto diags = errorsOf(
      "log:\n  level: verbose\n  format: xml\n  colour: true\n"
      "admin: { listen: localhost }\n");
  ASSERT_EQ(diags.size(), 4u);
  EXPECT_EQ(diags[0].message,
            "'log.level' must be one of trace, debug, info, warn, error, not \"verbose\"");
  EXPECT_EQ(diags[0].mark.line, 2);
  EXPECT_EQ(diags[0].mark.column, 10);
  EXPECT_EQ(diags[1].message, "'log.format' must be one of text, json, not \"xml\"");
  EXPECT_EQ(diags[2].message, "unknown key 'colour' in 'log'");
  EXPECT_EQ(diags[2].hint, "known keys: level, format, file");
  EXPECT_EQ(diags[3].mark.line, 5);
  EXPECT_EQ(diags[3].hint, "write host:port, e.g. 127.0.0.1:8686");
}

// A typo in an identity type used to declare a new type and silently lose the guard.
TEST(DaemonConfig, MisspeltIdentityTypeIsAnErrorWithItsPositionAndAHint) {
  const auto diags = errorsOf(
      "identity:\n"
      "  types:\n"
      "    emial: { max_per_profile: 1 }\n"
      "    crm_id: { priority: 1 }\n"
      "    shopify_customer_id: { priority: 2 }\n"
      "    phone_2: { merge: false, custom: true }\n"
      "  blocklist: [ \"walkin@example.com\", \"loyality_id:2000000000019\", \"shopify_customer_id:0\" ]\n");
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0].mark.file, "/etc/omniloop/omniloop.yaml");
  EXPECT_EQ(diags[0].mark.line, 3);
  EXPECT_EQ(diags[0].mark.column, 5);
  EXPECT_NE(diags[0].message.find("unknown identity type 'emial'"), std::string::npos) << diags[0].message;
  EXPECT_EQ(diags[0].hint.rfind("did you mean 'email'?", 0), 0u) << diags[0].hint;
  EXPECT_NE(diags[0].hint.find("custom: true"), std::string::npos);
  EXPECT_EQ(diags[1].mark.line, 7);
  EXPECT_EQ(diags[1].mark.column, 38);
  EXPECT_NE(diags[1].message.find("'loyality_id:...' names no identity type"), std::string::npos)
      << diags[1].message;
  EXPECT_EQ(diags[1].hint.rfind("did you mean 'loyalty_id'?", 0), 0u) << diags[1].hint;
}

TEST(DaemonConfig, NewIdentityTypesAndDefaultRegionAreAccepted) {
  const DaemonConfig c = parseDaemonConfig(
      "identity:\n  default_region: DE\n  types: { shopify_customer_id: { priority: 2 }, emails: { custom: true } }\n"
      "  blocklist: [ \"emails:x@y.z\", \"n/a\" ]\n",
      "omniloop.yaml");
  EXPECT_NE(c.identity_json.find("\"default_region\":\"DE\""), std::string::npos) << c.identity_json;
  const auto diags = errorsOf("identity: { default_region: Germany }\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].mark.line, 1);
}

TEST(DaemonConfig, SyntaxErrorHasItsPosition) {
  const auto diags = errorsOf("store: x\nlog: [info\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message.rfind("invalid YAML: ", 0), 0u);
  EXPECT_GE(diags[0].mark.line, 2);
}

}  // namespace
}  // namespace omniloop::config
