// The admin server in process, over loopback, with a fake daemon behind it.
#include <gtest/gtest.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <thread>
#include <vector>

#include "admin/http_request.h"
#include "admin/server.h"
#include "omniloop/redact.hpp"

using namespace omniloop::admin;

namespace {

class FakeBackend : public Backend {
 public:
  DaemonSnapshot snapshot() override {
    DaemonSnapshot s;
    s.version = "1.2.3";
    PipelineSnapshot p;
    p.name = "pos";
    p.state = state;
    p.read = 7;
    s.pipelines.push_back(p);
    return s;
  }
  ActionResult restartPipeline(const std::string& name) override {
    restarted = name;
    if (name != "pos") return {404, R"({"error":"no pipeline"})"};
    return {202, R"({"status":"restarting"})"};
  }
  ActionResult reload() override {
    ++reloads;
    return {200, R"({"status":"reloaded"})"};
  }
  std::string state = "running";
  std::string restarted;
  std::atomic<int> reloads{0};
};

struct Reply {
  int status = 0;
  std::string body;
  std::string content_type;
  std::string www_authenticate;
  std::string allow;
};

Reply request(uint16_t port, const std::string& method, const std::string& path,
              const std::string& token = "", const std::string& body = "", bool chunked = false) {
  Poco::Net::HTTPClientSession session("127.0.0.1", port);
  session.setTimeout(Poco::Timespan(5, 0));
  Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  if (!token.empty()) req.set("Authorization", "Bearer " + token);
  if (chunked) {
    req.setChunkedTransferEncoding(true);
  } else if (!body.empty() || method == "POST") {
    req.setContentLength64(static_cast<Poco::Int64>(body.size()));
  }
  std::ostream& out = session.sendRequest(req);
  out << body;
  Poco::Net::HTTPResponse resp;
  std::istream& in = session.receiveResponse(resp);
  std::ostringstream ss;
  ss << in.rdbuf();
  Reply r;
  r.status = resp.getStatus();
  r.body = ss.str();
  r.content_type = resp.getContentType();
  r.www_authenticate = resp.get("WWW-Authenticate", "");
  r.allow = resp.get("Allow", "");
  return r;
}

// Sends `raw` on a new connection and returns everything the server answers until it closes
// the connection (or `wait` passes).
std::string rawExchange(uint16_t port, const std::string& raw,
                        std::chrono::milliseconds wait = std::chrono::milliseconds(3000)) {
  Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", port));
  s.sendBytes(raw.data(), static_cast<int>(raw.size()));
  s.setReceiveTimeout(Poco::Timespan(static_cast<long>(wait.count()) * 1000));
  std::string out;
  char buf[4096];
  try {
    for (int n = s.receiveBytes(buf, sizeof(buf)); n > 0; n = s.receiveBytes(buf, sizeof(buf))) {
      out.append(buf, static_cast<size_t>(n));
    }
  } catch (const Poco::Exception&) {
  }
  return out;
}

// True once GET /health answers 200 (retried: a refused connection is closed by the server).
bool healthyWithin(uint16_t port, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (request(port, "GET", "/health").status == 200) return true;
    } catch (const Poco::Exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.timeout = std::chrono::seconds(1);
    o.keep_alive_timeout = std::chrono::seconds(1);
    o.request_timeout = std::chrono::seconds(1);
    server = std::make_unique<AdminServer>(o, backend);
    server->setToken(std::string("tok"));
    server->start();
    port = server->port();
  }
  FakeBackend backend;
  std::unique_ptr<AdminServer> server;
  uint16_t port = 0;
};

}  // namespace

TEST_F(AdminServerTest, HealthNeedsNoToken) {
  const Reply r = request(port, "GET", "/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"status":"ok"})");
  EXPECT_EQ(r.content_type, "application/json");
}

TEST_F(AdminServerTest, EveryOtherRouteNeedsTheBearerToken) {
  for (const char* path : {"/ready", "/metrics", "/v1/pipelines", "/v1/pipelines/pos", "/nope"}) {
    const Reply none = request(port, "GET", path);
    EXPECT_EQ(none.status, 401) << path;
    EXPECT_NE(none.body.find("missing bearer token"), std::string::npos) << none.body;
    EXPECT_NE(none.www_authenticate.find("Bearer"), std::string::npos);
    const Reply wrong = request(port, "GET", path, "tok2");
    EXPECT_EQ(wrong.status, 401) << path;
    EXPECT_NE(wrong.body.find("invalid bearer token"), std::string::npos);
  }
  EXPECT_EQ(request(port, "POST", "/v1/reload").status, 401);
  EXPECT_EQ(backend.reloads.load(), 0);

  EXPECT_EQ(request(port, "GET", "/ready", "tok").status, 200);
  EXPECT_EQ(request(port, "GET", "/v1/pipelines", "tok").status, 200);
  const Reply m = request(port, "GET", "/metrics", "tok");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m.body.find("omniloop_events_read_total{pipeline=\"pos\"} 7\n"), std::string::npos);
}

TEST_F(AdminServerTest, WithoutAConfiguredTokenOnlyHealthIsServed) {
  server->setToken(std::nullopt);
  EXPECT_EQ(request(port, "GET", "/health").status, 200);
  const Reply r = request(port, "GET", "/v1/pipelines", "anything");
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(r.body.find("configure admin.token_file"), std::string::npos) << r.body;
}

TEST_F(AdminServerTest, ReadyIs503WhileAPipelineIsInBackoff) {
  backend.state = "backoff";
  const Reply r = request(port, "GET", "/ready", "tok");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find("pipeline pos is backoff"), std::string::npos) << r.body;
}

TEST_F(AdminServerTest, UnknownPathsAndWrongMethodsGetJsonErrors) {
  const Reply missing = request(port, "GET", "/v2/things", "tok");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("\"hint\""), std::string::npos);
  const Reply method = request(port, "DELETE", "/v1/pipelines", "tok");
  EXPECT_EQ(method.status, 405);
  EXPECT_EQ(method.allow, "GET, HEAD");
  const Reply get_reload = request(port, "GET", "/v1/reload", "tok");
  EXPECT_EQ(get_reload.status, 405);
  EXPECT_EQ(get_reload.allow, "POST");
  const Reply pipeline = request(port, "GET", "/v1/pipelines/nope", "tok");
  EXPECT_EQ(pipeline.status, 404);
  EXPECT_NE(pipeline.body.find("no pipeline named 'nope'"), std::string::npos);
  const Reply one = request(port, "GET", "/v1/pipelines/pos?x=1", "tok");
  EXPECT_EQ(one.status, 200);
  EXPECT_NE(one.body.find("\"name\":\"pos\""), std::string::npos);
}

TEST_F(AdminServerTest, ActionsReachTheBackendWithItsStatus) {
  EXPECT_EQ(request(port, "POST", "/v1/pipelines/pos/restart", "tok").status, 202);
  EXPECT_EQ(backend.restarted, "pos");
  EXPECT_EQ(request(port, "POST", "/v1/pipelines/other/restart", "tok").status, 404);
  const Reply r = request(port, "POST", "/v1/reload", "tok");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(backend.reloads.load(), 1);
}

TEST_F(AdminServerTest, BodiesOver64KiBAre413) {
  const std::string big(65 * 1024, 'x');
  const Reply declared = request(port, "POST", "/v1/reload", "tok", big);
  EXPECT_EQ(declared.status, 413);
  const Reply chunked = request(port, "POST", "/v1/reload", "tok", big, true);
  EXPECT_EQ(chunked.status, 413);
  EXPECT_EQ(backend.reloads.load(), 0);
  EXPECT_EQ(request(port, "POST", "/v1/reload", "tok", std::string(1000, 'x')).status, 200);
}

TEST_F(AdminServerTest, ASlowClientIsCutOffAndDoesNotStallOthers) {
  // Several clients open connections and never finish their request.
  std::vector<Poco::Net::StreamSocket> stalled;
  for (int i = 0; i < 4; ++i) {
    stalled.emplace_back(Poco::Net::SocketAddress("127.0.0.1", port));
    stalled.back().sendBytes("GET /metr", 9);
  }
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(request(port, "GET", "/health").status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
  // The server closes them after its 1 s timeout.
  for (auto& s : stalled) {
    s.setReceiveTimeout(Poco::Timespan(5, 0));
    char buf[256];
    int n = 0;
    try {
      n = s.receiveBytes(buf, sizeof(buf));
      while (n > 0) n = s.receiveBytes(buf, sizeof(buf));  // an error answer, then EOF
    } catch (const Poco::Exception&) {
      n = 0;  // reset by the server: also cut off
    }
    EXPECT_EQ(n, 0);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
}

TEST_F(AdminServerTest, ASecondServerOnTheSamePortIsRefused) {
  FakeBackend other;
  ServerOptions o;
  o.listen = "127.0.0.1:" + std::to_string(port);
  try {
    AdminServer second(o, other);
    FAIL() << "bound a port already in use";
  } catch (const std::runtime_error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("cannot listen on 127.0.0.1:" + std::to_string(port)), std::string::npos) << m;
    EXPECT_NE(m.find("admin.listen"), std::string::npos) << m;
  }
}

TEST(AdminServer, RefusesAnUnusableListenAddress) {
  FakeBackend backend;
  ServerOptions o;
  o.listen = "no-port-here";
  EXPECT_THROW(AdminServer(o, backend), std::runtime_error);
}

TEST_F(AdminServerTest, HeadIsAnsweredWhereverGetIsWithTheSameHeadersAndNoBody) {
  for (const char* path : {"/health", "/v1/pipelines", "/metrics", "/ready"}) {
    const std::string req =
        std::string(" ") + path +
        " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nConnection: close\r\n\r\n";
    const std::string get = rawExchange(port, "GET" + req);
    const std::string head = rawExchange(port, "HEAD" + req);
    ASSERT_EQ(head.rfind("HTTP/1.1 200 ", 0), 0u) << path << ": " << head;
    const size_t get_end = get.find("\r\n\r\n");
    ASSERT_NE(get_end, std::string::npos) << get;
    EXPECT_EQ(head, get.substr(0, get_end + 4)) << path;  // same fields, nothing after them
    EXPECT_GT(get.size(), get_end + 4) << path;
  }
  EXPECT_EQ(request(port, "HEAD", "/v1/pipelines/pos", "tok").status, 200);
  EXPECT_EQ(request(port, "HEAD", "/v1/pipelines").status, 401);
  const Reply reload = request(port, "HEAD", "/v1/reload", "tok");
  EXPECT_EQ(reload.status, 405);
  EXPECT_EQ(reload.allow, "POST");
  EXPECT_EQ(backend.reloads.load(), 0);
}

TEST_F(AdminServerTest, ATenMegabyteBodyGets413AndTheConnectionIsClosed) {
  const std::string big(10 * 1024 * 1024, 'x');
  const Reply r = request(port, "POST", "/v1/reload", "tok", big);
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("request body too large"), std::string::npos) << r.body;
  // Declared but not sent: answered at once from the header, the connection closed.
  const auto t0 = std::chrono::steady_clock::now();
  const std::string raw =
      rawExchange(port,
                  "POST /v1/reload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n"
                  "Content-Length: 10485760\r\n\r\nxxxx");
  EXPECT_EQ(raw.rfind("HTTP/1.1 413 ", 0), 0u) << raw;
  EXPECT_NE(raw.find("Connection: close"), std::string::npos) << raw;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(2900));
  EXPECT_EQ(backend.reloads.load(), 0);
  EXPECT_EQ(request(port, "GET", "/health").status, 200);
  EXPECT_EQ(request(port, "POST", "/v1/reload", "tok").status, 200);
}

TEST_F(AdminServerTest, ARequestTrickledInIsCutOffAtTheWholeRequestDeadline) {
  // One header line every 300 ms: each read is far within the 1 s socket timeout, but the
  // request as a whole must be complete within request_timeout (1 s here).
  Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", port));
  s.sendBytes("GET /health HTTP/1.1\r\n", 22);
  const auto t0 = std::chrono::steady_clock::now();
  std::string answer;
  s.setReceiveTimeout(Poco::Timespan(0, 300 * 1000));
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(5)) {
    try {
      s.sendBytes("X-Slow: 1\r\n", 11);
    } catch (const Poco::Exception&) {
      break;  // reset: cut off
    }
    char buf[1024];
    try {
      const int n = s.receiveBytes(buf, sizeof(buf));
      if (n <= 0) break;
      answer.append(buf, static_cast<size_t>(n));
    } catch (const Poco::TimeoutException&) {
    } catch (const Poco::Exception&) {
      break;
    }
  }
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, std::chrono::milliseconds(2500));
  EXPECT_GE(took, std::chrono::milliseconds(800));
  EXPECT_EQ(answer.rfind("HTTP/1.1 408 ", 0), 0u) << answer;
}

TEST(AdminServerLoad, HealthAnswersEveryProbeWhileTricklingClientsHoldConnections) {
  FakeBackend backend;
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.request_timeout = std::chrono::seconds(10);  // the trickling clients stay for the whole test
  AdminServer server(o, backend);
  server.setToken(std::string("tok"));
  server.start();
  const uint16_t port = server.port();

  // Twice as many trickling clients as worker threads, one header line every 500 ms.
  std::atomic<bool> done{false};
  std::atomic<int> still_connected{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 2 * o.max_threads; ++i) {
    clients.emplace_back([&] {
      try {
        Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", port));
        s.sendBytes("GET /v1/pipelines HTTP/1.1\r\n", 28);
        ++still_connected;
        while (!done) {
          s.sendBytes("X-Slow: 1\r\n", 11);
          std::this_thread::sleep_for(std::chrono::milliseconds(500));
        }
      } catch (const Poco::Exception&) {
        --still_connected;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  int probes = 0;
  int answered = 0;
  int authenticated = 0;
  const auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3)) {
    ++probes;
    try {
      Poco::Net::HTTPClientSession session("127.0.0.1", port);
      session.setTimeout(Poco::Timespan(2, 0));  // a probe waits 2 s at most
      Poco::Net::HTTPRequest req("GET", probes % 2 == 0 ? "/health" : "/v1/pipelines",
                                 Poco::Net::HTTPMessage::HTTP_1_1);
      if (probes % 2 == 1) req.set("Authorization", "Bearer tok");
      session.sendRequest(req);
      Poco::Net::HTTPResponse resp;
      std::istream& in = session.receiveResponse(resp);
      std::ostringstream body;
      body << in.rdbuf();
      if (resp.getStatus() == 200) (probes % 2 == 0 ? answered : authenticated)++;
    } catch (const Poco::Exception& e) {
      ADD_FAILURE() << "probe " << probes << " failed: " << e.displayText();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(still_connected.load(), 2 * o.max_threads);  // they were there all along
  done = true;
  for (auto& t : clients) t.join();
  EXPECT_GT(probes, 10);
  EXPECT_EQ(answered + authenticated, probes);
}

TEST(AdminServerLoad, ConnectionsAreCappedPerClientAndInTotal) {
  FakeBackend backend;
  ServerOptions o;
  o.listen = "127.0.0.1:0";
  o.max_connections_per_client = 3;
  AdminServer server(o, backend);
  server.start();
  const uint16_t port = server.port();
  {
    std::vector<Poco::Net::StreamSocket> idle;
    for (int i = 0; i < 3; ++i) idle.emplace_back(Poco::Net::SocketAddress("127.0.0.1", port));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const std::string refused = rawExchange(port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(refused.empty() || refused.rfind("HTTP/1.1 503 ", 0) == 0) << refused;
    EXPECT_EQ(refused.find("\"ok\""), std::string::npos) << refused;
  }
  EXPECT_TRUE(healthyWithin(port, std::chrono::seconds(3)));  // once the server saw them close
  server.stop();

  ServerOptions t = o;
  t.max_connections = 2;
  AdminServer small(t, backend);
  small.start();
  std::vector<Poco::Net::StreamSocket> idle;
  for (int i = 0; i < 2; ++i)
    idle.emplace_back(Poco::Net::SocketAddress("127.0.0.1", small.port()));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::string refused = rawExchange(small.port(), "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(refused.find("\"ok\""), std::string::npos) << refused;
  idle.clear();
  EXPECT_TRUE(healthyWithin(small.port(), std::chrono::seconds(3)));
}

TEST(AdminServer, OnlyLoopbackListenAddressesCountAsLocal) {
  EXPECT_TRUE(isLoopbackListen("127.0.0.1:8686"));
  EXPECT_TRUE(isLoopbackListen("127.0.0.2:8686"));
  EXPECT_TRUE(isLoopbackListen("[::1]:8686"));
  EXPECT_FALSE(isLoopbackListen("0.0.0.0:8686"));
  EXPECT_FALSE(isLoopbackListen("[::]:8686"));
  EXPECT_FALSE(isLoopbackListen("192.168.1.10:8686"));
}

TEST(HttpRequestParser, ReadsARequestArrivingInPieces) {
  const std::string raw =
      "POST /v1/subjects/erase?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
      "GET /health HTTP/1.1\r\n\r\n";
  HttpLimits limits;
  HttpRequest req;
  for (size_t n = 0; n < 70; ++n) {
    EXPECT_EQ(parseRequest(std::string_view(raw).substr(0, n), limits, req).state,
              ParseState::NeedMore)
        << n;
  }
  const ParseResult r = parseRequest(raw, limits, req);
  ASSERT_EQ(r.state, ParseState::Complete);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/v1/subjects/erase?x=1");
  EXPECT_EQ(req.header("content-length"), "5");
  EXPECT_EQ(req.body, "hello");
  EXPECT_TRUE(req.keepAlive());
  const ParseResult next = parseRequest(std::string_view(raw).substr(r.consumed), limits, req);
  EXPECT_EQ(next.state, ParseState::Complete);
  EXPECT_EQ(req.target, "/health");
}

TEST(HttpRequestParser, DecodesChunkedBodiesAndRefusesWhatIsOverTheLimits) {
  HttpLimits limits;
  limits.max_body_bytes = 10;
  limits.max_header_bytes = 64;
  HttpRequest req;
  ParseResult r = parseRequest(
      "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
      limits, req);
  ASSERT_EQ(r.state, ParseState::Complete);
  EXPECT_EQ(req.body, "abcde");
  r = parseRequest("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nabcdefgh\r\n8\r\n",
                   limits, req);
  EXPECT_EQ(r.status, 413);
  r = parseRequest("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits, req);
  EXPECT_EQ(r.status, 413);
  r = parseRequest("GET / HTTP/1.1\r\nX: " + std::string(100, 'a'), limits, req);
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(parseRequest("GET / HTTP/2.0\r\n\r\n", limits, req).status, 505);
  EXPECT_EQ(parseRequest("GET /a\nb HTTP/1.1\r\n\r\n", limits, req).status, 400);
  EXPECT_EQ(parseRequest("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n", limits, req).status, 400);
  EXPECT_EQ(
      parseRequest("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", limits, req)
          .status,
      400);
  EXPECT_EQ(parseRequest("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", limits, req).status,
            501);
}

TEST(HttpRequestParser, LogEscapingKeepsARequestOnOneLogLine) {
  EXPECT_EQ(escapeForLog("/v1/x\n2026-01-01 [info] forged\r"),
            "/v1/x\\x0a2026-01-01 [info] forged\\x0d");
  EXPECT_EQ(escapeForLog("a\\b\x1b[31m"), "a\\x5cb\\x1b[31m");
  EXPECT_EQ(escapeForLog(std::string(300, 'a'), 10), "aaaaaaaaaa...");
}

TEST_F(AdminServerTest, ALongTokenIsAccepted) {
  const std::string token(64, 'k');  // longer than any short-string buffer
  server->setToken(token);
  EXPECT_EQ(request(port, "GET", "/v1/pipelines", token).status, 200);
  EXPECT_EQ(request(port, "GET", "/v1/pipelines", token + "x").status, 401);
}

TEST_F(AdminServerTest, PutWithoutABodyGets405) {
  EXPECT_EQ(request(port, "PUT", "/v1/pipelines", "tok").status, 405);
}

TEST(Redaction, EverySecretFormBecomesTheSecretMark) {
  using omniloop::sdk::redactSecrets;
  EXPECT_EQ(redactSecrets("cannot open postgresql://cdp:pw1@db:5432/cdp?password=pw2&x=1 now"),
            "cannot open postgresql://cdp:[secret]@db:5432/cdp?password=[secret]&x=1 now");
  EXPECT_EQ(redactSecrets("conn 'DSN=crm;UID=u;PWD={a;}}b};X=1' failed"),
            "conn 'DSN=crm;UID=u;PWD=[secret];X=1' failed");
  EXPECT_EQ(redactSecrets("Password = hunter22 (from file)"), "Password = [secret] (from file)");
  EXPECT_EQ(redactSecrets("login with s3cr3t-value refused", {"s3cr3t-value"}),
            "login with [secret] refused");
  EXPECT_EQ(redactSecrets("GET /v1/pipelines 200"), "GET /v1/pipelines 200");
  EXPECT_EQ(redactSecrets("already [secret]: PWD=[secret]"), "already [secret]: PWD=[secret]");
}

TEST(Redaction, AMessageAboutAConnectionStringLosesItsSecretsInAnyForm) {
  using omniloop::sdk::redactSecretsOf;
  using omniloop::sdk::secretValues;
  const std::string uri = "postgresql://cdp:pw%zz@db/cdp?password=other";
  EXPECT_EQ(secretValues(uri), (std::vector<std::string>{"pw%zz", "other"}));
  EXPECT_EQ(redactSecretsOf("invalid percent-encoded token: \"pw%zz\"", uri),
            "invalid percent-encoded token: \"[secret]\"");
  EXPECT_EQ(redactSecretsOf("bad value {a;b} in DSN=x", "DSN=x;PWD={a;b}"), "bad value [secret] in DSN=x");
}
