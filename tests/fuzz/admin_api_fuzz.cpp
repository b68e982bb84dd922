// The admin API's request handling (core/admin) over arbitrary bytes sent as one HTTP
// connection to a real AdminServer on 127.0.0.1 (the request parsing, the routes, the bearer
// token check, the body limit), plus the Authorization header parser on the same bytes. The
// server must answer or close; it must never crash or hang (the fuzzer's -timeout).
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "admin/auth.h"
#include "admin/server.h"
#include "http_exchange.h"

namespace {

using namespace omniloop::admin;

class FakeBackend : public Backend {
 public:
  DaemonSnapshot snapshot() override {
    DaemonSnapshot s;
    s.version = "fuzz";
    PipelineSnapshot p;
    p.name = "orders";
    p.file = "/etc/omniloop/pipelines.d/orders.yaml";
    p.source_type = "file.csv";
    p.state = "running";
    p.cursor = "offset:42";
    p.last_error = "a \"quoted\"\n error";
    p.stages.push_back({"0:map", 10, 1, 2, 0.5});
    p.sinks.push_back({"default", "cdp", 7, 0, 1});
    s.pipelines.push_back(p);
    PipelineSnapshot bad;
    bad.name = "broken";
    bad.state = "invalid";
    bad.diagnostics.push_back("broken.yaml:1:1: error: x");
    s.pipelines.push_back(bad);
    return s;
  }
  ActionResult restartPipeline(const std::string& name) override {
    return {name == "orders" ? 202 : 404, R"({"ok":true})"};
  }
  ActionResult reload() override { return {200, R"({"reloaded":true})"}; }
  ActionResult eraseSubject(const std::string& body, const std::string&) override {
    return {200, "{\"bytes\":" + std::to_string(body.size()) + "}"};
  }
  ActionResult exportSubject(const std::vector<std::string>& identities,
                             const std::string&) override {
    return {200, "{\"identities\":" + std::to_string(identities.size()) + "}"};
  }
};

struct Server {
  FakeBackend backend;
  std::unique_ptr<AdminServer> server;
  Server() {
    spdlog::set_level(spdlog::level::off);
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.max_body_bytes = 1024;  // small, so that fuzzed bodies reach the limit
    server = std::make_unique<AdminServer>(options, backend);
    server->setToken(std::string("fuzz-token-0123456789"));
    server->start();
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Server server;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (const auto token = bearerToken(bytes)) {
    (void)constantTimeEquals(*token, "fuzz-token-0123456789");
  }
  (void)omniloop::fuzz::httpExchange(server.server->port(), bytes);
  return 0;
}
