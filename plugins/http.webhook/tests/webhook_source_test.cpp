// http.webhook as built (http.webhook.so) through the C ABI, with real HTTP on 127.0.0.1.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "signature.h"
#include "test_host.h"
#include "webhook_client.h"

namespace plugintest {
namespace {

using webhooktest::post;

struct UsePlugin : ::testing::Environment {
  void SetUp() override { Plugin::setPluginName("http.webhook"); }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new UsePlugin);

const std::string kSecret = "It's a Secret to Everybody";

struct Endpoint {
  std::string dir;
  int port = webhooktest::freePort();
  std::string config(const std::string& extra = "") const {
    return "{\"listen\":\"127.0.0.1:" + std::to_string(port) + "\",\"path\":\"/hooks/shop\"," +
           "\"spool_dir\":" + jsonQuote(dir + "/spool") +
           ",\"secret_file\":" + jsonQuote(dir + "/secret") + ",\"id_header\":\"X-Delivery\"" +
           (extra.empty() ? "" : "," + extra) + "}";
  }
  explicit Endpoint(const std::string& name) : dir(scratchDir(name)) {
    writeFile(dir + "/secret", kSecret + "\n");
  }
};

std::map<std::string, std::string> signedHeaders(const std::string& body,
                                                 const std::string& delivery = "") {
  std::map<std::string, std::string> h{
      {"X-Hub-Signature-256", "sha256=" + omniloop::webhook::hmacSha256Hex(kSecret, body)}};
  if (!delivery.empty()) h["X-Delivery"] = delivery;
  return h;
}

TEST(WebhookSignature, GitHubStyleAndBareHexConstantTimeCompare) {
  // GitHub's documented example: secret "It's a Secret to Everybody", payload "Hello, World!".
  const std::string expected = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  EXPECT_EQ(omniloop::webhook::hmacSha256Hex(kSecret, "Hello, World!"), expected);
  EXPECT_TRUE(omniloop::webhook::signatureMatches(kSecret, "Hello, World!", "sha256=" + expected));
  EXPECT_TRUE(omniloop::webhook::signatureMatches(kSecret, "Hello, World!", expected));
  std::string upper = expected;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(omniloop::webhook::signatureMatches(kSecret, "Hello, World!", upper));
  EXPECT_FALSE(omniloop::webhook::signatureMatches(kSecret, "Hello, World?", expected));
  EXPECT_FALSE(omniloop::webhook::signatureMatches(kSecret, "Hello, World!", expected.substr(1)));
  EXPECT_FALSE(omniloop::webhook::signatureMatches(kSecret, "Hello, World!", ""));
}

TEST(WebhookSource, AcceptsSignedJsonAndReadsItFromTheSpool) {
  Endpoint ep("accept");
  Instance src(OL_SOURCE, "http.webhook", ep.config());
  ASSERT_TRUE(src.ok()) << src.createError();
  EXPECT_TRUE(src.log().contains(OL_LOG_INFO, "listening on 127.0.0.1:" + std::to_string(ep.port)));
  const std::string body =
      R"({"id": 820982911946154508, "email": "amy@demo.net", "customer": {"first_name": "Amy"},)"
      R"( "line_items": [{"sku": "A1"}], "total": "19.90", "test": false})";
  auto r = post(ep.port, "/hooks/shop", body, signedHeaders(body, "delivery-1"));
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_NE(r.body.find("\"id\":\"delivery-1\""), std::string::npos);
  // Durable before the answer: the spool holds it already.
  EXPECT_NE(readFile(ep.dir + "/spool/webhook.spool").find("delivery-1"), std::string::npos);
  const auto d = src.drain();
  EXPECT_EQ(d.last_status, OL_IDLE);
  ASSERT_EQ(d.events.size(), 1u);
  const ol_event& e = d.events[0];
  EXPECT_EQ(e.key, "delivery-1");
  EXPECT_EQ(e.type, "webhook.received");
  EXPECT_EQ(e.channel, "webhook");
  EXPECT_TRUE(e.time.has_value());
  EXPECT_EQ(e.find("id")->i, 820982911946154508LL);
  EXPECT_EQ(e.str("email"), "amy@demo.net");
  EXPECT_EQ(e.str("customer.first_name"), "Amy");
  EXPECT_EQ(e.find("line_items")->type, OL_JSON);
  EXPECT_FALSE(e.find("test")->b);
  EXPECT_EQ(src.log().counters["webhook_accepted"], 1);
  // A redelivery (same delivery id) is acknowledged but not stored again, also after a restart.
  auto again = post(ep.port, "/hooks/shop", body, signedHeaders(body, "delivery-1"));
  EXPECT_EQ(again.status, 202);
  EXPECT_NE(again.body.find("\"duplicate\":true"), std::string::npos) << again.body;
  EXPECT_TRUE(src.drain().events.empty());
  EXPECT_EQ(src.log().counters["webhook_duplicates"], 1);
}

TEST(WebhookSource, RedeliveryAfterARestartIsRecognised) {
  Endpoint ep("redeliver");
  const std::string body = R"({"order":1})";
  {
    Instance src(OL_SOURCE, "http.webhook", ep.config());
    ASSERT_TRUE(src.ok()) << src.createError();
    ASSERT_EQ(post(ep.port, "/hooks/shop", body, signedHeaders(body, "d-7")).status, 202);
  }
  Instance src(OL_SOURCE, "http.webhook", ep.config());
  ASSERT_TRUE(src.ok()) << src.createError();
  auto r = post(ep.port, "/hooks/shop", body, signedHeaders(body, "d-7"));
  EXPECT_EQ(r.status, 202);
  EXPECT_NE(r.body.find("\"duplicate\":true"), std::string::npos) << r.body;
  EXPECT_EQ(src.drain().events.size(), 1u);  // the spool holds it once
}

TEST(WebhookSource, RefusesUnsignedBadlySignedStaleAndMalformedRequests) {
  Endpoint ep("refuse");
  Instance src(OL_SOURCE, "http.webhook",
               ep.config(R"("timestamp_header":"X-Timestamp","max_body_bytes":256)"));
  ASSERT_TRUE(src.ok()) << src.createError();
  const std::string body = R"({"a":1})";
  EXPECT_EQ(post(ep.port, "/hooks/shop", body).status, 401);  // unsigned
  const std::string now = std::to_string(std::time(nullptr));
  auto sig = [&](const std::string& ts, const std::string& b) {
    return "sha256=" + omniloop::webhook::hmacSha256Hex(kSecret, ts + "." + b);
  };
  EXPECT_EQ(post(ep.port, "/hooks/shop", body,
                 {{"X-Hub-Signature-256", sig(now, "{\"a\":2}")}, {"X-Timestamp", now}})
                .status,
            401);  // signature of another body
  const std::string old = std::to_string(std::time(nullptr) - 3600);
  auto stale = post(ep.port, "/hooks/shop", body,
                    {{"X-Hub-Signature-256", sig(old, body)}, {"X-Timestamp", old}});
  EXPECT_EQ(stale.status, 401);
  EXPECT_NE(stale.body.find("replay window"), std::string::npos);
  EXPECT_EQ(post(ep.port, "/hooks/shop", body, {{"X-Hub-Signature-256", sig(now, body)}}).status,
            401);  // no timestamp
  const std::string not_json = "{\"a\":";
  auto bad = post(ep.port, "/hooks/shop", not_json,
                  {{"X-Hub-Signature-256", sig(now, not_json)}, {"X-Timestamp", now}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("body is not JSON"), std::string::npos) << bad.body;
  EXPECT_NE(bad.body.find("POST /hooks/shop"), std::string::npos) << bad.body;
  const std::string array = "[1,2]";
  EXPECT_EQ(post(ep.port, "/hooks/shop", array,
                 {{"X-Hub-Signature-256", sig(now, array)}, {"X-Timestamp", now}})
                .status,
            400);
  const std::string big = "{\"pad\":\"" + std::string(300, 'x') + "\"}";
  EXPECT_EQ(post(ep.port, "/hooks/shop", big,
                 {{"X-Hub-Signature-256", sig(now, big)}, {"X-Timestamp", now}})
                .status,
            413);
  EXPECT_EQ(post(ep.port, "/elsewhere", body).status, 404);
  // Bare hex with a fresh timestamp is accepted.
  const std::string bare = omniloop::webhook::hmacSha256Hex(kSecret, now + "." + body);
  EXPECT_EQ(
      post(ep.port, "/hooks/shop", body, {{"X-Hub-Signature-256", bare}, {"X-Timestamp", now}})
          .status,
      202);
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].find("a")->i, 1);
  EXPECT_EQ(src.log().counters["webhook_unauthorized"], 4);
  EXPECT_EQ(src.log().counters["webhook_rejected"], 4);
  EXPECT_EQ(src.log().counters["webhook_accepted"], 1);
}

TEST(WebhookSource, ResumesFromTheCursorAndRepairsATornSpoolLine) {
  Endpoint ep("resume");
  std::string cursor;
  {
    Instance src(OL_SOURCE, "http.webhook", ep.config());
    ASSERT_TRUE(src.ok()) << src.createError();
    for (int i = 0; i < 3; ++i) {
      const std::string body = "{\"n\":" + std::to_string(i) + "}";
      ASSERT_EQ(post(ep.port, "/hooks/shop", body, signedHeaders(body)).status, 202);
    }
    ol_batch b;
    b.capacity = 2;
    ASSERT_EQ(src.read(&b, 2), OL_OK);
    ASSERT_EQ(b.events.size(), 2u);
    cursor = b.cursor;
  }
  appendFile(ep.dir + "/spool/webhook.spool", "{\"id\":\"torn");  // a crash inside write()
  Instance src(OL_SOURCE, "http.webhook", ep.config());
  ASSERT_TRUE(src.ok()) << src.createError();
  ASSERT_EQ(src.resume(cursor), OL_OK) << src.lastError();
  const std::string body = R"({"n":3})";
  ASSERT_EQ(post(ep.port, "/hooks/shop", body, signedHeaders(body)).status, 202);
  const auto d = src.drain();
  ASSERT_EQ(d.events.size(), 2u);
  EXPECT_EQ(d.events[0].find("n")->i, 2);
  EXPECT_EQ(d.events[1].find("n")->i, 3);
  for (const auto& e : d.events) EXPECT_EQ(e.disposition, OL_KEEP) << e.reason;
}

TEST(WebhookConfig, RejectionsNameTheOption) {
  Endpoint ep("config");
  Instance nosecret(OL_SOURCE, "http.webhook",
                    "{\"listen\":\"127.0.0.1:" + std::to_string(ep.port) +
                        "\",\"spool_dir\":" + jsonQuote(ep.dir + "/spool") + "}");
  EXPECT_FALSE(nosecret.ok());
  EXPECT_NE(nosecret.createError().find("option 'secret_file' is required"), std::string::npos);
  Instance badsecret(
      OL_SOURCE, "http.webhook",
      ep.config(R"("listen":"127.0.0.1:1")").replace(ep.config().find("/secret"), 7, "/nosecret"));
  EXPECT_FALSE(badsecret.ok());
  EXPECT_NE(badsecret.createError().find("secret_file"), std::string::npos);
  EXPECT_EQ(badsecret.createError().find(kSecret), std::string::npos);
  Instance first(OL_SOURCE, "http.webhook", ep.config());
  ASSERT_TRUE(first.ok()) << first.createError();
  Instance busy(OL_SOURCE, "http.webhook", ep.config());  // the port is taken
  EXPECT_FALSE(busy.ok());
  EXPECT_NE(busy.createError().find("option 'listen'"), std::string::npos) << busy.createError();
}

}  // namespace
}  // namespace plugintest
