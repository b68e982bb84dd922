// The plugin host against real shared libraries: every broken plugin is refused with its exact
// reason while the test process keeps running, and a good plugin works end to end through the
// pipeline wrappers.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/catalog.h"
#include "event/event.h"
#include "plugin/plugin_component.h"
#include "plugin/probe.h"
#include "plugin/registry.h"

namespace fs = std::filesystem;
using omniloop::config::ComponentKind;
using omniloop::event::Batch;
using omniloop::event::Disposition;
using omniloop::event::Value;
using omniloop::event::ValueType;
using omniloop::pipeline::Status;
using omniloop::plugin::InstanceContext;
using omniloop::plugin::LoadError;
using omniloop::plugin::PluginSink;
using omniloop::plugin::PluginSource;
using omniloop::plugin::Registry;

namespace {

const std::string kRoot = OMNILOOP_TEST_PLUGIN_DIR;
const std::string kHostAbi =
    std::to_string(OMNILOOP_ABI_MAJOR) + "." + std::to_string(OMNILOOP_ABI_MINOR);

std::string caseDir(const std::string& name) {
  return kRoot + "/" + name;
}
std::string caseFile(const std::string& name) {
  return fs::canonical(caseDir(name) + "/test_" + name + ".so").string();
}

// Scans one case directory and returns its single refusal.
LoadError refusal(const std::string& name) {
  Registry registry;
  registry.scanDirectory(caseDir(name));
  EXPECT_TRUE(registry.plugins().empty());
  EXPECT_EQ(registry.errors().size(), 1u);
  if (registry.errors().empty()) return {};
  return registry.errors().front();
}

InstanceContext context(const std::string& component) {
  InstanceContext ctx;
  ctx.pipeline = "host-test";
  ctx.component = component;
  return ctx;
}

std::string text(const Batch& batch, size_t i, const std::string& path) {
  Value v;
  if (!omniloop::event::getPath(batch[i], path, v)) return "<absent>";
  return v.toText();
}

class GoodPlugin : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.scanDirectory(caseDir("good"));
    registry_.scanDirectory(caseDir("create_throws"));
    registry_.scanDirectory(caseDir("bad_config"));
    ASSERT_TRUE(registry_.errors().empty()) << registry_.errors().front().reason;
    ASSERT_EQ(registry_.plugins().size(), 3u);
  }
  Registry registry_;
};

}  // namespace

TEST(PluginHost, ReportsMissingEntryPoint) {
  const LoadError e = refusal("no_entry");
  EXPECT_EQ(e.path, caseFile("no_entry"));
  EXPECT_EQ(e.reason,
            "missing entry point 'omniloop_plugin_entry' (build the plugin with OMNILOOP_PLUGIN "
            "or export the symbol with OMNILOOP_EXPORT)");
}

TEST(PluginHost, RefusesOtherAbiMajorNamingBothVersions) {
  EXPECT_EQ(refusal("abi_major").reason, "plugin ABI 2.0, host ABI " + kHostAbi +
                                             ": rebuild the plugin against omniloop SDK " +
                                             std::to_string(OMNILOOP_ABI_MAJOR) + ".x");
}

TEST(PluginHost, RefusesNewerAbiMinorNamingBothVersions) {
  const std::string plugin_abi =
      std::to_string(OMNILOOP_ABI_MAJOR) + "." + std::to_string(OMNILOOP_ABI_MINOR + 1);
  EXPECT_EQ(refusal("abi_minor").reason, "plugin ABI " + plugin_abi + ", host ABI " + kHostAbi +
                                             ": rebuild the plugin against omniloop SDK " +
                                             kHostAbi + " or upgrade omniloop");
}

TEST(PluginHost, ReportsNullDescriptor) {
  EXPECT_EQ(refusal("null_descriptor").reason,
            "entry point returned no descriptor (the plugin refuses host ABI " + kHostAbi + ")");
}

TEST(PluginHost, ReportsDescriptorSmallerThanAbiStruct) {
  EXPECT_EQ(refusal("small_descriptor").reason,
            "descriptor size 8 is smaller than the ABI " + std::to_string(OMNILOOP_ABI_MAJOR) +
                ".0 descriptor (" + std::to_string(sizeof(ol_plugin_descriptor)) + " bytes)");
}

TEST(PluginHost, ReportsMissingPluginName) {
  EXPECT_EQ(refusal("no_name").reason, "descriptor has no plugin name");
}

TEST(PluginHost, ReportsNonElfFileWithTheLoaderError) {
  Registry registry;
  registry.scanDirectory(caseDir("junk"));
  ASSERT_EQ(registry.errors().size(), 1u);
  const std::string junk = fs::canonical(caseDir("junk") + "/junk.so").string();
  EXPECT_EQ(registry.errors()[0].path, junk);
  EXPECT_EQ(registry.errors()[0].reason, "cannot load: " + junk + ": invalid ELF header");
}

TEST(PluginHost, SurvivesPluginThatCrashesWhileLoading) {
  Registry registry;
  registry.scanDirectory(caseDir("crash_on_load"));
  registry.scanDirectory(caseDir("good"));  // this process is alive and still loads plugins
  ASSERT_EQ(registry.errors().size(), 1u);
  EXPECT_EQ(registry.errors()[0].path, caseFile("crash_on_load"));
  EXPECT_EQ(registry.errors()[0].reason, "crashed while loading (signal 11)");
  ASSERT_EQ(registry.plugins().size(), 1u);
  EXPECT_EQ(registry.plugins()[0].name, "test.good");
}

TEST(PluginHost, ProbeGivesUpOnPluginThatHangsWhileLoading) {
  const auto r = omniloop::plugin::probeFile(caseFile("hang_on_load"), 300);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason, "timed out while loading (no answer after 300 ms)");
}

TEST(PluginHost, ReportsMissingConfiguredDirectory) {
  Registry registry;
  registry.scanDirectory(kRoot + "/no-such-dir");
  ASSERT_EQ(registry.errors().size(), 1u);
  EXPECT_EQ(registry.errors()[0].reason,
            "plugin directory does not exist (check plugin_dirs / OMNILOOP_PLUGIN_PATH)");
}

TEST(PluginHost, SkipsLaterPluginWithTheSameName) {
  const fs::path copy_dir =
      fs::temp_directory_path() / ("omniloop-dup-" + std::to_string(::getpid()));
  fs::create_directories(copy_dir);
  fs::copy_file(caseFile("good"), copy_dir / "another_name.so",
                fs::copy_options::overwrite_existing);
  Registry registry;
  registry.scanDirectory(caseDir("good"));
  registry.scanDirectory(copy_dir.string());
  fs::remove_all(copy_dir);
  ASSERT_EQ(registry.plugins().size(), 1u);
  EXPECT_EQ(registry.plugins()[0].path, caseFile("good"));
  ASSERT_EQ(registry.errors().size(), 1u);
  EXPECT_EQ(registry.errors()[0].reason,
            "plugin 'test.good' already loaded from " + caseFile("good"));
}

TEST(PluginHost, SameFileThroughTwoDirectoriesLoadsOnce) {
  Registry registry;
  registry.scanDirectory(caseDir("good"));
  EXPECT_TRUE(registry.loadFile(caseDir("good") + "/../good/test_good.so"));
  EXPECT_EQ(registry.plugins().size(), 1u);
  EXPECT_TRUE(registry.errors().empty());
}

TEST(PluginHost, SearchPathIsBundledThenConfiguredThenEnvironment) {
  ::setenv("OMNILOOP_PLUGIN_PATH", "/env/a::/env/b", 1);
  const auto dirs = Registry::searchPath({"/configured"});
  ::unsetenv("OMNILOOP_PLUGIN_PATH");
  ASSERT_EQ(dirs.size(), 4u);
  EXPECT_EQ(dirs[0], fs::path(OMNILOOP_PLUGIN_DIR).lexically_normal().string());
  EXPECT_EQ(dirs[1], "/configured");
  EXPECT_EQ(dirs[2], "/env/a");
  EXPECT_EQ(dirs[3], "/env/b");
}

TEST(PluginHost, DiscoverLoadsConfiguredBeforeEnvironmentDirectories) {
  ::setenv("OMNILOOP_PLUGIN_PATH", caseDir("bad_config").c_str(), 1);
  Registry registry;
  registry.discover({caseDir("good")});
  ::unsetenv("OMNILOOP_PLUGIN_PATH");
  std::vector<std::string> names;
  for (const auto& p : registry.plugins()) names.push_back(p.name);
  // The bundled dir may hold the in-tree plugins before ours.
  ASSERT_GE(names.size(), 2u);
  EXPECT_EQ(names[names.size() - 2], "test.good");
  EXPECT_EQ(names.back(), "test.bad_config");
}

TEST_F(GoodPlugin, DescriptorIsReadIntoTheRegistryAndCatalog) {
  const auto* good = registry_.findPlugin("test.good");
  ASSERT_NE(good, nullptr);
  EXPECT_EQ(good->version, "1.2.3");
  EXPECT_EQ(good->abi_major, OMNILOOP_ABI_MAJOR);
  EXPECT_EQ(good->abi_minor, OMNILOOP_ABI_MINOR);
  EXPECT_EQ(good->path, caseFile("good"));
  ASSERT_EQ(good->components.size(), 3u);

  omniloop::config::SimpleCatalog catalog;
  registry_.fillCatalog(catalog);
  const auto* numbers = catalog.find(ComponentKind::Source, "test.numbers");
  ASSERT_NE(numbers, nullptr);
  EXPECT_EQ(numbers->provider, "test.good");
  EXPECT_EQ(numbers->description, "Emits numbered events");
  EXPECT_NE(numbers->schema_json.find("\"minimum\":0"), std::string::npos);
  EXPECT_NE(catalog.find(ComponentKind::Stage, "test.tag"), nullptr);
  EXPECT_NE(catalog.find(ComponentKind::Sink, "test.count"), nullptr);
  EXPECT_EQ(catalog.find(ComponentKind::Sink, "test.numbers"), nullptr);
}

TEST_F(GoodPlugin, SourceStageAndSinkRunEndToEnd) {
  int64_t emitted_seen = 0;
  InstanceContext source_ctx = context("numbers");
  source_ctx.on_counter = [&](std::string_view name, int64_t delta) {
    if (name == "emitted") emitted_seen += delta;
  };
  auto source =
      registry_.makeSource("test.numbers", R"({"count":5,"channel":"lab"})", std::move(source_ctx));
  auto stage =
      registry_.makeStage("test.tag", R"({"tag":"checked","drop_odd":true})", context("tag"));
  auto sink = registry_.makeSink("test.count", "{}", context("count"));

  Batch batch(16);
  ASSERT_TRUE(source->resume("").isOk());
  const auto read = source->read(batch, 16);
  EXPECT_EQ(read.status, Status::End) << read.message;
  ASSERT_EQ(batch.size(), 5u);
  EXPECT_EQ(batch.cursor, "5");
  EXPECT_EQ(emitted_seen, 5);

  // What the SDK builder put into host events.
  EXPECT_EQ(batch[3].key, "3");
  EXPECT_EQ(batch[3].type, "test.number");
  EXPECT_EQ(batch[3].channel, "lab");
  EXPECT_EQ(batch[3].occurred_at_us, 1700000000000003);
  EXPECT_EQ(text(batch, 3, "$identities.email"), "user3@example.com");
  EXPECT_EQ(text(batch, 3, "$consent.analytics"), "granted");
  EXPECT_EQ(batch[3].find("n")->type, ValueType::Int);
  EXPECT_EQ(batch[3].find("n")->i, 3);
  EXPECT_EQ(batch[3].find("even")->b, false);
  EXPECT_DOUBLE_EQ(batch[3].find("half")->d, 1.5);
  EXPECT_EQ(text(batch, 3, "label"), "number 3");
  EXPECT_EQ(text(batch, 3, "meta.parity"), "odd");
  EXPECT_EQ(batch[3].find("digits")->type, ValueType::Json);

  const auto processed = stage->process(batch);
  ASSERT_TRUE(processed.isOk()) << processed.message;
  EXPECT_EQ(batch[0].disposition, Disposition::Keep);
  EXPECT_EQ(batch[1].disposition, Disposition::Drop);
  EXPECT_EQ(batch[1].reason, "odd number");
  EXPECT_EQ(text(batch, 2, "tag"), "checked");

  batch[4].disposition = Disposition::Elsewhere;  // routed to another sink: not this one's
  const auto written = sink->write(batch);
  ASSERT_TRUE(written.isOk()) << written.message;
  ASSERT_TRUE(sink->flush().isOk());
  auto& counters = dynamic_cast<PluginSink&>(*sink).instance().context();
  EXPECT_EQ(counters.counter("written"), 2);  // 0 and 2 (1, 3 dropped; 4 elsewhere)
  EXPECT_GT(counters.counter("bytes"), 2 * 100);
  EXPECT_EQ(counters.counter("flushes"), 1);
}

TEST_F(GoodPlugin, ReadStopsAtMaxEventsAndResumesFromTheCursor) {
  auto first = registry_.makeSource("test.numbers", R"({"count":10})", context("numbers"));
  Batch batch(64);
  const auto r1 = first->read(batch, 4);
  EXPECT_EQ(r1.status, Status::Ok);
  ASSERT_EQ(batch.size(), 4u);
  EXPECT_EQ(batch.cursor, "4");

  auto second = registry_.makeSource("test.numbers", R"({"count":10})", context("numbers"));
  ASSERT_TRUE(second->resume(batch.cursor).isOk());
  Batch rest(64);
  const auto r2 = second->read(rest, 64);
  EXPECT_EQ(r2.status, Status::End);
  ASSERT_EQ(rest.size(), 6u);
  EXPECT_EQ(rest[0].key, "4");
  EXPECT_EQ(rest[5].key, "9");
}

TEST_F(GoodPlugin, FullBatchStopsTheSourceWithoutSkippingRecords) {
  auto source = registry_.makeSource("test.numbers", R"({"count":10})", context("numbers"));
  Batch small(3);
  EXPECT_EQ(source->read(small, 100).status, Status::Ok);
  EXPECT_EQ(small.size(), 3u);
  EXPECT_EQ(small.cursor, "3");
  small.reset();
  EXPECT_EQ(source->read(small, 100).status, Status::Ok);
  EXPECT_EQ(small[0].key, "3");
}

TEST_F(GoodPlugin, CreateThatThrowsThroughTheCBoundaryIsReported) {
  try {
    registry_.makeSource("test.throw_create", "{}", context("x"));
    FAIL() << "expected create to fail";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "create failed: config parser exploded");
  }
}

TEST_F(GoodPlugin, ReadThatThrowsANonStandardExceptionBecomesAnError) {
  auto source = registry_.makeSource("test.throw_read", "{}", context("x"));
  Batch batch(4);
  const auto r = source->read(batch, 4);
  EXPECT_EQ(r.status, Status::Error);
  EXPECT_EQ(r.message, "plugin component 'test.throw_read' read threw an unknown exception");
}

TEST_F(GoodPlugin, ProcessThatThrowsBecomesAnError) {
  auto stage = registry_.makeStage("test.throw_process", "{}", context("x"));
  Batch batch(4);
  const auto r = stage->process(batch);
  EXPECT_EQ(r.status, Status::Error);
  EXPECT_EQ(
      r.message,
      "plugin component 'test.throw_process' process threw an exception: stage lost its mind");
}

TEST_F(GoodPlugin, InvalidConfigurationCarriesThePluginsMessage) {
  auto message = [&](const std::string& json) -> std::string {
    try {
      registry_.makeSource("test.strict", json, context("strict"));
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "<created>";
  };
  EXPECT_EQ(message("{}"), "create failed: option 'path' is required");
  EXPECT_EQ(message(R"({"path":"x","count":0})"),
            "create failed: option 'count' must be at least 1, got 0");
  EXPECT_EQ(message(R"({"path":7})"), "create failed: option 'path' must be a string");
  EXPECT_EQ(message(R"({"path":"x","count":2})"), "<created>");
}

TEST_F(GoodPlugin, UnknownTypeOrWrongKindIsReported) {
  try {
    registry_.makeSink("test.numbers", "{}", context("x"));
    FAIL() << "a source type is not a sink";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "no plugin provides sink type 'test.numbers'");
  }
}

// A plugin built against the frozen ABI 1.0 headers (tests/plugins/abi-1.0): smaller component
// entries than this host's. It loads, its three components read right, and it runs.
TEST(PluginAbi, Abi10PluginLoadsAndRunsOnThisHost) {
  Registry registry;
  registry.scanDirectory(caseDir("abi10"));
  ASSERT_TRUE(registry.errors().empty()) << registry.errors().front().reason;
  const auto* p = registry.findPlugin("test.abi10");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->abi_major, 1);
  EXPECT_EQ(p->abi_minor, 0);
  ASSERT_EQ(p->components.size(), 3u);
  EXPECT_STREQ(p->components[0]->type, "abi10.letters");
  EXPECT_STREQ(p->components[1]->type, "abi10.upper");
  EXPECT_STREQ(p->components[2]->type, "abi10.tally");
  EXPECT_STREQ(p->components[2]->description, "Counts events (ABI 1.0 plugin)");
  EXPECT_EQ(p->components[0]->size, OL_COMPONENT_SIZE_1_0);
  for (const auto& fields : p->personal_fields) EXPECT_TRUE(fields.empty());

  auto source = registry.makeSource("abi10.letters", R"({"count":4})", context("letters"));
  auto stage = registry.makeStage("abi10.upper", "{}", context("upper"));
  auto sink = registry.makeSink("abi10.tally", "{}", context("tally"));
  Batch batch(16);
  const auto read = source->read(batch, 16);
  EXPECT_EQ(read.status, Status::End) << read.message;
  ASSERT_EQ(batch.size(), 4u);
  ASSERT_TRUE(stage->process(batch).isOk());
  EXPECT_EQ(text(batch, 2, "letter"), "C");
  ASSERT_TRUE(sink->write(batch).isOk());
  ASSERT_TRUE(sink->flush().isOk());
  EXPECT_EQ(dynamic_cast<PluginSink&>(*sink).instance().context().counter("written"), 4);
}

TEST(PluginAbi, PersonalFieldsOfAnAbi11SourceReachTheCatalog) {
  Registry registry;
  registry.scanDirectory(caseDir("personal"));
  ASSERT_TRUE(registry.errors().empty()) << registry.errors().front().reason;
  const auto* p = registry.findPlugin("test.personal");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->abi_minor, OMNILOOP_ABI_MINOR);
  ASSERT_EQ(p->personal_fields.size(), 1u);
  const std::vector<std::string> expected{"first_name", "last_name", "customer.email"};
  EXPECT_EQ(p->personal_fields[0], expected);
  omniloop::config::SimpleCatalog catalog;
  registry.fillCatalog(catalog);
  const auto* contacts = catalog.find(ComponentKind::Source, "test.contacts");
  ASSERT_NE(contacts, nullptr);
  EXPECT_EQ(contacts->personal_fields, expected);
}

// ---- Safe loading: the file probed is the file loaded; who may change plugin files ----

namespace {

// A private directory (mode 0755, owned by this user) for one test's plugin files.
struct ScratchDir {
  explicit ScratchDir(const std::string& tag)
      : path(fs::temp_directory_path() /
             ("omniloop-safe-" + tag + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
    fs::permissions(path, fs::perms(0755));
  }
  ~ScratchDir() { fs::remove_all(path); }
  std::string add(const std::string& test_case, const std::string& as) const {
    const fs::path to = path / as;
    fs::copy_file(caseFile(test_case), to, fs::copy_options::overwrite_existing);
    fs::permissions(to, fs::perms(0755));
    return to.string();
  }
  fs::path path;
};

// The digest as coreutils computes it.
std::string sha256sum(const std::string& file) {
  const std::string command = "sha256sum '" + file + "'";
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return {};
  char buf[65] = {};
  const size_t n = std::fread(buf, 1, 64, p);
  ::pclose(p);
  return std::string(buf, n);
}

omniloop::config::PluginPin pin(const std::string& name, const std::string& sha256, int line) {
  omniloop::config::PluginPin p;
  p.name = name;
  p.sha256 = sha256;
  p.mark = {"/etc/omniloop/omniloop.yaml", line, 13};
  return p;
}

}  // namespace

// The probe child of test_swap_on_probe renames a crashing plugin over the probed file: the
// host must load the file it probed (the original inode), not what the path names afterwards.
// Before, the host dlopen'ed the path again and died of SIGSEGV (`omniloop plugins` too).
TEST(PluginSafeLoading, FileSwappedBetweenProbeAndLoadIsNotLoaded) {
  ScratchDir dir("swap");
  const std::string plugin = dir.add("swap_on_probe", "a_swap.so");
  const std::string crasher = dir.add("crash_on_load", "crash.so.spare");  // not a *.so
  EXPECT_EXIT(
      {
        ::setenv("OMNILOOP_TEST_SWAP_FROM", crasher.c_str(), 1);
        ::setenv("OMNILOOP_TEST_SWAP_TO", plugin.c_str(), 1);
        Registry registry;
        registry.scanDirectory(dir.path.string());
        const bool swapped = !fs::exists(crasher);  // the probe child did swap the file
        const bool loaded_probed =
            registry.plugins().size() == 1 && registry.plugins()[0].name == "test.swap_on_probe";
        std::_Exit(swapped && loaded_probed && registry.errors().empty() ? 0 : 3);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(PluginSafeLoading, RefusesPluginFileWritableByItsGroupOrEveryone) {
  ScratchDir dir("mode");
  const std::string group = dir.add("good", "group.so");
  const std::string world = dir.add("bad_config", "world.so");
  fs::permissions(group, fs::perms(0775));
  fs::permissions(world, fs::perms(0757));
  Registry registry;
  registry.scanDirectory(dir.path.string());
  EXPECT_TRUE(registry.plugins().empty());
  ASSERT_EQ(registry.errors().size(), 2u);
  EXPECT_EQ(registry.errors()[0].path, group);
  EXPECT_EQ(registry.errors()[0].reason,
            "refused: the file is writable by its group (mode 0775), so others than root and "
            "the service user could change the code omniloop runs; chmod go-w " +
                group);
  EXPECT_EQ(registry.errors()[1].path, world);
  EXPECT_EQ(registry.errors()[1].reason,
            "refused: the file is writable by every user (mode 0757), so others than root and "
            "the service user could change the code omniloop runs; chmod go-w " +
                world);
}

TEST(PluginSafeLoading, RefusesPluginDirectoryWritableByOthers) {
  ScratchDir dir("dirmode");
  dir.add("good", "good.so");
  fs::permissions(dir.path, fs::perms(0777));
  Registry registry;
  registry.scanDirectory(dir.path.string());
  EXPECT_TRUE(registry.plugins().empty());
  ASSERT_EQ(registry.errors().size(), 1u);
  EXPECT_EQ(registry.errors()[0].path, dir.path.string());
  EXPECT_EQ(registry.errors()[0].reason,
            "refused: the plugin directory is writable by every user (mode 0777), so others "
            "than root and the service user could place or replace plugins; chmod go-w " +
                dir.path.string());
}

TEST(PluginSafeLoading, RefusesPluginFileOwnedByAnotherUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give a file to another user";
  ScratchDir dir("owner");
  const std::string other = dir.add("good", "other.so");
  ASSERT_EQ(::chown(other.c_str(), 65534, 65534), 0);
  Registry registry;
  registry.scanDirectory(dir.path.string());
  EXPECT_TRUE(registry.plugins().empty());
  ASSERT_EQ(registry.errors().size(), 1u);
  EXPECT_EQ(registry.errors()[0].reason,
            "refused: the file is owned by uid 65534, neither root nor the service user (uid " +
                std::to_string(::geteuid()) +
                "), who could change the code omniloop runs; "
                "chown root " +
                other);
}

TEST(PluginSafeLoading, PluginFilesOfRootOrTheServiceUserWithoutGroupWriteLoad) {
  ScratchDir dir("fine");
  dir.add("good", "good.so");
  fs::permissions(dir.path / "good.so", fs::perms(0750));
  Registry registry;
  registry.scanDirectory(dir.path.string());
  EXPECT_TRUE(registry.errors().empty()) << registry.errors().front().reason;
  ASSERT_EQ(registry.plugins().size(), 1u);
  EXPECT_EQ(registry.plugins()[0].sha256, sha256sum(caseFile("good")));
}

// Plugins that hang while loading share one probe budget: start-up waits for it once, not once
// per plugin (before, each added 10 s). A good plugin beside them loads meanwhile.
TEST(PluginSafeLoading, HangingPluginsShareOneProbeBudget) {
  ScratchDir dir("budget");
  dir.add("hang_on_load", "hang1.so");
  dir.add("hang_on_load", "hang2.so");
  dir.add("good", "zgood.so");
  Registry registry;
  registry.setProbeBudget(700);
  const auto start = std::chrono::steady_clock::now();
  registry.scanDirectory(dir.path.string());
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
  EXPECT_GE(took, 650);
  EXPECT_LT(took, 1300) << "the probes ran one after the other";
  ASSERT_EQ(registry.errors().size(), 2u);
  for (const auto& e : registry.errors()) {
    EXPECT_EQ(e.reason, "timed out while loading (no answer after 700 ms)");
  }
  ASSERT_EQ(registry.plugins().size(), 1u);
  EXPECT_EQ(registry.plugins()[0].name, "test.good");
}

TEST(PluginSafeLoading, Sha256PinMismatchRefusesThePluginNamingBothDigests) {
  const std::string actual = sha256sum(caseFile("good"));
  ASSERT_EQ(actual.size(), 64u);
  const std::string expected(64, 'a');
  Registry registry;
  registry.setPins({pin("test.good", expected, 7)});
  registry.scanDirectory(caseDir("good"));
  EXPECT_TRUE(registry.plugins().empty());
  ASSERT_EQ(registry.errors().size(), 1u);
  EXPECT_EQ(registry.errors()[0].path, caseFile("good"));
  EXPECT_EQ(registry.errors()[0].reason,
            "/etc/omniloop/omniloop.yaml:7:13: plugins.test.good.sha256 pins " + expected +
                ", but this file's sha256 is " + actual +
                ": install the plugin that was pinned, or update the pin");
}

TEST(PluginSafeLoading, Sha256PinThatMatchesLoadsThePlugin) {
  Registry registry;
  registry.setPins({pin("test.good", sha256sum(caseFile("good")), 7)});
  registry.scanDirectory(caseDir("good"));
  EXPECT_TRUE(registry.errors().empty()) << registry.errors().front().reason;
  ASSERT_EQ(registry.plugins().size(), 1u);
}

TEST(PluginSafeLoading, PinnedPluginThatIsNowhereIsReportedAtThePin) {
  Registry registry;
  registry.setPins({pin("com.vendor.absent", std::string(64, 'b'), 9)});
  registry.discover({caseDir("good")});
  ASSERT_FALSE(registry.errors().empty());
  EXPECT_EQ(registry.errors().back().path, "/etc/omniloop/omniloop.yaml");
  EXPECT_EQ(registry.errors().back().reason,
            "/etc/omniloop/omniloop.yaml:9:13: plugins.com.vendor.absent: no plugin of that name "
            "was found in the plugin directories (install it, or remove the pin)");
}
