// social.mastodon as built (social.mastodon.so) through the C ABI, against a Mastodon API server
// on 127.0.0.1 (tests/fake_mastodon.h): pages by Link header, entity mapping, the cursor across
// a restart, 429/500/timeouts retried, 401 refused, bad bodies and items as dead letters.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Poco/Net/StreamSocket.h>

#include "api.h"
#include "fake_mastodon.h"
#include "test_host.h"

namespace plugintest {
namespace {

using namespace mastodontest;
namespace api = omniloop::mastodon;

struct UsePlugin : ::testing::Environment {
  void SetUp() override { Plugin::setPluginName("social.mastodon"); }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new UsePlugin);

const std::string kAmy = account("109876", "amytaylor", "amytaylor@mastodon.example", "Amy Taylor",
                                 R"([{"name":"Email","value":"amy@demo.net","verified_at":null}])");
const std::string kMike = account("109877", "mjones", "mjones@social.example", "Michael Jones");
const std::string kShop = account("1", "shop", "shop", "The Shop");

std::string nid(int n) {
  return std::to_string(111000000000000000LL + n);
}
std::string sid(int n) {
  return std::to_string(112000000000000000LL + n);
}
std::string at(int n) {
  return "2024-03-0" + std::to_string(1 + n % 9) + "T10:00:00.000Z";
}

// Notifications 1..n of the four types, by Amy and Mike, and the shop's statuses 1..s.
void fill(FakeMastodon& m, int n, int s) {
  static const char* kTypes[] = {"mention", "favourite", "reblog", "follow"};
  for (int i = 1; i <= n; ++i) {
    const std::string type = kTypes[(i - 1) % 4];
    const std::string& who = i % 2 ? kAmy : kMike;
    std::string st;
    if (type == "mention") {
      st = status(
          sid(500 + i), at(i), who, "<p>@shop thanks for the cap</p>", "public",
          R"([{"id":"1","username":"shop","acct":"shop","url":"https://shop.example/@shop"}])");
    } else if (type != "follow") {
      st = status(sid(i), at(i), kShop, "<p>New caps are in!</p>");
    }
    m.addNotification({nid(i), type, notification(nid(i), type, at(i), who, st)});
  }
  for (int i = 1; i <= s; ++i) {
    m.addStatus(
        {sid(i), "", status(sid(i), at(i), kShop, "<p>Shop news " + std::to_string(i) + "</p>")});
  }
  m.setAccount("1", kShop);
}

std::string config(const FakeMastodon& m, const std::string& dir, const std::string& extra = "") {
  writeFile(dir + "/token", m.token() + "\n");
  return "{\"base_url\":" + jsonQuote(m.baseUrl()) +
         ",\"token_file\":" + jsonQuote(dir + "/token") +
         ",\"instance_domain\":\"shop.example\",\"page_size\":3,\"retry_base_ms\":20,"
         "\"retry_max_ms\":200" +
         (extra.empty() ? "" : "," + extra) + "}";
}

size_t count(const std::vector<Request>& rs, const std::string& part) {
  return static_cast<size_t>(std::count_if(rs.begin(), rs.end(), [&](const Request& r) {
    return r.target.find(part) != std::string::npos;
  }));
}

void expectNoToken(Instance& src, const FakeMastodon& m) {
  for (const auto& [level, line] : src.log().lines) {
    EXPECT_EQ(line.find(m.token()), std::string::npos) << line;
  }
  EXPECT_EQ(src.lastError().find(m.token()), std::string::npos) << src.lastError();
}

TEST(MastodonApi, LinkHeaderIdsResetTimesAndUrls) {
  const auto links = api::parseLinkHeader(
      "<https://m.example/api/v1/notifications?max_id=7>; rel=\"next\", "
      "<https://m.example/api/v1/notifications?min_id=9>; rel=\"prev\"");
  EXPECT_EQ(links.at("next"), "https://m.example/api/v1/notifications?max_id=7");
  EXPECT_EQ(links.at("prev"), "https://m.example/api/v1/notifications?min_id=9");
  EXPECT_TRUE(api::parseLinkHeader("").empty());
  EXPECT_LT(api::compareIds("99", "100"), 0);
  EXPECT_GT(api::compareIds("111000000000000010", "111000000000000009"), 0);
  EXPECT_EQ(api::compareIds("42", "42"), 0);
  const int64_t now = 1700000000LL * 1000000;
  EXPECT_EQ(api::parseResetTime("2023-11-14T22:13:25.500Z", now), 1700000005500000LL);
  EXPECT_EQ(api::parseResetTime("1700000010", now), 1700000010000000LL);
  EXPECT_EQ(api::parseRetryAfter("3", now), now + 3000000);
  EXPECT_FALSE(api::parseResetTime("soon", now).has_value());
  EXPECT_EQ(api::redactUrl("https://u:p@m.example/x?a=1&access_token=abc&b=2"),
            "https://m.example/x?a=1&access_token=[redacted]&b=2");
  const auto base = api::parseBaseUrl("https://Mastodon.Example/");
  ASSERT_TRUE(base.has_value());
  EXPECT_EQ(base->host, "mastodon.example");
  EXPECT_EQ(base->port, 443);
  EXPECT_TRUE(api::sameOrigin("https://mastodon.example:443/api/v1/x?min_id=1", *base));
  EXPECT_FALSE(api::sameOrigin("https://evil.example/api/v1/x?min_id=1", *base));
  EXPECT_FALSE(api::parseBaseUrl("ftp://x").has_value());
  EXPECT_TRUE(api::isLoopbackHost("127.0.0.1"));
  EXPECT_FALSE(api::isLoopbackHost("127.0.0.1.evil.example"));
  EXPECT_FALSE(api::isLoopbackHost("localhost.evil.example"));
  EXPECT_EQ(api::htmlText("<p>amy@demo.net &amp; co</p>"), "amy@demo.net & co");
}

TEST(MastodonSource, ReadsEveryPageOfNotificationsAndStatusesMappedOldestFirst) {
  FakeMastodon m;
  fill(m, 8, 4);
  // A direct message mentioning the shop: private correspondence, skipped by default.
  m.addNotification({nid(9), "mention",
                     notification(nid(9), "mention", at(9), kAmy,
                                  status(sid(509), at(9), kAmy, "<p>secret</p>", "direct"))});
  // A type not asked for (the server filters types[] itself).
  m.addNotification({nid(10), "poll", notification(nid(10), "poll", at(1), kAmy)});
  const std::string dir = scratchDir("pages");
  Instance src(OL_SOURCE, "mastodon.api",
               config(m, dir, R"("identity_from_fields":{"email":"email"})"));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain(5);
  EXPECT_EQ(d.last_status, OL_IDLE);
  ASSERT_EQ(d.events.size(), 12u);
  // Notifications first, oldest first, then the statuses.
  for (int i = 0; i < 8; ++i) EXPECT_EQ(d.events[i].key, "notification:" + nid(i + 1));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(d.events[8 + i].key, "status:" + sid(i + 1));
  EXPECT_EQ(d.events[0].type, "social.mentioned");
  EXPECT_EQ(d.events[1].type, "social.favourited");
  EXPECT_EQ(d.events[2].type, "social.reblogged");
  EXPECT_EQ(d.events[3].type, "social.followed");
  EXPECT_EQ(d.events[8].type, "social.status");
  const ol_event& mention = d.events[0];
  EXPECT_EQ(mention.channel, "social");
  ASSERT_TRUE(mention.time.has_value());
  EXPECT_EQ(*mention.time, 1709373600000000LL);  // 2024-03-02T10:00:00Z
  EXPECT_EQ(mention.identities.at("mastodon"), "amytaylor@mastodon.example");
  EXPECT_EQ(mention.identities.at("email"), "amy@demo.net");  // the profile's "Email" field
  EXPECT_EQ(mention.str("account.acct"), "amytaylor@mastodon.example");
  EXPECT_EQ(mention.str("account.display_name"), "Amy Taylor");
  EXPECT_EQ(mention.str("account.id"), "109876");
  EXPECT_EQ(mention.str("notification.type"), "mention");
  EXPECT_EQ(mention.str("status.id"), sid(501));
  EXPECT_EQ(mention.str("status.content"), "<p>@shop thanks for the cap</p>");
  EXPECT_EQ(mention.str("status.visibility"), "public");
  EXPECT_EQ(mention.find("status.mentions")->s, "[\"shop@shop.example\"]");
  EXPECT_EQ(mention.find("status.tags")->s, "[\"style\"]");
  EXPECT_EQ(mention.find("status.favourites_count")->i, 2);
  EXPECT_EQ(d.events[3].find("status.id"), nullptr);  // a follow has no status
  EXPECT_EQ(d.events[1].identities.at("mastodon"), "mjones@social.example");
  EXPECT_EQ(d.events[1].identities.count("email"), 0u);
  // The shop's own statuses: a local account, completed with instance_domain.
  EXPECT_EQ(d.events[8].identities.at("mastodon"), "shop@shop.example");
  EXPECT_EQ(d.events[8].str("status.content"), "<p>Shop news 1</p>");
  EXPECT_EQ(d.cursor, "{\"notifications\":\"" + nid(9) + "\",\"statuses\":\"" + sid(4) + "\"}");
  EXPECT_EQ(src.log().counters["skipped"], 1);  // the direct message
  // Pages followed by the Link header (rel="prev"), each with the bearer token.
  const auto rs = m.requests();
  EXPECT_EQ(count(rs, "/api/v1/notifications"), 4u);  // 9 items by 3, then an empty page
  EXPECT_EQ(count(rs, "/statuses"), 3u);              // 4 items by 3, then an empty page
  EXPECT_EQ(count(rs, "verify_credentials"), 1u);
  EXPECT_EQ(count(rs, "min_id=0"), 2u);  // the first page of each stream: from the oldest
  EXPECT_EQ(count(rs, "min_id=" + nid(3)), 1u);
  for (const Request& r : rs) EXPECT_EQ(r.authorization, "Bearer " + m.token());
  EXPECT_NE(rs[0].target.find("types%5B%5D=mention"), std::string::npos) << rs[0].target;
  // Caught up: nothing new, no request before the poll interval is over.
  m.clearRequests();
  ol_batch again;
  EXPECT_EQ(src.read(&again, 10), OL_IDLE);
  EXPECT_TRUE(again.events.empty());
  EXPECT_TRUE(m.requests().empty());
  expectNoToken(src, m);
}

TEST(MastodonSource, RestartFromTheCursorNeitherLosesNorRepeats) {
  FakeMastodon m;
  fill(m, 20, 7);
  const std::string dir = scratchDir("restart");
  std::vector<std::string> keys;
  std::string cursor;
  {
    Instance src(OL_SOURCE, "mastodon.api", config(m, dir));
    ASSERT_TRUE(src.ok()) << src.createError();
    // Batches of 4 from pages of 3: the cursor falls inside a page.
    const auto d = src.drain(4, 4);
    ASSERT_EQ(d.events.size(), 16u);
    for (const auto& e : d.events) keys.push_back(e.key);
    cursor = d.cursor;
    EXPECT_EQ(cursor, "{\"notifications\":\"" + nid(16) + "\"}");
  }
  m.clearRequests();
  Instance src(OL_SOURCE, "mastodon.api", config(m, dir));
  ASSERT_TRUE(src.ok()) << src.createError();
  ASSERT_EQ(src.resume(cursor), OL_OK) << src.lastError();
  const auto d = src.drain(4);
  for (const auto& e : d.events) keys.push_back(e.key);
  EXPECT_EQ(keys.size(), 27u);
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), 27u);
  EXPECT_NE(m.requests().at(0).target.find("min_id=" + nid(16)), std::string::npos)
      << m.requests().at(0).target;
  EXPECT_EQ(src.resume("not a cursor"), OL_ERROR);
}

TEST(MastodonSource, RetriesA429AfterItsResetAndA500WithBackoff) {
  FakeMastodon m;
  fill(m, 6, 0);
  m.addFault({"/api/v1/notifications", FaultKind::Status429, 400});
  m.addFault({"/api/v1/notifications", FaultKind::Status500, 0});
  const std::string dir = scratchDir("retry");
  Instance src(OL_SOURCE, "mastodon.api", config(m, dir, R"("streams":["notifications"])"));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain(50);
  EXPECT_EQ(d.last_status, OL_IDLE) << src.lastError();
  EXPECT_EQ(d.events.size(), 6u);
  const auto rs = m.requests();
  ASSERT_GE(rs.size(), 3u);
  EXPECT_EQ(rs[0].status, 429);
  EXPECT_EQ(rs[1].status, 500);
  EXPECT_EQ(rs[2].status, 200);
  EXPECT_EQ(rs[0].target, rs[1].target);  // the same page asked again
  EXPECT_EQ(rs[1].target, rs[2].target);
  // The 429 was waited out until its X-RateLimit-Reset (400 ms), not the 20 ms backoff.
  EXPECT_GE(rs[1].at - rs[0].at, std::chrono::milliseconds(350));
  EXPECT_LT(rs[2].at - rs[1].at, std::chrono::milliseconds(350));  // 500: short backoff
  EXPECT_EQ(src.log().counters["rate_limited"], 1);
  EXPECT_EQ(src.log().counters["http_retries"], 2);
  EXPECT_TRUE(src.log().contains(OL_LOG_WARN, "HTTP 500; retry 2 of 5"));
  expectNoToken(src, m);
}

TEST(MastodonSource, ASlowAnswerPastTheTimeoutIsRetried) {
  FakeMastodon m;
  fill(m, 3, 0);
  m.addFault({"/api/v1/notifications", FaultKind::Slow, 1500});
  const std::string dir = scratchDir("slow");
  Instance src(OL_SOURCE, "mastodon.api",
               config(m, dir, R"("streams":["notifications"],"timeout_ms":300)"));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto t0 = std::chrono::steady_clock::now();
  const auto d = src.drain(50);
  EXPECT_EQ(d.last_status, OL_IDLE) << src.lastError();
  EXPECT_EQ(d.events.size(), 3u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1400));
  EXPECT_TRUE(src.log().contains(OL_LOG_WARN, "no answer within timeout_ms; retry 1 of 5"));
}

TEST(MastodonSource, RateLimitUsedUpWaitsForTheResetBeforeTheNextRequest) {
  FakeMastodon m;
  fill(m, 4, 0);
  m.addFault({"/api/v1/notifications", FaultKind::RemainingZero, 400});
  const std::string dir = scratchDir("budget");
  Instance src(OL_SOURCE, "mastodon.api", config(m, dir, R"("streams":["notifications"])"));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain(50);
  EXPECT_EQ(d.events.size(), 4u);
  const auto rs = m.requests();
  ASSERT_GE(rs.size(), 2u);
  EXPECT_GE(rs[1].at - rs[0].at, std::chrono::milliseconds(350));
  EXPECT_EQ(src.log().counters["rate_limit_waits"], 1);
}

TEST(MastodonSource, Unauthorized401StopsWithAClearErrorAndNeverShowsTheToken) {
  FakeMastodon m;
  fill(m, 3, 0);
  const std::string dir = scratchDir("unauthorized");
  writeFile(dir + "/token", "wrong-token-value-xyz\n");
  Instance src(OL_SOURCE, "mastodon.api",
               "{\"base_url\":" + jsonQuote(m.baseUrl()) +
                   ",\"token_file\":" + jsonQuote(dir + "/token") + ",\"retry_base_ms\":10}");
  ASSERT_TRUE(src.ok()) << src.createError();
  ol_batch batch;
  EXPECT_EQ(src.read(&batch, 10), OL_ERROR);
  EXPECT_TRUE(batch.events.empty());
  EXPECT_NE(src.lastError().find("GET " + m.baseUrl() + "/api/v1/notifications?limit=40"),
            std::string::npos)
      << src.lastError();
  EXPECT_NE(src.lastError().find("answered 401 Unauthorized (server: \"The access token is "
                                 "invalid\"): the access token was refused"),
            std::string::npos)
      << src.lastError();
  EXPECT_NE(src.lastError().find("token_file"), std::string::npos);
  EXPECT_EQ(src.lastError().find("wrong-token-value-xyz"), std::string::npos);
  EXPECT_EQ(m.requests().size(), 1u);  // not retried
  for (const auto& [level, line] : src.log().lines) {
    EXPECT_EQ(line.find("wrong-token-value-xyz"), std::string::npos) << line;
  }
}

TEST(MastodonSource, ABodyThatIsNotJsonAndAnItemThatIsNoObjectAreDeadLettersTheRestArrives) {
  FakeMastodon m;
  fill(m, 5, 0);
  m.addNotification({nid(6), "mention", "\"not an object\""});
  m.addFault({"/api/v1/notifications", FaultKind::NotJson, 0});
  const std::string dir = scratchDir("bad");
  Instance src(OL_SOURCE, "mastodon.api", config(m, dir, R"("streams":["notifications"])"));
  ASSERT_TRUE(src.ok()) << src.createError();
  const auto d = src.drain(50);
  EXPECT_EQ(d.last_status, OL_IDLE) << src.lastError();
  std::vector<const ol_event*> dead, good;
  for (const auto& e : d.events) (e.disposition == OL_DEAD_LETTER ? dead : good).push_back(&e);
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(good.size(), 5u);
  std::set<std::string> keys;
  for (const auto* e : good) keys.insert(e->key);
  EXPECT_EQ(keys.size(), 5u);
  const std::string first = "GET " + m.baseUrl() + "/api/v1/notifications?limit=3&types%5B%5D=" +
                            "mention&types%5B%5D=favourite&types%5B%5D=reblog&types%5B%5D=follow"
                            "&min_id=0: the response is not JSON (invalid JSON at offset 0";
  EXPECT_EQ(dead[0]->reason.rfind(first, 0), 0u) << dead[0]->reason;
  EXPECT_NE(dead[0]->raw.find("502 Bad Gateway"), std::string::npos);
  EXPECT_NE(dead[1]->reason.find(": item 1 of 3 is not a JSON object"), std::string::npos)
      << dead[1]->reason;
  EXPECT_NE(dead[1]->reason.find("min_id=" + nid(3)), std::string::npos) << dead[1]->reason;
  EXPECT_EQ(dead[1]->raw, "\"not an object\"");
  EXPECT_EQ(src.log().counters["dead_letters"], 2);
}

TEST(MastodonSource, RefusesConfigurationsThatWouldLeakTheTokenOrHaveNone) {
  const std::string dir = scratchDir("config");
  writeFile(dir + "/token", "abc\n");
  Instance plain(OL_SOURCE, "mastodon.api",
                 "{\"base_url\":\"http://mastodon.example\",\"token_file\":" +
                     jsonQuote(dir + "/token") + "}");
  EXPECT_FALSE(plain.ok());
  EXPECT_NE(plain.createError().find("base_url must use https"), std::string::npos)
      << plain.createError();
  Instance none(OL_SOURCE, "mastodon.api", R"({"base_url":"https://mastodon.example"})");
  EXPECT_FALSE(none.ok());
  EXPECT_NE(none.createError().find("set token_file"), std::string::npos) << none.createError();
  Instance env(
      OL_SOURCE, "mastodon.api",
      R"({"base_url":"https://mastodon.example","token_env":"OMNILOOP_TEST_NO_SUCH_VAR"})");
  EXPECT_FALSE(env.ok());
  EXPECT_NE(env.createError().find("OMNILOOP_TEST_NO_SUCH_VAR"), std::string::npos);
  // TLS is verified: a CA file that is not there is an error at once.
  Instance ca(OL_SOURCE, "mastodon.api",
              "{\"base_url\":\"https://mastodon.example\",\"token_file\":" +
                  jsonQuote(dir + "/token") + ",\"ca_file\":" + jsonQuote(dir + "/none.pem") + "}");
  EXPECT_FALSE(ca.ok());
  EXPECT_NE(ca.createError().find("cannot read ca_file"), std::string::npos);
}

// A TLS server with a self-signed certificate for 127.0.0.1 (openssl s_server -www answers any
// GET with an HTML status page): refused without ca_file, trusted with it.
struct TlsServer {
  std::string dir = scratchDir("tls");
  int port = 0;
  pid_t pid = -1;
  TlsServer() {
    const std::string cmd =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 -keyout " +
        dir + "/key.pem -out " + dir + "/cert.pem >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return;
    {
      Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
      port = probe.address().port();
    }
    pid = fork();
    if (pid == 0) {
      const std::string accept = "127.0.0.1:" + std::to_string(port);
      const std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
      std::freopen("/dev/null", "w", stdout);
      std::freopen("/dev/null", "w", stderr);
      execlp("openssl", "openssl", "s_server", "-accept", accept.c_str(), "-cert", cert.c_str(),
             "-key", key.c_str(), "-www", "-quiet", static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 200; ++i) {  // until it listens
      try {
        Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", port));
        return;
      } catch (const std::exception&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
  }
  ~TlsServer() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  }
  bool up() const { return pid > 0; }
};

TEST(MastodonSource, TlsIsVerifiedAgainstTheSystemCasOrTheConfiguredCaFile) {
  TlsServer tls;
  ASSERT_TRUE(tls.up()) << "openssl could not start a TLS server";
  writeFile(tls.dir + "/token", "abc\n");
  const std::string base = "{\"base_url\":\"https://127.0.0.1:" + std::to_string(tls.port) +
                           "\",\"token_file\":" + jsonQuote(tls.dir + "/token") +
                           ",\"streams\":[\"notifications\"],\"max_retries\":1,"
                           "\"retry_base_ms\":5,\"timeout_ms\":3000";
  {
    // A self-signed certificate no system CA vouches for: refused, retried, given up.
    Instance src(OL_SOURCE, "mastodon.api", base + "}");
    ASSERT_TRUE(src.ok()) << src.createError();
    ol_batch batch;
    EXPECT_EQ(src.read(&batch, 10), OL_RETRY);
    EXPECT_TRUE(batch.events.empty());
    EXPECT_NE(src.lastError().find("certificate"), std::string::npos) << src.lastError();
    EXPECT_NE(src.lastError().find("after 2 attempts"), std::string::npos) << src.lastError();
  }
  // The same server trusted through ca_file: the handshake passes and its answer (an HTML
  // status page, not the API) is a dead letter.
  Instance src(OL_SOURCE, "mastodon.api",
               base + ",\"ca_file\":" + jsonQuote(tls.dir + "/cert.pem") + "}");
  ASSERT_TRUE(src.ok()) << src.createError();
  ol_batch batch;
  EXPECT_EQ(src.read(&batch, 10), OL_OK) << src.lastError();
  ASSERT_FALSE(batch.events.empty());
  EXPECT_EQ(batch.events[0].disposition, OL_DEAD_LETTER);
  EXPECT_NE(batch.events[0].reason.find("the response is not JSON"), std::string::npos)
      << batch.events[0].reason;
}

}  // namespace
}  // namespace plugintest
