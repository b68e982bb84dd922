// The omniloop binary with the bundled social.mastodon plugin and the shipped pipeline, against a
// Mastodon API server on 127.0.0.1 in this process (fake_mastodon.h): listed, validated, run to
// the last page with --stop-when-idle, and killed with SIGKILL mid-way and restarted: every
// notification arrives once, and the restart reads exactly what was not committed.
#include <gtest/gtest.h>

#include <signal.h>
#include <sqlite3.h>

#include <cctype>
#include <regex>
#include <thread>

#include "command.h"
#include "fake_mastodon.h"
#include "mastodon_server.h"
#include "sqlite_query.h"

using namespace omniloop::testing;
using namespace mastodontest;
namespace fs = std::filesystem;

namespace {

const std::string kAmy = account("109876", "amytaylor", "amytaylor@mastodon.example", "Amy Taylor",
                                 R"([{"name":"Email","value":"amy@demo.net","verified_at":null}])");
const std::string kShop = account("1", "shop", "shop", "The Shop");

std::string nid(int n) {
  return std::to_string(111000000000000000LL + n);
}
std::string sid(int n) {
  return std::to_string(112000000000000000LL + n);
}

// The shipped pipeline, pointed at the test server with fast retries.
std::string shippedPipelineFor(const FakeMastodon& m, const std::string& dir,
                               const std::string& extra = "") {
  std::ofstream(dir + "/token") << m.token() << "\n";
  std::string yaml = readFile(sourceDir() + "/pipelines/mastodon-api.yaml");
  yaml = std::regex_replace(yaml, std::regex("base_url: [^\\n]+"), "base_url: " + m.baseUrl());
  yaml = std::regex_replace(yaml, std::regex("token_file: [^\\n]+"),
                            "token_file: " + dir + "/token\n    instance_domain: shop.example\n" +
                                "    retry_base_ms: 20\n    page_size: 5" + extra);
  return yaml;
}

int readCount(const std::string& json_out) {
  std::smatch m;
  if (!std::regex_search(json_out, m, std::regex("\"read\":([0-9]+)"))) return -1;
  return std::stoi(m[1].str());
}

TEST(MastodonE2e, ListedValidatedAndRunToTheLastPage) {
  auto p = runCommand({omniloopBin(), "plugins"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_NE(p.out.find("social.mastodon 1."), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("mastodon.api"), std::string::npos) << p.out;
  auto v = runCommand({omniloopBin(), "validate", sourceDir() + "/pipelines/mastodon-api.yaml"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;

  FakeMastodon m;
  for (int i = 1; i <= 12; ++i) {
    const std::string type = i % 3 == 0 ? "follow" : "mention";
    const std::string st = type == "follow" ? ""
                                            : status(sid(500 + i), "2024-03-02T18:00:00.000Z", kAmy,
                                                     "<p>@shop Loving my new cap</p>");
    m.addNotification(
        {nid(i), type, notification(nid(i), type, "2024-03-02T18:00:00.000Z", kAmy, st)});
  }
  for (int i = 1; i <= 3; ++i) {
    m.addStatus({sid(i), "", status(sid(i), "2024-03-01T09:00:00.000Z", kShop, "<p>News</p>")});
  }
  m.setAccount("1", kShop);
  // A 500 and a 429 on the first page, and a statuses page that is not JSON, on the way.
  m.addFault({"/api/v1/notifications", FaultKind::Status500, 0});
  m.addFault({"/api/v1/notifications", FaultKind::Status429, 200});
  m.addFault({"/statuses", FaultKind::NotJson, 0});
  const std::string dir = tempDir("mastodon-e2e");
  std::ofstream(dir + "/p.yaml") << shippedPipelineFor(m, dir);
  const std::string db = dir + "/cdp.db";
  auto r = runCommand({omniloopBin(), "run", dir + "/p.yaml", "--store", "sqlite:" + db,
                       "--stop-when-idle", "--json", "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(query(db, "SELECT count(*) FROM events"), "15\n");
  EXPECT_EQ(query(db, "SELECT count(*) FROM events WHERE type = 'social.mentioned'"), "8\n");
  EXPECT_EQ(query(db, "SELECT count(*) FROM events WHERE type = 'social.followed'"), "4\n");
  EXPECT_EQ(query(db, "SELECT count(*) FROM events WHERE type = 'social.status'"), "3\n");
  EXPECT_EQ(
      query(db, "SELECT count(*) FROM dead_letters WHERE reason LIKE '%GET " + m.baseUrl() +
                    "/api/v1/accounts/1/statuses?limit=5&min_id=0: the response is not JSON%'"),
      "1\n");
  // Amy's mentions and follows are on one profile, found by her email (the profile field).
  EXPECT_EQ(
      query(db, "SELECT count(DISTINCT profile_id) FROM events WHERE type <> 'social.status'"),
      "1\n");
  const std::string bytes = readFile(db) + readFile(db + "-wal");
  for (const char* clear : {"amytaylor", "Amy Taylor", "Loving my new cap", "amy@demo.net"}) {
    EXPECT_EQ(bytes.find(clear), std::string::npos) << clear;
  }
  const auto rs = m.requests();
  ASSERT_GE(rs.size(), 3u);  // 500, then 429, then 200 for the same first page
  EXPECT_EQ(rs[0].status, 500);
  EXPECT_EQ(rs[1].status, 429);
  EXPECT_EQ(rs[2].status, 200);
  EXPECT_EQ(rs[0].target, rs[2].target);
  EXPECT_EQ(r.out.find(m.token()), std::string::npos);
  EXPECT_EQ(r.err.find(m.token()), std::string::npos);
  // Again: nothing new, nothing read twice.
  auto again = runCommand({omniloopBin(), "run", dir + "/p.yaml", "--store", "sqlite:" + db,
                           "--stop-when-idle", "--json", "--no-progress"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(readCount(again.out), 0) << again.out;
  EXPECT_EQ(query(db, "SELECT count(*) FROM events"), "15\n");
}

TEST(MastodonE2e, UnauthorizedStopsTheRunWithAClearError) {
  FakeMastodon m;
  const std::string dir = tempDir("mastodon-401");
  std::ofstream(dir + "/p.yaml") << shippedPipelineFor(m, dir);
  std::ofstream(dir + "/token") << "revoked-token-abcdef\n";
  auto r = runCommand({omniloopBin(), "run", dir + "/p.yaml", "--store",
                       "sqlite:" + dir + "/cdp.db", "--stop-when-idle", "--no-progress"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("answered 401 Unauthorized"), std::string::npos) << r.out << r.err;
  EXPECT_EQ((r.out + r.err).find("revoked-token-abcdef"), std::string::npos);
  EXPECT_EQ(m.requests().size(), 1u);
}

TEST(MastodonE2e, KilledTwiceAndRestartedEveryNotificationArrivesOnce) {
  constexpr int kCount = 1000;
  FakeMastodon m;
  for (int i = 1; i <= kCount; ++i) {
    m.addNotification(
        {nid(i), "follow",
         notification(nid(i), "follow", "2024-03-02T18:00:00.000Z", i % 2 ? kAmy : kShop)});
  }
  m.setPageDelayMs(25);  // 50 pages of 20: a run takes more than a second
  const std::string dir = tempDir("mastodon-kill");
  std::string yaml = shippedPipelineFor(m, dir);
  yaml = std::regex_replace(yaml, std::regex("page_size: 5"), "page_size: 20");
  yaml = std::regex_replace(yaml, std::regex("streams: [^\\n]+"), "streams: [notifications]");
  std::ofstream(dir + "/p.yaml") << yaml << "batch: { size: 10 }\n";
  const std::string db = dir + "/cdp.db";
  const std::vector<std::string> run = {omniloopBin(), "run",          dir + "/p.yaml",
                                        "--store",     "sqlite:" + db, "--no-progress"};
  // Each run is killed once it has committed more than the run before it (polled, so a slow
  // machine still kills mid-way rather than before the first commit).
  auto committedNow = [&] {
    const std::string n = query(db, "SELECT count(*) FROM events");
    return n.empty() || !std::isdigit(static_cast<unsigned char>(n[0])) ? 0 : std::stoi(n);
  };
  int before = 0;
  for (int kill = 0; kill < 2; ++kill) {
    auto r = runCommand(run, {}, [&](pid_t pid) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      while (committedNow() <= before && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      ::kill(pid, SIGKILL);
    });
    EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r.out << r.err;
    before = committedNow();
  }
  const int committed = std::stoi(query(db, "SELECT count(*) FROM events"));
  EXPECT_GT(committed, 0);
  EXPECT_LT(committed, kCount);  // the kills really came mid-way
  m.clearRequests();
  std::vector<std::string> last = run;
  last.push_back("--stop-when-idle");
  last.push_back("--json");
  auto r = runCommand(last);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  // Exactly the rest is read: nothing lost, nothing read again.
  EXPECT_EQ(readCount(r.out), kCount - committed) << r.out;
  EXPECT_EQ(query(db, "SELECT count(*) FROM events"), std::to_string(kCount) + "\n");
  EXPECT_EQ(
      query(db, "SELECT count(DISTINCT json_extract(attributes, '$.notification.id')) FROM events"),
      std::to_string(kCount) + "\n");
  EXPECT_EQ(query(db, "SELECT count(*) FROM dead_letters"), "0\n");
  const auto rs = m.requests();
  ASSERT_FALSE(rs.empty());
  EXPECT_EQ(rs[0].target.find("min_id=0"), std::string::npos) << rs[0].target;  // resumed
}

// The quickstart's social pipeline against its recorded API pages (serve.py): Amy's profile,
// found by the email of the CRM, shows her mentions, follow and favourite; her direct message
// and other people's notifications are not on it.
TEST(MastodonE2e, QuickstartServerFeedsAmysProfileWithHerMentions) {
  QuickstartMastodonServer server;
  ASSERT_FALSE(server.url().empty()) << "examples/quickstart/mastodon/serve.py did not start";
  const std::string quickstart = sourceDir() + "/examples/quickstart";
  const std::string dir = tempDir("mastodon-quickstart");
  const std::string store = "sqlite:" + dir + "/q.db";
  auto validate =
      runCommand({omniloopBin(), "validate", quickstart + "/mastodon/social-mastodon.yaml"});
  EXPECT_EQ(validate.exit_code, 0) << validate.out << validate.err;
  auto crm = runCommand({omniloopBin(), "run", quickstart + "/pipelines/crm-contacts.yaml",
                         "--store", store, "--no-progress"});
  ASSERT_EQ(crm.exit_code, 0) << crm.out << crm.err;
  auto social = runCommand({omniloopBin(), "run", quickstart + "/mastodon/social-mastodon.yaml",
                            "--store", store, "--stop-when-idle", "--json", "--no-progress"},
                           {server.env()});
  ASSERT_EQ(social.exit_code, 0) << social.out << social.err;
  EXPECT_EQ(readCount(social.out), 8) << social.out;  // 7 notifications - 1 direct + 2 posts
  auto p = runCommand({omniloopBin(), "profile", "--identity", "email:amy@demo.net", "--json",
                       "--timeline", "20", "--store", store});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  size_t mentions = 0;
  for (size_t at = p.out.find("social.mentioned"); at != std::string::npos;
       at = p.out.find("social.mentioned", at + 1)) {
    ++mentions;
  }
  EXPECT_EQ(mentions, 2u) << p.out;  // her two public mentions; the direct one is skipped
  EXPECT_NE(p.out.find("social.followed"), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("social.favourited"), std::string::npos) << p.out;
  EXPECT_EQ(p.out.find("social.reblogged"), std::string::npos) << p.out;  // Mike's boost
  EXPECT_NE(p.out.find("\"channel\":\"crm\""), std::string::npos) << p.out;
  EXPECT_NE(p.out.find("\"type\":\"mastodon\""), std::string::npos) << p.out;
  for (const char* clear : {"amytaylor", "Amy Taylor", "Loving my new cap", "order number"}) {
    EXPECT_EQ(p.out.find(clear), std::string::npos) << clear;
  }
}

}  // namespace
