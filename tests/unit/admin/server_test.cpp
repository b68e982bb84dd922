// The admin server in process, over loopback, with a fake daemon behind it.
#include <gtest/gtest.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/StreamSocket.h>

#include <atomic>
#include <chrono>
#include <sstream>

#include "admin/server.h"

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

class AdminServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.timeout = std::chrono::seconds(1);
    o.keep_alive_timeout = std::chrono::seconds(1);
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
  EXPECT_EQ(method.allow, "GET");
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
