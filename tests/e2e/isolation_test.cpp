// Plugin isolation as a user meets it (issue 15, "A plugin that crashes must not take the daemon
// down"): a plugin stage that segfaults, aborts, hangs or allocates without bound on one record
// costs that record — a dead letter naming the crash — and nothing else, in `omniloop run` and
// in omniloopd, where a second pipeline keeps running. The misbehaving plugin is
// tests/plugins/poison (test.poison).
//
// Plugin sinks and sources are isolated the same way: a sink that dies on a record costs that
// record and writes everything else exactly once (test.poison_sink); a source that dies while
// reading is restarted and resumed where it was, and one that keeps dying at the same position
// stops only its pipeline (test.poison_source).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <algorithm>
#include <sstream>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include "command.h"
#include "sqlite_query.h"

using namespace omniloop::testing;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

const std::string kPoisonPlugins = std::string(OMNILOOP_BINARY_DIR) + "/test-plugins/poison";
const std::string kToken = "isolation-token-0123456789";

void writeFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// Lines {"id":i,"note":"ok"}; the line with id == poison carries the marker.
std::string lines(int n, int poison) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out +=
        "{\"id\":" + std::to_string(i) + ",\"note\":\"" + (i == poison ? "POISON" : "ok") + "\"}\n";
  }
  return out;
}

std::string pipelineYaml(const std::string& name, const std::string& data,
                         const std::string& action, int batch) {
  return "version: 1\n"
         "name: " +
         name +
         "\n"
         "source:\n"
         "  type: file.jsonl\n"
         "  with: { path: " +
         data +
         ", key_field: id }\n"
         "stages:\n"
         "  - test.poison: { action: " +
         action +
         " }\n"
         "sink:\n"
         "  type: cdp\n"
         "batch: { size: " +
         std::to_string(batch) + " }\n";
}

// omniloop.yaml of the daemon tests: SQLite store, pipelines.d/, the admin API on `port`.
std::string daemonConfig(int port, const std::string& extra) {
  return "store: sqlite:var/cdp.db\n"
         "pipelines_dir: pipelines.d\n" +
         extra + "admin:\n  listen: 127.0.0.1:" + std::to_string(port) + "\n  token_file: token\n";
}

// Starts omniloopd on dir/omniloop.yaml with the poison plugins on its path and its standard
// error appended to `err`.
pid_t startDaemon(const std::string& dir, const std::string& err) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    ::dup2(e, 2);
    ::setenv("OMNILOOP_PLUGIN_PATH", kPoisonPlugins.c_str(), 1);
    const std::string bin = std::string(OMNILOOP_BIN_DIR) + "/omniloopd";
    const std::string config = dir + "/omniloop.yaml";
    ::execl(bin.c_str(), bin.c_str(), "--config", config.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

long count(const std::string& db, const std::string& sql) {
  const std::string r = query(db, sql);
  try {
    return std::stol(r);
  } catch (const std::exception&) {
    return -1;
  }
}

struct Case {
  std::string action;
  std::string reason;  // the dead letter's reason
  std::string log;     // in the log besides plugin, component and pipeline
  std::string config;  // plugin_isolation settings
  int batch = 8;       // smaller for the slow case: each bisection step fills the memory limit
};

// How a plugin stage or sink misbehaves on one record, and what the host makes of it.
const std::vector<Case> kRecordFailures = {
    {"segv", "plugin crashed (signal 11) on this record", "crashed (signal 11, SIGSEGV)",
     "  mode: process\n"},
    {"abort", "plugin crashed (signal 6) on this record", "crashed (signal 6, SIGABRT)",
     "  mode: process\n"},
    {"hang", "plugin timed out (no answer within 400 ms) on this record", "plugin timed out",
     "  call_timeout_ms: 400\n"},
    {"alloc", "plugin exceeded its memory limit (128 MiB) on this record", "memory limit",
     "  memory_limit_mb: 128\n", 2},
};

std::string caseName(const ::testing::TestParamInfo<Case>& info) {
  return info.param.action;
}

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.action;
}

class IsolatedRun : public ::testing::TestWithParam<Case> {};

// `omniloop run`: 40 records in batches of 8 (2 for alloc), the plugin dies on record 23. The run
// finishes, 39 events are stored once each (processed by the plugin), record 23 is the one dead
// letter.
TEST_P(IsolatedRun, PoisonRecordBecomesADeadLetterAndTheRunGoesOn) {
  const Case& c = GetParam();
  const std::string dir = tempDir("isolation-" + c.action);
  writeFile(dir + "/data.jsonl", lines(40, 23));
  writeFile(dir + "/poisoned.yaml", pipelineYaml("poisoned", "data.jsonl", c.action, c.batch));
  writeFile(dir + "/omniloop.yaml", "store: sqlite:cdp.db\nplugin_isolation:\n" + c.config);
  const auto t0 = Clock::now();
  const CommandResult r = runCommand({omniloopBin(), "run", dir + "/poisoned.yaml", "--config",
                                      dir + "/omniloop.yaml", "--no-progress"},
                                     {"OMNILOOP_PLUGIN_PATH=" + kPoisonPlugins});
  const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string db = dir + "/cdp.db";
  EXPECT_EQ(count(db, "SELECT count(*) FROM events WHERE pipeline='poisoned'"), 39) << r.err;
  // Every stored record went through the plugin exactly once, and record 23 is not among them.
  EXPECT_EQ(count(db, "SELECT count(*) FROM events WHERE json_extract(attributes,'$.checked')=1"),
            39);
  EXPECT_EQ(
      count(db, "SELECT count(*) FROM events WHERE json_extract(attributes,'$.note')='POISON'"), 0);
  EXPECT_EQ(query(db, "SELECT reason FROM dead_letters WHERE pipeline='poisoned'"), c.reason + "\n")
      << r.err;
  EXPECT_NE(query(db, "SELECT payload FROM dead_letters").find("POISON"), std::string::npos);
  // The log names the pipeline, the plugin, the component and what happened.
  for (const std::string& needle :
       {std::string("pipeline 'poisoned'"), std::string("plugin test.poison"),
        std::string("stage type 'test.poison' (stage 1:test.poison)"), c.log}) {
    EXPECT_NE(r.err.find(needle), std::string::npos) << needle << "\n" << r.err;
  }
  EXPECT_NE(r.out.find("plugin_crashes"), std::string::npos) << r.out;
  EXPECT_LT(took.count(), 20000);
  // A rerun reads nothing new: the poison batch was committed, not read again.
  const CommandResult again = runCommand({omniloopBin(), "run", dir + "/poisoned.yaml", "--config",
                                          dir + "/omniloop.yaml", "--no-progress"},
                                         {"OMNILOOP_PLUGIN_PATH=" + kPoisonPlugins});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(count(db, "SELECT count(*) FROM events"), 39);
  EXPECT_EQ(count(db, "SELECT count(*) FROM dead_letters"), 1);
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Plugin, IsolatedRun, ::testing::ValuesIn(kRecordFailures), caseName);

// Batches of 1,000 (~60 KB each: they travel in the shared memory channel, and the stage
// overlaps them, so the batch after the poison one is already with the worker when it dies):
// 5,999 of 6,000 records are stored once, each processed by the plugin, and the poison record
// is the one dead letter.
TEST(IsolatedLargeBatches, ThePoisonRecordIsFoundAndTheBatchesAroundItAreProcessedOnce) {
  const std::string dir = tempDir("isolation-large");
  writeFile(dir + "/data.jsonl", lines(6000, 3210));
  writeFile(dir + "/poisoned.yaml", pipelineYaml("poisoned", "data.jsonl", "segv", 1000));
  writeFile(dir + "/omniloop.yaml", "store: sqlite:cdp.db\nplugin_isolation:\n  mode: process\n");
  const CommandResult r = runCommand({omniloopBin(), "run", dir + "/poisoned.yaml", "--config",
                                      dir + "/omniloop.yaml", "--no-progress"},
                                     {"OMNILOOP_PLUGIN_PATH=" + kPoisonPlugins});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const std::string db = dir + "/cdp.db";
  EXPECT_EQ(count(db, "SELECT count(*) FROM events"), 5999) << r.err;
  EXPECT_EQ(count(db, "SELECT count(DISTINCT json_extract(attributes,'$.id')) FROM events"), 5999);
  EXPECT_EQ(count(db, "SELECT count(*) FROM events WHERE json_extract(attributes,'$.checked')=1"),
            5999);
  EXPECT_EQ(query(db, "SELECT reason FROM dead_letters"),
            "plugin crashed (signal 11) on this record\n");
  EXPECT_NE(query(db, "SELECT payload FROM dead_letters").find("\"id\":3210"), std::string::npos);
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

// A plugin that dies on every record: the restarts per batch are bounded (max_restarts), the
// records not isolated by then become dead letters naming the spent budget, and the run ends.
TEST(IsolatedRunBudget, RestartsPerBatchAreBounded) {
  const std::string dir = tempDir("isolation-budget");
  writeFile(dir + "/data.jsonl", lines(10, -1));  // every note is "ok": the marker below
  writeFile(dir + "/p.yaml",
            "version: 1\n"
            "name: doomed\n"
            "source:\n"
            "  type: file.jsonl\n"
            "  with: { path: data.jsonl, key_field: id }\n"
            "stages:\n"
            "  - test.poison: { action: segv, marker: ok }\n"
            "sink:\n"
            "  type: cdp\n"
            "batch: { size: 10 }\n");
  writeFile(dir + "/omniloop.yaml", "store: sqlite:cdp.db\nplugin_isolation:\n  max_restarts: 3\n");
  const CommandResult r = runCommand(
      {omniloopBin(), "run", dir + "/p.yaml", "--config", dir + "/omniloop.yaml", "--no-progress"},
      {"OMNILOOP_PLUGIN_PATH=" + kPoisonPlugins});
  // The run ends (3: `omniloop run` says so when every record read was dead-lettered).
  ASSERT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.err.find("every record read was dead-lettered"), std::string::npos) << r.err;
  const std::string db = dir + "/cdp.db";
  EXPECT_EQ(count(db, "SELECT count(*) FROM events"), 0);
  EXPECT_EQ(count(db, "SELECT count(*) FROM dead_letters"), 10);
  // 1 + 3 restarts: the fourth crash isolated one record; the rest waited for no more restarts.
  EXPECT_EQ(count(db,
                  "SELECT count(*) FROM dead_letters WHERE reason = "
                  "'plugin crashed (signal 11) on this record'"),
            1);
  EXPECT_EQ(count(db,
                  "SELECT count(*) FROM dead_letters WHERE reason LIKE "
                  "'plugin crashed (signal 11); the restart budget (3 per batch) was spent%'"),
            9);
  size_t crashes = 0;
  for (size_t at = r.err.find("restarting its worker"); at != std::string::npos;
       at = r.err.find("restarting its worker", at + 1)) {
    ++crashes;
  }
  EXPECT_EQ(crashes, 4u) << r.err;
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

// In process (the opt-out) the same plugin takes the whole run down: what isolation prevents.
TEST(IsolatedRunOptOut, InProcessCrashKillsTheRun) {
  const std::string dir = tempDir("isolation-inproc");
  writeFile(dir + "/data.jsonl", lines(10, 3));
  writeFile(dir + "/p.yaml",
            pipelineYaml("inproc", "data.jsonl", "segv", 8) + "isolation: in_process\n");
  writeFile(dir + "/omniloop.yaml", "store: sqlite:cdp.db\n");
  const CommandResult r = runCommand(
      {omniloopBin(), "run", dir + "/p.yaml", "--config", dir + "/omniloop.yaml", "--no-progress"},
      {"OMNILOOP_PLUGIN_PATH=" + kPoisonPlugins});
  EXPECT_NE(r.exit_code, 0);
  fs::remove_all(dir);
}

TEST(IsolatedRunBundled, BundledPluginsRunInProcessUnlessConfiguredOtherwise) {
  // With a worker that cannot start, a pipeline of bundled plugins (file.jsonl) and built-ins
  // runs only if nothing of it is isolated: by default, not under `bundled: process` or a
  // pipeline's `isolation: process`.
  const std::string dir = tempDir("isolation-bundled");
  writeFile(dir + "/data.jsonl", lines(10, -1));
  const std::string plain =
      "version: 1\nname: bundled\nsource:\n  type: file.jsonl\n"
      "  with: { path: data.jsonl, key_field: id }\nsink:\n  type: cdp\n";
  writeFile(dir + "/p.yaml", plain);
  writeFile(dir + "/p-process.yaml", plain + "isolation: process\n");
  writeFile(dir + "/omniloop.yaml", "store: sqlite:cdp.db\n");
  writeFile(dir + "/isolate-all.yaml",
            "store: sqlite:cdp2.db\nplugin_isolation:\n  bundled: process\n");
  const std::vector<std::string> no_worker = {"OMNILOOP_PLUGIN_WORKER=/bin/false"};
  auto run = [&](const std::string& pipeline, const std::string& config) {
    return runCommand({omniloopBin(), "run", dir + "/" + pipeline, "--config", dir + "/" + config,
                       "--no-progress"},
                      no_worker);
  };
  const CommandResult in_process = run("p.yaml", "omniloop.yaml");
  EXPECT_EQ(in_process.exit_code, 0) << in_process.out << in_process.err;
  EXPECT_EQ(count(dir + "/cdp.db", "SELECT count(*) FROM events"), 10);
  for (const auto& [pipeline, config] :
       {std::pair<std::string, std::string>{"p.yaml", "isolate-all.yaml"},
        {"p-process.yaml", "omniloop.yaml"}}) {
    const CommandResult isolated = run(pipeline, config);
    EXPECT_NE(isolated.exit_code, 0) << pipeline << " with " << config;
    EXPECT_NE(isolated.err.find("the plugin worker failed while starting"), std::string::npos)
        << isolated.err;
  }
  fs::remove_all(dir);
}

// ---- plugin sinks and sources ----

// The ids a test.poison_sink wrote, one per line, sorted; the caller checks them.
std::vector<long> writtenIds(const std::string& path) {
  std::vector<long> ids;
  std::istringstream in(readFile(path));
  std::string line;
  while (std::getline(in, line)) ids.push_back(std::stol(line));
  std::sort(ids.begin(), ids.end());
  return ids;
}

// 0..n-1 without `skip`.
std::vector<long> idsExcept(long n, long skip) {
  std::vector<long> ids;
  for (long i = 0; i < n; ++i) {
    if (i != skip) ids.push_back(i);
  }
  return ids;
}

class IsolatedSinkRun : public ::testing::TestWithParam<Case> {};

// `omniloop run` into a plugin sink that dies while writing record 23 of 40: the run finishes,
// every other record is written exactly once (the sink's output file), record 23 is the one
// dead letter, and the log names the sink.
TEST_P(IsolatedSinkRun, PoisonRecordBecomesADeadLetterAndEverythingElseIsWrittenOnce) {
  const Case& c = GetParam();
  const std::string dir = tempDir("isolation-sink-" + c.action);
  writeFile(dir + "/data.jsonl", lines(40, 23));
  writeFile(dir + "/p.yaml",
            "version: 1\n"
            "name: poisoned\n"
            "source:\n"
            "  type: file.jsonl\n"
            "  with: { path: data.jsonl, key_field: id }\n"
            "sink:\n"
            "  type: test.poison_sink\n"
            "  with: { path: " +
                dir + "/out.txt, action: " + c.action +
                " }\n"
                "batch: { size: " +
                std::to_string(c.batch) + " }\n");
  writeFile(dir + "/omniloop.yaml", "store: sqlite:cdp.db\nplugin_isolation:\n" + c.config);
  const std::vector<std::string> argv = {
      omniloopBin(), "run", dir + "/p.yaml", "--config", dir + "/omniloop.yaml", "--no-progress"};
  const auto t0 = Clock::now();
  const CommandResult r = runCommand(argv, {"OMNILOOP_PLUGIN_PATH=" + kPoisonPlugins});
  const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(writtenIds(dir + "/out.txt"), idsExcept(40, 23)) << readFile(dir + "/out.txt");
  const std::string db = dir + "/cdp.db";
  EXPECT_EQ(query(db, "SELECT reason FROM dead_letters WHERE pipeline='poisoned'"), c.reason + "\n")
      << r.err;
  EXPECT_NE(query(db, "SELECT payload FROM dead_letters").find("POISON"), std::string::npos);
  for (const std::string& needle :
       {std::string("pipeline 'poisoned': plugin test.poison, sink type 'test.poison_sink' (sink "),
        c.log}) {
    EXPECT_NE(r.err.find(needle), std::string::npos) << needle << "\n" << r.err;
  }
  EXPECT_NE(r.out.find("plugin_crashes"), std::string::npos) << r.out;
  EXPECT_LT(took.count(), 20000);
  // A rerun writes nothing: the batch was committed with its cursor.
  const CommandResult again = runCommand(argv, {"OMNILOOP_PLUGIN_PATH=" + kPoisonPlugins});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(writtenIds(dir + "/out.txt").size(), 39u);
  EXPECT_EQ(count(db, "SELECT count(*) FROM dead_letters"), 1);
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(Plugin, IsolatedSinkRun, ::testing::ValuesIn(kRecordFailures), caseName);

std::string sourcePipeline(const std::string& name, const std::string& dir,
                           const std::string& action, int times) {
  return "version: 1\n"
         "name: " +
         name +
         "\n"
         "source:\n"
         "  type: test.poison_source\n"
         "  with: { count: 40, crash_at: 21, action: " +
         action + (times >= 0 ? ", times: " + std::to_string(times) : std::string()) +
         ", state: " + dir + "/" + name +
         ".state }\n"
         "sink:\n"
         "  type: test.poison_sink\n"
         "  with: { path: " +
         dir + "/" + name +
         ".out, action: none }\n"
         "batch: { size: 8 }\n";
}

class IsolatedSourceRun : public ::testing::TestWithParam<Case> {};

// A plugin source that dies (once) while reading position 21 of 40: its worker is restarted and
// resumed from the cursor of the last batch it delivered, so every record arrives exactly once.
TEST_P(IsolatedSourceRun, CrashWhileReadingResumesWithNothingLostOrDuplicated) {
  const Case& c = GetParam();
  const std::string dir = tempDir("isolation-source-" + c.action);
  writeFile(dir + "/p.yaml", sourcePipeline("src", dir, c.action, 1));
  writeFile(dir + "/omniloop.yaml", "store: sqlite:cdp.db\nplugin_isolation:\n" + c.config);
  const std::vector<std::string> argv = {
      omniloopBin(), "run", dir + "/p.yaml", "--config", dir + "/omniloop.yaml", "--no-progress"};
  const CommandResult r = runCommand(argv, {"OMNILOOP_PLUGIN_PATH=" + kPoisonPlugins});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(readFile(dir + "/src.state"), "1");  // it did crash
  EXPECT_EQ(writtenIds(dir + "/src.out"), idsExcept(40, -1));
  for (const std::string& needle :
       {std::string("pipeline 'src': plugin test.poison, source type 'test.poison_source' "
                    "(source test.poison_source): "),
        c.log, std::string("while reading; restarting its worker and resuming it")}) {
    EXPECT_NE(r.err.find(needle), std::string::npos) << needle << "\n" << r.err;
  }
  EXPECT_NE(r.out.find("plugin_crashes"), std::string::npos) << r.out;
  // A rerun resumes from the checkpoint at the end: nothing more.
  const CommandResult again = runCommand(argv, {"OMNILOOP_PLUGIN_PATH=" + kPoisonPlugins});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(writtenIds(dir + "/src.out").size(), 40u);
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Plugin, IsolatedSourceRun,
    ::testing::Values(Case{"segv", "", "crashed (signal 11, SIGSEGV)", "  mode: process\n"},
                      Case{"abort", "", "crashed (signal 6, SIGABRT)", "  mode: process\n"},
                      Case{"hang", "", "plugin timed out (no answer within 400 ms)",
                           "  call_timeout_ms: 400\n"},
                      Case{"alloc", "", "plugin exceeded its memory limit (128 MiB)",
                           "  memory_limit_mb: 128\n"}),
    caseName);

// A source that dies at the same position every time: past max_restarts the pipeline stops
// with an error naming the plugin; what was read before is written once, and once the plugin
// is fixed a new run resumes from the checkpoint and delivers the rest, once.
TEST(IsolatedSourceBudget, KeepsCrashingAtOnePositionStopsThePipeline) {
  const std::string dir = tempDir("isolation-source-budget");
  writeFile(dir + "/p.yaml", sourcePipeline("doomed", dir, "segv", -1));
  writeFile(dir + "/omniloop.yaml", "store: sqlite:cdp.db\nplugin_isolation:\n  max_restarts: 2\n");
  const std::vector<std::string> argv = {
      omniloopBin(), "run", dir + "/p.yaml", "--config", dir + "/omniloop.yaml", "--no-progress"};
  const CommandResult r = runCommand(argv, {"OMNILOOP_PLUGIN_PATH=" + kPoisonPlugins});
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  EXPECT_LT(r.exit_code, 128) << "the run itself must not die of the signal";
  // The run's summary (standard output) ends with the error and counts the crashes.
  EXPECT_NE(r.out.find("error: source: pipeline 'doomed': plugin test.poison, source type "
                       "'test.poison_source' (source test.poison_source): plugin crashed (signal "
                       "11, SIGSEGV) 3 times in a row reading at the same position"),
            std::string::npos)
      << r.out << r.err;
  EXPECT_NE(r.out.find("plugin_crashes (signal 11)"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("pipeline 'doomed': plugin test.poison, source type 'test.poison_source' "
                       "(source test.poison_source): plugin crashed (signal 11, SIGSEGV) while "
                       "reading"),
            std::string::npos)
      << r.err;
  const std::vector<long> before = writtenIds(dir + "/doomed.out");
  EXPECT_LE(before.size(), 16u);  // at most the two batches before position 21
  EXPECT_TRUE(std::adjacent_find(before.begin(), before.end()) == before.end());
  // The plugin fixed: the rest, from the checkpoint, exactly once.
  writeFile(dir + "/p.yaml", sourcePipeline("doomed", dir, "none", -1));
  const CommandResult fixed = runCommand(argv, {"OMNILOOP_PLUGIN_PATH=" + kPoisonPlugins});
  ASSERT_EQ(fixed.exit_code, 0) << fixed.err;
  EXPECT_EQ(writtenIds(dir + "/doomed.out"), idsExcept(40, -1));
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

// ---- omniloopd: two pipelines, one poisoned ----

uint16_t freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

template <typename Pred>
bool waitFor(Pred pred, milliseconds timeout = milliseconds(15000)) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return pred();
}

// The body of GET `path` (empty when no 200).
std::string get(uint16_t port, const std::string& path) {
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    session.setTimeout(Poco::Timespan(5, 0));
    Poco::Net::HTTPRequest req("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
    req.set("Authorization", "Bearer " + kToken);
    session.sendRequest(req);
    Poco::Net::HTTPResponse resp;
    std::istream& in = session.receiveResponse(resp);
    std::ostringstream ss;
    ss << in.rdbuf();
    return resp.getStatus() == 200 ? ss.str() : std::string();
  } catch (const Poco::Exception&) {
    return {};
  }
}

Poco::JSON::Object::Ptr pipeline(uint16_t port, const std::string& name) {
  const std::string body = get(port, "/v1/pipelines/" + name);
  if (body.empty()) return nullptr;
  try {
    return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception&) {
    return nullptr;
  }
}

TEST(IsolatedDaemon, PoisonedPipelineGoesOnAndTheOtherIsUntouched) {
  const std::string dir = tempDir("isolation-daemon");
  const uint16_t port = freePort();
  writeFile(dir + "/token", kToken + "\n");
  fs::permissions(dir + "/token", fs::perms::owner_read | fs::perms::owner_write);
  writeFile(dir + "/data/poisoned.jsonl", lines(60, 41));
  writeFile(dir + "/data/healthy.jsonl", lines(50, -1));
  writeFile(dir + "/pipelines.d/poisoned.yaml",
            pipelineYaml("poisoned", "../data/poisoned.jsonl", "segv", 16));
  writeFile(dir + "/pipelines.d/healthy.yaml",
            pipelineYaml("healthy", "../data/healthy.jsonl", "segv", 16));
  writeFile(dir + "/omniloop.yaml", daemonConfig(port, ""));
  const std::string err = dir + "/daemon.err";
  const pid_t pid = startDaemon(dir, err);
  auto alive = [&] { return ::waitpid(pid, nullptr, WNOHANG) == 0; };
  auto state = [&](const std::string& name) {
    auto p = pipeline(port, name);
    return p ? p->getValue<std::string>("state") : std::string();
  };
  const std::string db = dir + "/var/cdp.db";
  EXPECT_TRUE(waitFor([&] {
    return !alive() || (state("poisoned") == "done" && state("healthy") == "done");
  })) << readFile(err);
  EXPECT_TRUE(alive()) << readFile(err);
  EXPECT_EQ(get(port, "/health").empty(), false);
  EXPECT_EQ(count(db, "SELECT count(*) FROM events WHERE pipeline='healthy'"), 50);
  EXPECT_EQ(count(db, "SELECT count(*) FROM events WHERE pipeline='poisoned'"), 59);
  EXPECT_EQ(count(db, "SELECT count(*) FROM events WHERE json_extract(attributes,'$.checked')=1"),
            109);
  EXPECT_EQ(query(db, "SELECT reason FROM dead_letters WHERE pipeline='poisoned'"),
            "plugin crashed (signal 11) on this record\n");
  EXPECT_EQ(count(db, "SELECT count(*) FROM dead_letters WHERE pipeline='healthy'"), 0);
  // /v1/pipelines shows the crash.
  auto p = pipeline(port, "poisoned");
  ASSERT_TRUE(p);
  auto counters = p->getObject("counters");
  ASSERT_TRUE(counters && counters->has("plugin_crashes")) << get(port, "/v1/pipelines/poisoned");
  EXPECT_GE(counters->getObject("plugin_crashes")->getValue<int>("signal 11"), 1);
  EXPECT_EQ(counters->getValue<int>("dead_lettered"), 1);
  EXPECT_FALSE(pipeline(port, "healthy")->getObject("counters")->has("plugin_crashes"));
  const std::string log = readFile(err);
  for (const char* needle : {"pipeline 'poisoned': plugin test.poison", "(stage 1:test.poison)",
                             "crashed (signal 11, SIGSEGV)"}) {
    EXPECT_NE(log.find(needle), std::string::npos) << needle << "\n" << log;
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << readFile(err);
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

// omniloopd (whose batches are 1024 events: 16 records are one batch, bisected within the five
// restarts allowed): a pipeline whose plugin sink dies on one record goes on (the record a dead
// letter, the rest written once); a pipeline whose plugin source keeps dying stops with its error
// in /v1/pipelines; a healthy pipeline and the daemon are untouched.
TEST(IsolatedDaemon, PluginSinkAndSourceCrashesStopNothingElse) {
  const std::string dir = tempDir("isolation-daemon-io");
  const uint16_t port = freePort();
  writeFile(dir + "/token", kToken + "\n");
  fs::permissions(dir + "/token", fs::perms::owner_read | fs::perms::owner_write);
  writeFile(dir + "/data/sinkpoison.jsonl", lines(16, 9));
  writeFile(dir + "/data/healthy.jsonl", lines(50, -1));
  auto filePipeline = [&](const std::string& name, const std::string& action) {
    return "version: 1\n"
           "name: " +
           name +
           "\n"
           "source:\n"
           "  type: file.jsonl\n"
           "  with: { path: ../data/" +
           name +
           ".jsonl, key_field: id }\n"
           "sink:\n"
           "  type: test.poison_sink\n"
           "  with: { path: " +
           dir + "/" + name + ".out, action: " + action +
           " }\n"
           "batch: { size: 16 }\n";
  };
  writeFile(dir + "/pipelines.d/sinkpoison.yaml", filePipeline("sinkpoison", "segv"));
  writeFile(dir + "/pipelines.d/healthy.yaml", filePipeline("healthy", "segv"));
  writeFile(dir + "/pipelines.d/doomed.yaml", sourcePipeline("doomed", dir, "segv", -1));
  writeFile(dir + "/omniloop.yaml", daemonConfig(port, "plugin_isolation:\n  max_restarts: 5\n"));
  const std::string err = dir + "/daemon.err";
  const pid_t pid = startDaemon(dir, err);
  auto alive = [&] { return ::waitpid(pid, nullptr, WNOHANG) == 0; };
  auto field = [&](const std::string& name, const std::string& key) {
    auto p = pipeline(port, name);
    return p && p->has(key) && !p->isNull(key) ? p->getValue<std::string>(key) : std::string();
  };
  EXPECT_TRUE(waitFor([&] {
    return !alive() ||
           (field("sinkpoison", "state") == "done" && field("healthy", "state") == "done" &&
            !field("doomed", "last_error").empty());
  })) << readFile(err);
  EXPECT_TRUE(alive()) << readFile(err);
  EXPECT_FALSE(get(port, "/health").empty());
  EXPECT_EQ(writtenIds(dir + "/healthy.out"), idsExcept(50, -1));
  EXPECT_EQ(writtenIds(dir + "/sinkpoison.out"), idsExcept(16, 9));
  const std::string db = dir + "/var/cdp.db";
  EXPECT_EQ(query(db, "SELECT reason FROM dead_letters WHERE pipeline='sinkpoison'"),
            "plugin crashed (signal 11) on this record\n");
  EXPECT_EQ(count(db, "SELECT count(*) FROM dead_letters WHERE pipeline='healthy'"), 0);
  auto sp = pipeline(port, "sinkpoison");
  ASSERT_TRUE(sp);
  auto counters = sp->getObject("counters");
  ASSERT_TRUE(counters && counters->has("plugin_crashes")) << get(port, "/v1/pipelines/sinkpoison");
  EXPECT_GE(counters->getObject("plugin_crashes")->getValue<int>("signal 11"), 1);
  EXPECT_FALSE(pipeline(port, "healthy")->getObject("counters")->has("plugin_crashes"));
  // The doomed source: its pipeline shows the failure, counted crashes included.
  const std::string error = field("doomed", "last_error");
  EXPECT_NE(error.find("plugin test.poison, source type 'test.poison_source'"), std::string::npos)
      << error;
  EXPECT_NE(error.find("6 times in a row reading at the same position"), std::string::npos)
      << error;
  auto doomed = pipeline(port, "doomed");
  ASSERT_TRUE(doomed);
  EXPECT_NE(doomed->getValue<std::string>("state"), "running");
  auto dc = doomed->getObject("counters");
  ASSERT_TRUE(dc && dc->has("plugin_crashes")) << get(port, "/v1/pipelines/doomed");
  EXPECT_GE(dc->getObject("plugin_crashes")->getValue<int>("signal 11"), 6);
  const std::vector<long> doomed_ids = writtenIds(dir + "/doomed.out");
  EXPECT_TRUE(std::adjacent_find(doomed_ids.begin(), doomed_ids.end()) == doomed_ids.end());
  const std::string log = readFile(err);
  for (const char* needle :
       {"pipeline 'sinkpoison': plugin test.poison, sink type 'test.poison_sink' (sink ",
        "pipeline 'doomed': plugin test.poison, source type 'test.poison_source'",
        "crashed (signal 11, SIGSEGV)"}) {
    EXPECT_NE(log.find(needle), std::string::npos) << needle << "\n" << log;
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << readFile(err);
  if (!::testing::Test::HasFailure()) fs::remove_all(dir);
}

}  // namespace
