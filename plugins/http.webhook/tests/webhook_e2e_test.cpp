// `omniloop run` with the http.webhook source, killed with SIGKILL twice while a sender posts:
// every accepted event is in the store exactly once. The sender behaves like a SaaS: it retries
// a request that got no answer, with the same delivery id.
#include <gtest/gtest.h>

#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "command.h"
#include "sqlite_query.h"
#include "signature.h"
#include "webhook_client.h"

using namespace omniloop::testing;
namespace fs = std::filesystem;

namespace {

TEST(WebhookE2e, ListedAndTheShippedPipelineValidates) {
  auto p = runCommand({omniloopBin(), "plugins"});
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_NE(p.out.find("http.webhook 1."), std::string::npos) << p.out;
  auto v = runCommand({omniloopBin(), "validate", sourceDir() + "/pipelines/webhook-json.yaml"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
}

TEST(WebhookE2e, AcceptedEventsSurviveTwoKillsExactlyOnce) {
  constexpr int kEvents = 1500;
  const std::string dir = tempDir("webhook-e2e");
  const std::string secret = "e2e-secret";
  std::ofstream(dir + "/secret") << secret;
  const int port = webhooktest::freePort();
  std::ofstream(dir + "/p.yaml")
      << "version: 1\nname: hooks\nsource:\n  type: http.webhook\n  id: hooks\n  with:\n"
      << "    listen: 127.0.0.1:" << port << "\n    path: /hook\n    spool_dir: " << dir
      << "/spool\n    secret_file: " << dir << "/secret\n    id_header: X-Delivery\n"
      << "sink:\n  type: cdp\nbatch: { size: 100 }\n";
  const std::string db = dir + "/cdp.db";

  std::atomic<int> accepted{0};
  std::atomic<int> unanswered{0};
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    for (int n = 0; n < kEvents && !stop; ++n) {
      const std::string body = "{\"n\":" + std::to_string(n) + ",\"note\":\"order paid\"}";
      for (;;) {
        auto r = webhooktest::post(
            port, "/hook", body,
            {{"X-Hub-Signature-256", "sha256=" + omniloop::webhook::hmacSha256Hex(secret, body)},
             {"X-Delivery", "delivery-" + std::to_string(n)}});
        if (r.status == 202) break;
        ++unanswered;
        if (stop) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      ++accepted;
    }
  });
  auto waitFor = [&](int count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (accepted < count && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  };
  const std::vector<std::string> run = {omniloopBin(), "run",          dir + "/p.yaml",
                                        "--store",     "sqlite:" + db, "--no-progress"};
  for (int kill_at : {kEvents / 3, 2 * kEvents / 3}) {
    auto r = runCommand(run, {}, [&](pid_t pid) {
      waitFor(kill_at);
      ::kill(pid, SIGKILL);
    });
    EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r.err;
  }
  auto last = runCommand(run, {}, [&](pid_t pid) {
    waitFor(kEvents);
    ::kill(pid, SIGTERM);
  });
  stop = true;
  sender.join();
  EXPECT_EQ(last.exit_code, 0) << last.out << last.err;
  ASSERT_EQ(accepted.load(), kEvents);
  EXPECT_GT(unanswered.load(), 0);  // the kills really hit the sender
  // Whatever the last run had not read yet: --stop-when-idle reads the spool to its end.
  auto drain = runCommand({omniloopBin(), "run", dir + "/p.yaml", "--store", "sqlite:" + db,
                           "--no-progress", "--stop-when-idle"});
  ASSERT_EQ(drain.exit_code, 0) << drain.err;
  EXPECT_EQ(query(db, "SELECT count(*) FROM events"), std::to_string(kEvents) + "\n");
  EXPECT_EQ(query(db, "SELECT count(DISTINCT json_extract(attributes, '$.n')) FROM events"),
            std::to_string(kEvents) + "\n");
  EXPECT_EQ(query(db,
                  "SELECT min(json_extract(attributes, '$.n')) || ' ' || "
                  "max(json_extract(attributes, '$.n')) FROM events"),
            "0 " + std::to_string(kEvents - 1) + "\n");
  EXPECT_EQ(query(db, "SELECT count(*) FROM dead_letters"), "0\n");
}

}  // namespace
