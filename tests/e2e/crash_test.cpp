// Exactly-once ingest, the hard way: `omniloop run` is killed with SIGKILL at 20 random moments
// of a 200,000-event ingest and restarted each time; the store must then hold exactly what a
// clean single run wrote — no event lost, none duplicated, the same profiles, identities,
// merges, conflicts and traits. On SQLite and on PostgreSQL (a real server started here).
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "../integration/store_backends.h"
#include "command.h"

namespace omniloop::testing {
namespace {

using store::testing::PgRaw;
using store::testing::Raw;
using store::testing::SqliteRaw;

constexpr int kEvents = 200000;
constexpr int kCustomers = 20000;
constexpr int kKills = 20;

// Deterministic input: customers appear by email, by crm id, or both (which merges the two
// profiles), some with a household phone (weak: never merges), and some with a crm id and a
// neighbour's email (a conflict when both already have crm ids: at most one per profile).
void writeEvents(const std::string& path) {
  std::ofstream f(path);
  std::mt19937_64 rng(7);
  const char* channels[] = {"pos", "web", "call_center", "crm", "social"};
  const char* types[] = {"order.placed", "page.viewed", "call.ended", "contact.updated",
                         "social.post"};
  for (int i = 0; i < kEvents; ++i) {
    const uint64_t r = rng();
    const unsigned c = static_cast<unsigned>(r % kCustomers);
    const unsigned k = static_cast<unsigned>((r >> 20) % 5);
    const long long ts = 1704067200LL + static_cast<long long>((r >> 8) % 31536000);
    f << "{\"event_id\":\"ev-" << i << "\",\"channel\":\"" << channels[k] << "\",\"type\":\""
      << types[k] << "\",\"ts\":" << ts;
    const unsigned shape = static_cast<unsigned>((r >> 32) % 100);
    const std::string email = "customer" + std::to_string(c) + "@example.com";
    const std::string crm = "C" + std::to_string(c);
    if (shape < 60) {
      f << ",\"email\":\"" << email << "\"";
    } else if (shape < 85) {
      f << ",\"crm\":\"" << crm << "\"";
    } else if (shape < 93) {
      f << ",\"email\":\"" << email << "\",\"crm\":\"" << crm << "\"";
    } else if (shape < 97) {
      f << ",\"email\":\"" << email << "\",\"phone\":\"+49171" << (1000000 + c / 3) << "\"";
    } else {
      f << ",\"crm\":\"" << crm << "\",\"email\":\"customer" << (c + 1) % kCustomers
        << "@example.com\"";
    }
    if (k == 0) f << ",\"order\":{\"total\":" << (r >> 40) % 50000 / 100.0 << "}";
    f << "}\n";
  }
}

std::string pipelineYaml(const std::string& input) {
  return "version: 1\n"
         "name: crash\n"
         "source:\n"
         "  type: file.jsonl\n"
         "  with: { path: " +
         input +
         ", key_field: event_id }\n"
         "stages:\n"
         "  - map:\n"
         "      copy: { email: $identities.email, crm: $identities.crm_id, phone: "
         "$identities.phone,\n"
         "              channel: $channel, type: $type }\n"
         "      time: { from: ts, format: unix }\n"
         "sink:\n"
         "  type: cdp\n"
         "batch: { size: 1000 }\n";
}

std::string configYaml(const std::string& store, const std::string& key) {
  return "store: " + store +
         "\n"
         "key_file: " +
         key +
         "\n"
         "log: { level: warn }\n"
         // Groups of at most 4 batches: the kills land inside open groups and between them.
         "group_commit: { max_events: 4000, max_ms: 300 }\n"
         "identity:\n"
         "  traits:\n"
         "    orders: { count: event_id, where: { channel: pos } }\n"
         "    lifetime_value: { sum: order.total, where: { channel: pos } }\n"
         "    channels: { distinct: $channel }\n"
         "    last_channel: { last: $channel }\n"
         "    first_order: { min: ts, where: { type: order.placed } }\n";
}

struct Backend {
  bool postgres;
  std::string uri;  // as given to omniloop
  std::string raw_path_or_uri;
  std::unique_ptr<Raw> raw() const {
    if (postgres) return std::make_unique<PgRaw>(raw_path_or_uri);
    return std::make_unique<SqliteRaw>(raw_path_or_uri);
  }
};

// Everything the store holds that does not depend on wall-clock time, in a stable order.
std::string snapshot(const Backend& b, const std::string& table) {
  auto raw = b.raw();
  const bool pg = b.postgres;
  const std::string id = pg ? "id" : "lower(hex(id))";
  const std::string profile_id = pg ? "profile_id" : "lower(hex(profile_id))";
  const std::string hash = pg ? "hash" : "lower(hex(hash))";
  if (table == "events") {
    return raw->all("SELECT " + id + ", " + profile_id +
                    ", channel, type, occurred_at, attributes FROM events ORDER BY 1");
  }
  if (table == "profiles") {
    return raw->all("SELECT " + id + ", first_seen, last_seen, traits FROM profiles ORDER BY 1");
  }
  if (table == "identities") {
    return raw->all("SELECT type, " + hash + ", " + profile_id +
                    ", source, first_seen, last_seen FROM identities ORDER BY 1, 2");
  }
  if (table == "profile_merges") {
    return raw->all(
        "SELECT from_profile, into_profile, reason FROM profile_merges ORDER BY 1, 2, 3");
  }
  if (table == "identity_conflicts") {
    return raw->all("SELECT type, " + hash + ", reason, " + profile_id +
                    ", other_profile, occurrences FROM identity_conflicts ORDER BY 1, 2, 3");
  }
  return raw->all("SELECT pipeline, source, cursor FROM checkpoints ORDER BY 1, 2");
}

long long count(const Backend& b, const std::string& table) {
  return std::stoll(b.raw()->one("SELECT count(*) FROM " + table));
}

// The first line where two snapshots differ, for a readable failure.
std::string firstDifference(const std::string& a, const std::string& b) {
  size_t line = 0, i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) {
    if (a[i] == '\n') ++line;
    ++i;
  }
  auto lineAt = [](const std::string& s, size_t pos) {
    const size_t start = s.rfind('\n', pos == 0 ? 0 : pos - 1);
    const size_t from = start == std::string::npos ? 0 : start + 1;
    return s.substr(from, s.find('\n', from) - from);
  };
  return "line " + std::to_string(line + 1) + ": clean '" + lineAt(a, i) + "' vs crashed '" +
         lineAt(b, i) + "'";
}

class CrashTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    dir_ = tempDir("crash");
    input_ = dir_ + "/events.jsonl";
    writeEvents(input_);
    pipeline_ = dir_ + "/crash.yaml";
    std::ofstream(pipeline_) << pipelineYaml(input_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Backend makeBackend(const std::string& name) {
    Backend b;
    b.postgres = GetParam();
    if (b.postgres) {
      auto& pg = PgServer::shared();
      const std::string db = pg.createDatabase(name);
      b.uri = pg.uri(db);
      b.raw_path_or_uri = b.uri;
    } else {
      b.raw_path_or_uri = dir_ + "/" + name + ".db";
      b.uri = "sqlite:" + b.raw_path_or_uri;
    }
    const std::string config = dir_ + "/" + name + ".yaml";
    std::ofstream(config) << configYaml(b.uri, dir_ + "/shared.key");
    configs_[b.uri] = config;
    return b;
  }

  CommandResult run(const Backend& b, const std::function<void(pid_t)>& during = nullptr) {
    return runCommand(
        {omniloopBin(), "run", pipeline_, "--config", configs_[b.uri], "--no-progress"}, {},
        during);
  }

  std::string dir_, input_, pipeline_;
  std::map<std::string, std::string> configs_;
};

TEST_P(CrashTest, TwentySigkillsLoseAndDuplicateNothing) {
  const Backend clean = makeBackend("clean");
  const auto t0 = std::chrono::steady_clock::now();
  const CommandResult ok = run(clean);
  const auto clean_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  ASSERT_EQ(count(clean, "events"), kEvents);
  ASSERT_GT(count(clean, "profile_merges"), 0) << "the input is meant to exercise merges";
  ASSERT_GT(count(clean, "identity_conflicts"), 0) << "the input is meant to exercise the guards";

  // Kill at random moments spread over the ingest: each attempt lives for a random slice of 1%
  // to 5% of the clean run's duration, so the 20 kills land at different points of the input
  // and together cover about 60% of it (±5%): all 20 land before the end even on a machine
  // whose speed drifts between the clean run and the crashed ones.
  // What each attempt spends before it reads anything (process start, store open, keys) is
  // measured by a rerun that has nothing to read, and added to every slice: otherwise a slow
  // start leaves most kills before the first commit.
  const auto r0 = std::chrono::steady_clock::now();
  ASSERT_EQ(run(clean).exit_code, 0);
  const long long startup_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - r0)
          .count();
  const Backend crashed = makeBackend("crashed");
  std::mt19937 rng(static_cast<unsigned>(std::random_device{}()));
  std::uniform_int_distribution<long long> slice(startup_ms + clean_ms / 100 + 20,
                                                 startup_ms + clean_ms / 20 + 40);
  int kills = 0, attempts = 0;
  std::set<long long> progress;  // events stored after each kill
  bool finished = false;
  while (kills < kKills && attempts < kKills * 3) {
    ++attempts;
    const long long delay = slice(rng);
    const CommandResult r = run(crashed, [&](pid_t pid) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
      ::kill(pid, SIGKILL);
    });
    if (r.exit_code == 128 + SIGKILL) {
      ++kills;
      progress.insert(count(crashed, "events"));
    } else {
      ASSERT_EQ(r.exit_code, 0) << r.err;
      finished = true;  // it reached the end before the kill: start over is not needed
      break;
    }
  }
  EXPECT_EQ(kills, kKills) << "the run finished after " << kills
                           << " kills; the kills came too late";
  // The kills interrupted the ingest at many different points, not all before the first commit.
  size_t mid_ingest = 0;
  for (long long n : progress) mid_ingest += (n > 0 && n < kEvents) ? 1 : 0;
  EXPECT_GE(mid_ingest, 5u) << "kills should land mid-ingest";
  if (!finished) {
    const CommandResult last = run(crashed);
    ASSERT_EQ(last.exit_code, 0) << last.err;
  }

  std::string sizes;
  for (long long n : progress) sizes += " " + std::to_string(n);
  std::cout << "clean run " << clean_ms << " ms; " << kills
            << " kills; events stored at the kills:" << sizes << "\n";
  EXPECT_EQ(count(crashed, "events"), kEvents) << "events lost or duplicated";
  for (const char* table : {"events", "profiles", "identities", "profile_merges",
                            "identity_conflicts", "checkpoints"}) {
    const std::string a = snapshot(clean, table);
    const std::string b = snapshot(crashed, table);
    EXPECT_EQ(a.size(), b.size()) << table;
    EXPECT_TRUE(a == b) << table << " differ after the crashes: " << firstDifference(a, b);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, CrashTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? std::string("PostgreSQL") : std::string("SQLite");
                         });

}  // namespace
}  // namespace omniloop::testing
