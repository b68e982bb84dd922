// omniloopd as an operator runs it: the real binary, its admin API over loopback HTTP, signals,
// reloads, and `omniloop status`. Each test gets its own directory, store and free port.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>

#include <atomic>
#include <set>

#include "command.h"

using namespace omniloop::testing;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

const std::string kToken = "e2e-token-0123456789";

std::string omniloopdBin() {
  return std::string(OMNILOOP_BIN_DIR) + "/omniloopd";
}

void writeFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

void appendFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::app) << text;
}

// Lines {"id":first..first+n-1}; ids are the natural keys, so event ids are deterministic.
std::string jsonLines(int first, int n) {
  std::string out;
  for (int i = first; i < first + n; ++i) {
    out += "{\"id\":" + std::to_string(i) + ",\"n\":" + std::to_string(i % 97) + "}\n";
  }
  return out;
}

uint16_t freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

template <typename Pred>
bool waitFor(Pred pred, milliseconds timeout = milliseconds(10000)) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return pred();
}

struct Reply {
  int status = 0;  // 0: no connection
  std::string body;
};

Reply http(uint16_t port, const std::string& method, const std::string& path,
           const std::string& token = kToken) {
  Reply r;
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!token.empty()) req.set("Authorization", "Bearer " + token);
    if (method == "POST") req.setContentLength(0);
    session.sendRequest(req);
    Poco::Net::HTTPResponse resp;
    std::istream& in = session.receiveResponse(resp);
    std::ostringstream ss;
    ss << in.rdbuf();
    r.status = resp.getStatus();
    r.body = ss.str();
  } catch (const Poco::Exception&) {
    r.status = 0;
  }
  return r;
}

Poco::JSON::Object::Ptr parseObject(const std::string& text) {
  try {
    return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception&) {
    return nullptr;
  }
}

// One pipeline from GET /v1/pipelines/{name}; nullptr when absent.
Poco::JSON::Object::Ptr pipelineInfo(uint16_t port, const std::string& name) {
  const Reply r = http(port, "GET", "/v1/pipelines/" + name);
  if (r.status != 200) return nullptr;
  return parseObject(r.body);
}

std::string stateOf(uint16_t port, const std::string& name) {
  auto p = pipelineInfo(port, name);
  return p ? p->getValue<std::string>("state") : "";
}

uint64_t counter(uint16_t port, const std::string& name, const std::string& key) {
  auto p = pipelineInfo(port, name);
  if (!p) return 0;
  return p->getObject("counters")->getValue<uint64_t>(key);
}

// The value of one sample line of /metrics, or -1.
double metric(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

// An installation in a scratch directory: omniloop.yaml, pipelines.d/, data/, token, store.
class Install {
 public:
  explicit Install(const std::string& name, const std::string& extra_config = "")
      : dir(tempDir("daemon-" + name)), port(freePort()) {
    writeFile(dir + "/token", kToken + "\n");
    fs::permissions(dir + "/token", fs::perms::owner_read | fs::perms::owner_write);
    fs::create_directories(dir + "/pipelines.d");
    fs::create_directories(dir + "/data");
    writeConfig(extra_config);
  }
  // Kept when the test failed, for its daemon.err and store.
  ~Install() {
    if (!::testing::Test::HasFailure()) {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  }

  void writeConfig(const std::string& extra, bool with_token = true) {
    writeFile(config(),
              "store: sqlite:var/cdp.db\n"
              "pipelines_dir: pipelines.d\n"
              "shutdown_timeout_seconds: 10\n"
              "admin:\n"
              "  listen: 127.0.0.1:" +
                  std::to_string(port) + "\n" + (with_token ? "  token_file: token\n" : "") +
                  extra);
  }

  std::string config() const { return dir + "/omniloop.yaml"; }
  std::string pipelineFile(const std::string& name) const {
    return dir + "/pipelines.d/" + name + ".yaml";
  }
  std::string data(const std::string& file) const { return dir + "/data/" + file; }

  // A file.jsonl pipeline into the CDP store (one map stage so stage metrics exist).
  void jsonlPipeline(const std::string& name, const std::string& data_file, bool follow,
                     int batch = 100, const std::string& extra_set = "") const {
    writeFile(pipelineFile(name),
              "version: 1\n"
              "name: " +
                  name +
                  "\n"
                  "source:\n"
                  "  type: file.jsonl\n"
                  "  with: { path: ../data/" +
                  data_file + ", key_field: id" + (follow ? ", follow: true" : "") +
                  " }\n"
                  "stages:\n"
                  "  - map:\n"
                  "      set: { $channel: test, $type: line.added" +
                  extra_set +
                  " }\n"
                  "sink:\n"
                  "  type: cdp\n"
                  "batch: { size: " +
                  std::to_string(batch) + " }\n");
  }

  // `omniloop stats --json` of this installation's store: the number of events.
  long storedEvents() const {
    const CommandResult r = runCommand({omniloopBin(), "stats", "--config", config(), "--json"});
    const std::string key = "\"events\":";
    const size_t at = r.out.find(key);
    if (r.exit_code != 0 || at == std::string::npos) return -1;
    return std::stol(r.out.substr(at + key.size()));
  }

  std::string dir;
  uint16_t port;
};

// A running omniloopd, stdout/stderr in files of the install dir; killed if the test ends early.
class Daemon {
 public:
  explicit Daemon(const Install& install, std::vector<std::string> extra_args = {})
      : install_(install) {
    std::vector<std::string> argv = {omniloopdBin(), "--config", install.config()};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    const std::string out = install.dir + "/daemon.out";
    err_path_ = install.dir + "/daemon.err";
    pid_ = fork();
    if (pid_ == 0) {
      const int o = open(out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      const int e = open(err_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      dup2(o, 1);
      dup2(e, 2);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~Daemon() {
    if (pid_ > 0 && exit_code_ < 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // Waits for /health to answer (false if the process exited first or it took too long).
  bool waitHealthy(milliseconds timeout = milliseconds(10000)) {
    return waitFor(
               [&] { return exited() || http(install_.port, "GET", "/health", "").status == 200; },
               timeout) &&
           !exited();
  }

  bool exited() {
    if (exit_code_ >= 0) return true;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return true;
    }
    return false;
  }

  void signal(int sig) { kill(pid_, sig); }

  // Sends `sig` and waits for the exit; the exit code, or -1 after `timeout`.
  int stop(int sig = SIGTERM, milliseconds timeout = milliseconds(15000)) {
    signal(sig);
    return waitExit(timeout);
  }

  int waitExit(milliseconds timeout = milliseconds(15000)) {
    waitFor([&] { return exited(); }, timeout);
    return exit_code_;
  }

  std::string log() const { return readFile(err_path_); }

 private:
  const Install& install_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string err_path_;
};

// Appends `total` lines in chunks from another thread while a test does something else.
class Appender {
 public:
  Appender(std::string path, int first, int total, int chunk, milliseconds pause)
      : thread_([=, this] {
          for (int i = 0; i < total; i += chunk) {
            appendFile(path, jsonLines(first + i, std::min(chunk, total - i)));
            written_.store(i + std::min(chunk, total - i));
            std::this_thread::sleep_for(pause);
          }
        }) {}
  ~Appender() { join(); }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  int written() const { return written_.load(); }

 private:
  std::atomic<int> written_{0};
  std::thread thread_;
};

// The whitespace-separated cells of the table line starting with `first`.
std::vector<std::string> tableRow(const std::string& out, const std::string& first) {
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(first + " ", 0) != 0) continue;
    std::istringstream words(line);
    std::vector<std::string> cells;
    for (std::string w; words >> w;) cells.push_back(w);
    return cells;
  }
  return {};
}

const std::string kPosOrders = sourceDir() + "/examples/quickstart/pipelines/pos-orders.yaml";

// The quickstart POS pipeline with its data path made absolute.
void installPosOrders(const Install& in) {
  std::string text = readFile(kPosOrders);
  const std::string rel = "../data/pos/orders.jsonl";
  text.replace(text.find(rel), rel.size(),
               sourceDir() + "/examples/quickstart/data/pos/orders.jsonl");
  writeFile(in.pipelineFile("pos-orders"), text);
}

}  // namespace

TEST(Daemon, RunsValidPipelinesBesideAnInvalidOneAndServesHealth) {
  Install in("start");
  installPosOrders(in);
  writeFile(in.data("events.jsonl"), jsonLines(1, 20));
  in.jsonlPipeline("events", "events.jsonl", /*follow=*/true);
  writeFile(in.pipelineFile("broken"),
            "version: 1\nname: broken\nsource:\n  type: file.cvs\n  with: { path: x.csv }\n"
            "sink:\n  type: cdp\n");
  Daemon d(in);
  ASSERT_TRUE(d.waitHealthy()) << d.log();
  const Reply health = http(in.port, "GET", "/health", "");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, R"({"status":"ok"})");

  ASSERT_TRUE(waitFor([&] { return stateOf(in.port, "pos-orders") == "done"; })) << d.log();
  ASSERT_TRUE(waitFor([&] { return counter(in.port, "events", "written") == 20; })) << d.log();
  EXPECT_EQ(stateOf(in.port, "events"), "running");  // followed: keeps running

  auto broken = pipelineInfo(in.port, "broken");
  ASSERT_TRUE(broken);
  EXPECT_EQ(broken->getValue<std::string>("state"), "invalid");
  const std::string diag = broken->getArray("diagnostics")->getElement<std::string>(0);
  EXPECT_NE(diag.find(in.pipelineFile("broken") + ":4:9: error:"), std::string::npos) << diag;
  EXPECT_NE(d.log().find(in.pipelineFile("broken") + ":4:9: error:"), std::string::npos);

  const Reply list = http(in.port, "GET", "/v1/pipelines");
  ASSERT_EQ(list.status, 200);
  auto root = parseObject(list.body);
  ASSERT_TRUE(root);
  std::set<std::string> names;
  auto arr = root->getArray("pipelines");
  for (size_t i = 0; i < arr->size(); ++i) {
    names.insert(arr->getObject(static_cast<unsigned>(i))->getValue<std::string>("name"));
  }
  EXPECT_EQ(names, (std::set<std::string>{"broken", "events", "pos-orders"}));

  auto events = pipelineInfo(in.port, "events");
  EXPECT_NE(events->getValue<std::string>("cursor").find("offset="), std::string::npos);
  EXPECT_TRUE(events->isNull("last_error"));
  // Invalid files do not hold readiness back; they are listed as warnings.
  const Reply ready = http(in.port, "GET", "/ready");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_NE(ready.body.find("broken"), std::string::npos);
  EXPECT_EQ(d.stop(), 0) << d.log();
}

TEST(Daemon, AdminEndpointsNeedTheBearerToken) {
  Install in("auth");
  installPosOrders(in);
  Daemon d(in);
  ASSERT_TRUE(d.waitHealthy()) << d.log();
  // Ready once the pipeline has started (its plugin source's worker process is up).
  ASSERT_TRUE(waitFor([&] { return http(in.port, "GET", "/ready").status == 200; })) << d.log();
  for (const char* path : {"/ready", "/metrics", "/v1/pipelines", "/v1/pipelines/pos-orders"}) {
    const Reply none = http(in.port, "GET", path, "");
    EXPECT_EQ(none.status, 401) << path;
    auto body = parseObject(none.body);
    ASSERT_TRUE(body) << none.body;
    EXPECT_TRUE(body->has("error") && body->has("hint")) << none.body;
    EXPECT_EQ(http(in.port, "GET", path, "wrong-token").status, 401) << path;
    EXPECT_EQ(http(in.port, "GET", path).status, 200) << path;
  }
  EXPECT_EQ(http(in.port, "POST", "/v1/reload", "").status, 401);
  EXPECT_EQ(http(in.port, "POST", "/v1/pipelines/pos-orders/restart", "nope").status, 401);
  EXPECT_EQ(http(in.port, "GET", "/v1/pipelines/unknown").status, 404);
  EXPECT_EQ(http(in.port, "PUT", "/v1/pipelines").status, 405);
  EXPECT_EQ(http(in.port, "GET", "/v1/nothing").status, 404);

  // Token rotation: a new token in the file takes effect on reload; the old one stops working.
  writeFile(in.dir + "/token", "rotated-token\n");
  d.signal(SIGHUP);
  ASSERT_TRUE(waitFor([&] {
    return http(in.port, "GET", "/v1/pipelines", "rotated-token").status == 200;
  })) << d.log();
  EXPECT_EQ(http(in.port, "GET", "/v1/pipelines").status, 401);
  EXPECT_EQ(d.stop(), 0) << d.log();
}

TEST(Daemon, WithoutATokenFileOnlyHealthIsServed) {
  Install in("notoken");
  in.writeConfig("", /*with_token=*/false);
  Daemon d(in);
  ASSERT_TRUE(d.waitHealthy()) << d.log();
  EXPECT_EQ(http(in.port, "GET", "/health", "").status, 200);
  const Reply r = http(in.port, "GET", "/v1/pipelines", "anything");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("configure admin.token_file"), std::string::npos) << r.body;
  EXPECT_NE(d.log().find("admin.token_file is not set"), std::string::npos);
  EXPECT_EQ(d.stop(), 0);
}

TEST(Daemon, MetricsCountTheIngestedEvents) {
  Install in("metrics");
  installPosOrders(in);
  Daemon d(in);
  ASSERT_TRUE(d.waitHealthy()) << d.log();
  ASSERT_TRUE(waitFor([&] { return stateOf(in.port, "pos-orders") == "done"; })) << d.log();
  const Reply r = http(in.port, "GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  const std::string& m = r.body;
  const std::string p = "{pipeline=\"pos-orders\"}";
  EXPECT_EQ(metric(m, "omniloop_events_read_total" + p), 7) << m;
  EXPECT_EQ(metric(m, "omniloop_events_written_total" + p), 5);
  EXPECT_EQ(metric(m, "omniloop_events_filtered_total" + p), 1);       // the voided order
  EXPECT_EQ(metric(m, "omniloop_events_dead_lettered_total" + p), 1);  // the broken JSON line
  EXPECT_EQ(metric(m, "omniloop_stage_events_in_total{pipeline=\"pos-orders\",stage=\"1:filter\"}"),
            6);
  EXPECT_EQ(
      metric(m, "omniloop_stage_events_filtered_total{pipeline=\"pos-orders\",stage=\"1:filter\"}"),
      1);
  EXPECT_EQ(metric(m, "omniloop_stage_events_in_total{pipeline=\"pos-orders\",stage=\"2:map\"}"),
            5);
  EXPECT_EQ(
      metric(m,
             "omniloop_stage_events_dead_lettered_total{pipeline=\"pos-orders\",stage=\"2:map\"}"),
      0);
  const double batches = metric(m, "omniloop_batch_duration_seconds_count" + p);
  EXPECT_GE(batches, 1);
  EXPECT_EQ(
      metric(m, "omniloop_batch_duration_seconds_bucket{pipeline=\"pos-orders\",le=\"+Inf\"}"),
      batches);
  EXPECT_GE(metric(m, "omniloop_batch_duration_seconds_sum" + p), 0);
  EXPECT_EQ(metric(m, "omniloop_queue_depth" + p), 0);
  EXPECT_EQ(metric(m, "omniloop_pipeline_up" + p), 1);
  EXPECT_EQ(metric(m, "omniloop_pipeline_restarts_total" + p), 0);
  EXPECT_EQ(metric(m, "omniloop_plugin_load_failures_total"), 0);
  EXPECT_EQ(metric(m, "omniloop_store_errors_total"), 0);
  EXPECT_EQ(
      metric(m, std::string("omniloop_build_info{version=\"") + OMNILOOP_VERSION_STRING + "\"}"),
      1);
  EXPECT_EQ(in.storedEvents(), 5);
  EXPECT_EQ(d.stop(), 0);
}

TEST(Daemon, PipelinesRunWithTheirOwnBatchSize) {
  // omniloopd used the executor's default (1024) instead of the pipeline's `batch: { size }`.
  Install in("batch");
  writeFile(in.data("small.jsonl"), jsonLines(1, 100));
  in.jsonlPipeline("small", "small.jsonl", /*follow=*/false, /*batch=*/10);
  Daemon d(in);
  ASSERT_TRUE(d.waitHealthy()) << d.log();
  ASSERT_TRUE(waitFor([&] { return stateOf(in.port, "small") == "done"; })) << d.log();
  EXPECT_EQ(counter(in.port, "small", "written"), 100u);
  EXPECT_GE(counter(in.port, "small", "batches"), 10u) << "batches of at most 10 records";
  EXPECT_EQ(d.stop(), 0);
}

TEST(Daemon, FollowedFileIngestsAppendedLines) {
  Install in("follow");
  writeFile(in.data("live.jsonl"), jsonLines(1, 10));
  in.jsonlPipeline("live", "live.jsonl", /*follow=*/true);
  Daemon d(in);
  ASSERT_TRUE(d.waitHealthy()) << d.log();
  ASSERT_TRUE(waitFor([&] { return counter(in.port, "live", "written") == 10; })) << d.log();
  appendFile(in.data("live.jsonl"), jsonLines(11, 15));
  ASSERT_TRUE(waitFor([&] { return counter(in.port, "live", "written") == 25; })) << d.log();
  EXPECT_EQ(stateOf(in.port, "live"), "running");
  EXPECT_EQ(in.storedEvents(), 25);
  EXPECT_EQ(d.stop(), 0);
}

TEST(Daemon, ReloadDuringIngestLosesAndDuplicatesNothing) {
  Install in("reload");
  writeFile(in.data("stream.jsonl"), "");
  in.jsonlPipeline("stream", "stream.jsonl", /*follow=*/true, /*batch=*/50);
  writeFile(in.data("steady.jsonl"), jsonLines(1, 5));
  in.jsonlPipeline("steady", "steady.jsonl", /*follow=*/true);
  Daemon d(in);
  ASSERT_TRUE(d.waitHealthy()) << d.log();
  ASSERT_TRUE(waitFor([&] { return counter(in.port, "steady", "written") == 5; }));

  constexpr int kLines = 6000;
  Appender writer(in.data("stream.jsonl"), 1, kLines, 150, milliseconds(40));
  ASSERT_TRUE(waitFor([&] { return counter(in.port, "stream", "read") > 0; })) << d.log();
  // Change the pipeline while lines keep arriving, then reload through the API.
  in.jsonlPipeline("stream", "stream.jsonl", /*follow=*/true, /*batch=*/70, ", version: 2");
  const Reply reload = http(in.port, "POST", "/v1/reload");
  ASSERT_EQ(reload.status, 200) << reload.body;
  auto summary = parseObject(reload.body);
  ASSERT_TRUE(summary);
  EXPECT_EQ(summary->getArray("restarted")->size(), 1u) << reload.body;
  EXPECT_EQ(summary->getArray("restarted")->getElement<std::string>(0), "stream");
  EXPECT_EQ(summary->getArray("unchanged")->getElement<std::string>(0), "steady");
  EXPECT_LT(writer.written(), kLines) << "the reload should happen during ingest";
  const uint64_t read_at_reload = counter(in.port, "stream", "read");

  // And once more by SIGHUP, still during ingest.
  in.jsonlPipeline("stream", "stream.jsonl", /*follow=*/true, /*batch=*/40, ", version: 3");
  d.signal(SIGHUP);
  writer.join();
  ASSERT_TRUE(
      waitFor([&] { return counter(in.port, "stream", "written") >= kLines; }, milliseconds(15000)))
      << d.log();
  std::this_thread::sleep_for(milliseconds(300));  // anything extra would show now

  // Nothing lost: every line is in the store. Nothing duplicated: the source read each line
  // exactly once over the three runs (a re-read would count twice; the store would only upsert).
  EXPECT_EQ(in.storedEvents(), kLines + 5);
  EXPECT_EQ(counter(in.port, "stream", "read"), static_cast<uint64_t>(kLines));
  EXPECT_EQ(counter(in.port, "stream", "written"), static_cast<uint64_t>(kLines));
  EXPECT_GT(read_at_reload, 0u);
  EXPECT_EQ(stateOf(in.port, "stream"), "running");
  // The unchanged pipeline was never restarted.
  EXPECT_EQ(pipelineInfo(in.port, "steady")->getValue<int>("restarts"), 0);
  EXPECT_NE(d.log().find("SIGHUP: reloading"), std::string::npos);
  EXPECT_EQ(d.stop(), 0) << d.log();
}

TEST(Daemon, ReloadStopsRemovedPipelinesAndStartsNewOnes) {
  Install in("remove");
  writeFile(in.data("a.jsonl"), jsonLines(1, 3));
  writeFile(in.data("b.jsonl"), jsonLines(1001, 4));
  in.jsonlPipeline("a", "a.jsonl", true);
  in.jsonlPipeline("b", "b.jsonl", true);
  Daemon d(in);
  ASSERT_TRUE(d.waitHealthy()) << d.log();
  ASSERT_TRUE(waitFor([&] { return in.storedEvents() == 7; })) << d.log();

  fs::remove(in.pipelineFile("b"));
  writeFile(in.data("c.jsonl"), jsonLines(2001, 2));
  in.jsonlPipeline("c", "c.jsonl", false);
  const Reply reload = http(in.port, "POST", "/v1/reload");
  ASSERT_EQ(reload.status, 200);
  auto s = parseObject(reload.body);
  EXPECT_EQ(s->getArray("stopped")->getElement<std::string>(0), "b");
  EXPECT_EQ(s->getArray("started")->getElement<std::string>(0), "c");
  EXPECT_EQ(s->getArray("unchanged")->getElement<std::string>(0), "a");

  EXPECT_EQ(http(in.port, "GET", "/v1/pipelines/b").status, 404);
  ASSERT_TRUE(waitFor([&] { return stateOf(in.port, "c") == "done"; })) << d.log();
  appendFile(in.data("b.jsonl"), jsonLines(1005, 10));  // b no longer runs
  appendFile(in.data("a.jsonl"), jsonLines(4, 1));      // a still does
  ASSERT_TRUE(waitFor([&] { return counter(in.port, "a", "written") == 4; })) << d.log();
  std::this_thread::sleep_for(milliseconds(500));
  EXPECT_EQ(in.storedEvents(), 3 + 4 + 2 + 1);
  EXPECT_EQ(d.stop(), 0);
}

// Lines of /metrics (the exposition) that start with `prefix`.
size_t metricLines(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.rfind(prefix, 0) == 0 ? 1 : 0;
  return n;
}

// Issue 9: two files with the same `name:` gave two entries in /v1/pipelines and duplicate
// /metrics series. One name, one pipeline: the newcomer is refused, naming both files.
TEST(Daemon, OneNameOnePipelineAtStartAndAtReload) {
  Install in("dupname");
  writeFile(in.data("a.jsonl"), jsonLines(1, 3));
  writeFile(in.data("b.jsonl"), jsonLines(101, 4));
  in.jsonlPipeline("calls", "a.jsonl", true);  // pipelines.d/calls.yaml
  std::string second = readFile(in.pipelineFile("calls"));
  second.replace(second.find("a.jsonl"), 7, "b.jsonl");
  writeFile(in.pipelineFile("calls2"), second);  // sorts after calls.yaml: refused
  Daemon d(in);
  ASSERT_TRUE(d.waitHealthy()) << d.log();
  ASSERT_TRUE(waitFor([&] { return counter(in.port, "calls", "written") == 3; })) << d.log();

  auto list = parseObject(http(in.port, "GET", "/v1/pipelines").body);
  ASSERT_TRUE(list);
  EXPECT_EQ(list->getArray("pipelines")->size(), 1u);
  auto refused = list->getArray("refused");
  ASSERT_TRUE(refused);
  ASSERT_EQ(refused->size(), 1u);
  const std::string reason = refused->getObject(0)->getValue<std::string>("reason");
  EXPECT_EQ(refused->getObject(0)->getValue<std::string>("file"), in.pipelineFile("calls2"));
  EXPECT_NE(reason.find(in.pipelineFile("calls2")), std::string::npos) << reason;
  EXPECT_NE(reason.find(in.pipelineFile("calls")), std::string::npos) << reason;
  EXPECT_EQ(pipelineInfo(in.port, "calls")->getValue<std::string>("file"),
            in.pipelineFile("calls"));
  const std::string metrics = http(in.port, "GET", "/metrics").body;
  EXPECT_EQ(metricLines(metrics, "omniloop_pipeline_up{pipeline=\"calls\"}"), 1u) << metrics;
  EXPECT_NE(d.log().find("calls2.yaml refused"), std::string::npos) << d.log();
  EXPECT_EQ(in.storedEvents(), 3);  // b.jsonl was never read
  const CommandResult status = runCommand({omniloopBin(), "status", "--config", in.config()});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("refused pipeline files:\n  " + in.pipelineFile("calls2") +
                            ":1:1: error: pipeline name 'calls' is already used by " +
                            in.pipelineFile("calls")),
            std::string::npos)
      << status.out;

  // Reload: a newcomer sorting before the running file, while the running file changes too.
  // The running one keeps its name.
  std::string early = second;
  early.replace(early.find("b.jsonl"), 7, "c.jsonl");
  writeFile(in.data("c.jsonl"), jsonLines(201, 2));
  writeFile(in.pipelineFile("0-calls"), early);
  in.jsonlPipeline("calls", "a.jsonl", true, /*batch=*/50);
  const Reply reload = http(in.port, "POST", "/v1/reload");
  ASSERT_EQ(reload.status, 200) << reload.body;
  auto answer = parseObject(reload.body);
  EXPECT_EQ(answer->getArray("restarted")->size(), 1u) << reload.body;
  ASSERT_EQ(answer->getArray("refused")->size(), 2u) << reload.body;
  EXPECT_NE(reload.body.find("0-calls.yaml:1:1: error: pipeline name 'calls' is already used by " +
                             in.pipelineFile("calls")),
            std::string::npos)
      << reload.body;
  list = parseObject(http(in.port, "GET", "/v1/pipelines").body);
  EXPECT_EQ(list->getArray("pipelines")->size(), 1u);
  EXPECT_EQ(pipelineInfo(in.port, "calls")->getValue<std::string>("file"),
            in.pipelineFile("calls"));
  EXPECT_EQ(metricLines(http(in.port, "GET", "/metrics").body,
                        "omniloop_pipeline_up{pipeline=\"calls\"}"),
            1u);
  // The daemon's restart acts on the one pipeline the API shows.
  EXPECT_EQ(http(in.port, "POST", "/v1/pipelines/calls/restart").status, 202);
  ASSERT_TRUE(waitFor([&] { return stateOf(in.port, "calls") == "running"; })) << d.log();
  appendFile(in.data("a.jsonl"), jsonLines(4, 1));
  ASSERT_TRUE(waitFor([&] { return in.storedEvents() == 4; })) << d.log();

  // The holder leaves: at the next reload the first refused file in path order takes the name.
  fs::remove(in.pipelineFile("calls"));
  const Reply again = http(in.port, "POST", "/v1/reload");
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(parseObject(again.body)->getArray("refused")->size(), 1u) << again.body;
  ASSERT_TRUE(waitFor([&] { return in.storedEvents() == 6; })) << d.log();  // c.jsonl's 2
  EXPECT_EQ(pipelineInfo(in.port, "calls")->getValue<std::string>("file"),
            in.pipelineFile("0-calls"));
  EXPECT_EQ(d.stop(), 0);
}

TEST(Daemon, AFailingPipelineBacksOffWhileTheOthersWork) {
  Install in("backoff");
  in.jsonlPipeline("missing", "missing.jsonl", true);
  writeFile(in.data("good.jsonl"), jsonLines(1, 5));
  in.jsonlPipeline("good", "good.jsonl", true);
  Daemon d(in);
  ASSERT_TRUE(d.waitHealthy()) << d.log();
  ASSERT_TRUE(waitFor([&] { return stateOf(in.port, "missing") == "backoff"; })) << d.log();
  auto info = pipelineInfo(in.port, "missing");
  EXPECT_NE(info->getValue<std::string>("last_error").find("missing.jsonl"), std::string::npos)
      << info->getValue<std::string>("last_error");
  EXPECT_GT(info->getValue<double>("retry_in_seconds"), 0.0);
  // It is retried (1 s, then 2 s...) and counted.
  ASSERT_TRUE(
      waitFor([&] { return pipelineInfo(in.port, "missing")->getValue<int>("restarts") >= 1; },
              milliseconds(5000)));
  // The retry itself passes through "starting" before it fails again: wait, don't sample.
  EXPECT_TRUE(waitFor([&] { return stateOf(in.port, "missing") == "backoff"; }, milliseconds(3000)))
      << d.log();

  // The other pipeline works all along.
  ASSERT_TRUE(waitFor([&] { return counter(in.port, "good", "written") == 5; })) << d.log();
  appendFile(in.data("good.jsonl"), jsonLines(6, 3));
  ASSERT_TRUE(waitFor([&] { return counter(in.port, "good", "written") == 8; })) << d.log();

  const Reply ready = http(in.port, "GET", "/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("pipeline missing is backoff"), std::string::npos) << ready.body;
  const Reply m = http(in.port, "GET", "/metrics");
  EXPECT_EQ(metric(m.body, "omniloop_pipeline_up{pipeline=\"missing\"}"), 0);
  EXPECT_EQ(metric(m.body, "omniloop_pipeline_up{pipeline=\"good\"}"), 1);
  EXPECT_GE(metric(m.body, "omniloop_pipeline_restarts_total{pipeline=\"missing\"}"), 1);
  EXPECT_NE(d.log().find("pipeline missing failed"), std::string::npos);

  // Once the file exists, a restart request skips the rest of the backoff.
  writeFile(in.data("missing.jsonl"), jsonLines(501, 2));
  const Reply restart = http(in.port, "POST", "/v1/pipelines/missing/restart");
  EXPECT_EQ(restart.status, 202) << restart.body;
  ASSERT_TRUE(waitFor([&] { return stateOf(in.port, "missing") == "running"; }, milliseconds(3000)))
      << d.log();
  ASSERT_TRUE(waitFor([&] { return counter(in.port, "missing", "written") == 2; }));
  EXPECT_EQ(http(in.port, "GET", "/ready").status, 200);
  EXPECT_EQ(d.stop(), 0);
}

TEST(Daemon, SigtermDrainsCommitsAndExitsZero) {
  Install in("sigterm");
  writeFile(in.data("flow.jsonl"), "");
  in.jsonlPipeline("flow", "flow.jsonl", /*follow=*/true, /*batch=*/25);
  constexpr int kLines = 4000;
  long stored_first = 0;
  {
    Daemon d(in);
    ASSERT_TRUE(d.waitHealthy()) << d.log();
    Appender writer(in.data("flow.jsonl"), 1, kLines, 100, milliseconds(25));
    ASSERT_TRUE(waitFor([&] { return counter(in.port, "flow", "written") > 200; })) << d.log();
    const auto t0 = Clock::now();
    const int code = d.stop(SIGTERM);
    EXPECT_EQ(code, 0) << d.log();
    EXPECT_LT(Clock::now() - t0, seconds(10));  // within shutdown_timeout_seconds
    EXPECT_NE(d.log().find("stopping: draining pipelines"), std::string::npos);
    EXPECT_EQ(http(in.port, "GET", "/health", "").status, 0);  // the admin API is gone
    writer.join();
    stored_first = in.storedEvents();
    EXPECT_GT(stored_first, 0);
  }
  // The next daemon resumes exactly at the committed checkpoint: it reads only what the first
  // did not commit, and together they stored every line once.
  Daemon again(in);
  ASSERT_TRUE(again.waitHealthy()) << again.log();
  ASSERT_TRUE(waitFor([&] { return in.storedEvents() == kLines; }, milliseconds(15000)))
      << again.log();
  ASSERT_TRUE(waitFor([&] {
    return counter(in.port, "flow", "read") == static_cast<uint64_t>(kLines - stored_first);
  })) << counter(in.port, "flow", "read")
      << " read, expected " << kLines - stored_first;
  EXPECT_EQ(again.stop(SIGINT), 0);
}

TEST(Daemon, CheckConfigExitCodes) {
  Install in("check");
  installPosOrders(in);
  CommandResult ok = runCommand({omniloopdBin(), "--config", in.config(), "--check-config"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find(in.pipelineFile("pos-orders") + ": ok"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("\nok\n"), std::string::npos) << ok.out;

  writeFile(in.pipelineFile("bad"),
            "version: 1\nname: bad\nsource:\n  type: file.jsonl\n"
            "  with: { pth: x.jsonl }\nsink:\n  type: cdp\n");
  writeFile(in.pipelineFile("dup"), readFile(in.pipelineFile("pos-orders")));
  CommandResult bad = runCommand({omniloopdBin(), "--config", in.config(), "--check-config"});
  EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;
  EXPECT_NE(bad.out.find(in.pipelineFile("bad") + ":5:"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find(in.pipelineFile("pos-orders") +
                         ":1:1: error: pipeline name 'pos-orders' is "
                         "already used by " +
                         in.pipelineFile("dup")),
            std::string::npos)
      << bad.out;

  writeFile(in.config(), "store: sqlite:var/cdp.db\nadmn: {}\n");
  CommandResult bad_config =
      runCommand({omniloopdBin(), "--config", in.config(), "--check-config"});
  EXPECT_EQ(bad_config.exit_code, 2);
  EXPECT_NE(bad_config.err.find(in.config() + ":2:1"), std::string::npos) << bad_config.err;

  CommandResult usage = runCommand({omniloopdBin(), "--bogus"});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("unknown option --bogus"), std::string::npos);
  CommandResult help = runCommand({omniloopdBin(), "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("usage: omniloopd"), std::string::npos);
}

TEST(Daemon, RefusesToStartWhenTheAdminPortIsTaken) {
  Install in("port");
  Daemon first(in);
  ASSERT_TRUE(first.waitHealthy()) << first.log();
  Daemon second(in);
  EXPECT_EQ(second.waitExit(), 1);
  const std::string log = readFile(in.dir + "/daemon.err");
  EXPECT_NE(log.find("cannot listen on 127.0.0.1:" + std::to_string(in.port)), std::string::npos)
      << log;
  EXPECT_EQ(http(in.port, "GET", "/health", "").status, 200);  // the first one is untouched
  EXPECT_EQ(first.stop(), 0);
}

TEST(Daemon, StatusCommandPrintsThePipelineTable) {
  Install in("status");
  installPosOrders(in);
  in.jsonlPipeline("missing", "missing.jsonl", true);
  Daemon d(in);
  ASSERT_TRUE(d.waitHealthy()) << d.log();
  ASSERT_TRUE(waitFor([&] {
    return stateOf(in.port, "pos-orders") == "done" && stateOf(in.port, "missing") == "backoff";
  }));
  CommandResult r = runCommand({omniloopBin(), "status", "--config", in.config()});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("PIPELINE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("DEAD-LETTERED"), std::string::npos);
  const std::vector<std::string> missing = tableRow(r.out, "missing");
  ASSERT_GE(missing.size(), 9u) << r.out;
  EXPECT_EQ(std::vector<std::string>(missing.begin(), missing.begin() + 5),
            (std::vector<std::string>{"missing", "backoff", "0", "0", "0"}))
      << r.out;
  EXPECT_EQ(missing[6] + " " + missing[7], "cannot start:") << r.out;
  EXPECT_NE(r.out.find("cannot open"), std::string::npos) << r.out;
  EXPECT_EQ(tableRow(r.out, "pos-orders"),
            (std::vector<std::string>{"pos-orders", "done", "7", "5", "1", "0", "-"}))
      << r.out;

  // --url and --token-file instead of the config; a wrong token is refused.
  writeFile(in.dir + "/wrong", "nope\n");
  CommandResult denied =
      runCommand({omniloopBin(), "status", "--url", "http://127.0.0.1:" + std::to_string(in.port),
                  "--token-file", in.dir + "/wrong"});
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.err.find("401"), std::string::npos) << denied.err;
  CommandResult json = runCommand({omniloopBin(), "status", "--config", in.config(), "--json"});
  EXPECT_EQ(json.exit_code, 0);
  EXPECT_TRUE(parseObject(json.out)) << json.out;

  EXPECT_EQ(d.stop(), 0);
  CommandResult down = runCommand({omniloopBin(), "status", "--config", in.config()});
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("cannot reach omniloopd at http://127.0.0.1:" + std::to_string(in.port)),
            std::string::npos)
      << down.err;
}

TEST(Daemon, ServesHttpsWhenGivenACertificate) {
  Install in("tls");
  const std::string cert = in.dir + "/admin.crt";
  const std::string key = in.dir + "/admin.key";
  CommandResult gen = runCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048",
                                  "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
                                  "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  in.writeConfig("  tls_cert_file: admin.crt\n  tls_key_file: admin.key\n");
  installPosOrders(in);
  Daemon d(in);
  ASSERT_TRUE(waitFor([&] {
    return d.log().find("admin API listening on https://") != std::string::npos;
  })) << d.log();
  EXPECT_EQ(http(in.port, "GET", "/health", "").status, 0);  // plain HTTP is not spoken
  CommandResult r;
  ASSERT_TRUE(waitFor([&] {
    r = runCommand({omniloopBin(), "status", "--config", in.config()});
    return r.exit_code == 0 && r.out.find("pos-orders") != std::string::npos;
  })) << r.out
      << r.err;
  EXPECT_NE(r.out.find("https://127.0.0.1:" + std::to_string(in.port)), std::string::npos) << r.out;
  EXPECT_EQ(d.stop(), 0);
}

// POST /v1/subjects/erase and GET /v1/subjects/export on a running daemon; its followed
// pipeline then drops the erased subject's new events and counts them as `suppressed`.
namespace {

Reply httpBody(uint16_t port, const std::string& method, const std::string& path,
               const std::string& body, const std::string& token = kToken) {
  Reply r;
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!token.empty()) req.set("Authorization", "Bearer " + token);
    req.setContentType("application/json");
    req.setContentLength(static_cast<std::streamsize>(body.size()));
    session.sendRequest(req) << body;
    Poco::Net::HTTPResponse resp;
    std::istream& in = session.receiveResponse(resp);
    std::ostringstream ss;
    ss << in.rdbuf();
    r.status = resp.getStatus();
    r.body = ss.str();
  } catch (const Poco::Exception&) {
    r.status = 0;
  }
  return r;
}

std::string customerLines(int first, int n) {
  std::string out;
  for (int i = first; i < first + n; ++i) {
    out += "{\"id\":" + std::to_string(i) + ",\"email\":\"u" + std::to_string(i % 4) +
           "@example.com\"}\n";
  }
  return out;
}

}  // namespace

TEST(Daemon, AdminApiErasesAndExportsSubjectsWhilePipelinesRun) {
  Install in("rights");
  writeFile(in.data("customers.jsonl"), customerLines(0, 40));
  writeFile(in.pipelineFile("customers"),
            "version: 1\n"
            "name: customers\n"
            "source:\n"
            "  type: file.jsonl\n"
            "  with: { path: ../data/customers.jsonl, key_field: id, follow: true }\n"
            "stages:\n"
            "  - map:\n"
            "      copy: { email: $identities.email }\n"
            "      drop: [email]\n"
            "      set: { $channel: web, $type: visit }\n"
            "sink:\n"
            "  type: cdp\n"
            "batch: { size: 10 }\n");
  Daemon d(in);
  ASSERT_TRUE(d.waitHealthy()) << d.log();
  ASSERT_TRUE(waitFor([&] { return in.storedEvents() == 40; })) << d.log();

  // Refusals: no token, bad JSON, no reason, unknown type.
  EXPECT_EQ(httpBody(in.port, "POST", "/v1/subjects/erase",
                     R"({"identities":["email:u1@example.com"],"reason":"r"})", "")
                .status,
            401);
  EXPECT_EQ(httpBody(in.port, "POST", "/v1/subjects/erase", "{not json").status, 400);
  const Reply no_reason =
      httpBody(in.port, "POST", "/v1/subjects/erase", R"({"identities":["email:u1@example.com"]})");
  EXPECT_EQ(no_reason.status, 400);
  EXPECT_NE(no_reason.body.find("reason"), std::string::npos) << no_reason.body;
  EXPECT_EQ(
      httpBody(in.port, "POST", "/v1/subjects/erase", R"({"identities":["iban:DE1"],"reason":"r"})")
          .status,
      400);
  EXPECT_EQ(in.storedEvents(), 40);

  const Reply exported =
      http(in.port, "GET", "/v1/subjects/export?identity=email:u2%40example.com");
  ASSERT_EQ(exported.status, 200) << exported.body;
  auto doc = parseObject(exported.body);
  ASSERT_TRUE(doc) << exported.body;
  EXPECT_EQ(doc->getObject("tables")->getArray("events")->size(), 10u);

  const Reply erased = httpBody(in.port, "POST", "/v1/subjects/erase",
                                R"({"identities":["email:u1@example.com"],"reason":"ticket 9"})");
  ASSERT_EQ(erased.status, 200) << erased.body;
  auto report = parseObject(erased.body);
  ASSERT_TRUE(report);
  EXPECT_TRUE(report->getValue<bool>("held"));
  EXPECT_EQ(report->getObject("deleted")->getValue<int>("events"), 10);
  EXPECT_EQ(in.storedEvents(), 30);

  // New lines of the erased subject are dropped and counted; the others are stored.
  appendFile(in.data("customers.jsonl"), customerLines(40, 8));
  ASSERT_TRUE(waitFor([&] { return in.storedEvents() == 36; })) << d.log();
  auto p = pipelineInfo(in.port, "customers");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->getObject("counters")->getObject("suppressed")->getValue<uint64_t>("email"), 2u);
  EXPECT_EQ(metric(http(in.port, "GET", "/metrics").body,
                   "omniloop_suppressed_total{pipeline=\"customers\",reason=\"email\"}"),
            2);

  // Audited with the token's id, never the token.
  const CommandResult audit =
      runCommand({omniloopBin(), "audit", "--json", "--config", in.config()});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  EXPECT_NE(audit.out.find("\"actor\":\"api:token:"), std::string::npos) << audit.out;
  EXPECT_EQ(audit.out.find(kToken), std::string::npos) << audit.out;
  EXPECT_NE(audit.out.find("ticket 9"), std::string::npos);
  EXPECT_EQ(d.stop(), 0);
}

TEST(Daemon, RequestPathsAreLoggedEscapedSoTheyCannotForgeLogLines) {
  Install in("logescape", "log:\n  level: debug\n");
  Daemon d(in);
  ASSERT_TRUE(d.waitHealthy()) << d.log();
  const std::string forged = "/v1/x%0D%0A2026-12-06%2008:00:00.000%20[info]%20FORGED%20admin%20entry";
  EXPECT_EQ(http(in.port, "GET", forged).status, 404);
  EXPECT_EQ(http(in.port, "GET", "/health%0AFORGED2").status, 404);  // not /health
  ASSERT_TRUE(waitFor([&] { return d.log().find("FORGED2") != std::string::npos; })) << d.log();
  EXPECT_EQ(d.stop(), 0);
  const std::string log = d.log();
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("FORGED") == std::string::npos) continue;
    EXPECT_NE(line.find("admin: GET "), std::string::npos)
        << "a request path made a log line of its own: " << line;
    EXPECT_NE(line.rfind("2026-12-06 08:00:00.000 [info] FORGED", 0), 0u) << line;
    EXPECT_NE(line.rfind("FORGED2", 0), 0u) << line;
  }
  EXPECT_NE(log.find("/v1/x\\x0d\\x0a2026-12-06 08:00:00.000 [info] FORGED admin entry 404"),
            std::string::npos)
      << log;
}

TEST(Daemon, PlainHttpOnANonLoopbackAddressIsRefusedUnlessAllowed) {
  Install in("insecure");
  const std::string config = "store: sqlite:var/cdp.db\npipelines_dir: pipelines.d\n"
                             "admin:\n  listen: 0.0.0.0:" + std::to_string(in.port) +
                             "\n  token_file: token\n";
  writeFile(in.config(), config);
  Daemon refused(in);
  EXPECT_EQ(refused.waitExit(), 2);
  EXPECT_NE(refused.log().find("admin.listen 0.0.0.0:" + std::to_string(in.port) +
                               " is not a loopback address and TLS is off"),
            std::string::npos)
      << refused.log();
  EXPECT_NE(refused.log().find("admin.allow_insecure: true"), std::string::npos);
  CommandResult check = runCommand({omniloopdBin(), "--config", in.config(), "--check-config"});
  EXPECT_EQ(check.exit_code, 2) << check.out;
  EXPECT_NE(check.out.find("error: admin.listen 0.0.0.0:"), std::string::npos) << check.out;

  // Allowed: a warning (checked without starting: tests listen on loopback only).
  writeFile(in.config(), config + "  allow_insecure: true\n");
  check = runCommand({omniloopdBin(), "--config", in.config(), "--check-config"});
  EXPECT_EQ(check.exit_code, 0) << check.out;
  EXPECT_NE(check.out.find("warning: admin.listen 0.0.0.0:"), std::string::npos) << check.out;
  writeFile(in.config(), config + "  allow_insecure: maybe\n");
  check = runCommand({omniloopdBin(), "--config", in.config(), "--check-config"});
  EXPECT_EQ(check.exit_code, 2) << check.out << check.err;
}
