#include "admin/server.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/SHA2Engine.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>
#include <spdlog/spdlog.h>

#include <istream>
#include <vector>

#include "admin/auth.h"
#include "admin/metrics.h"
#include "admin/render.h"

namespace omniloop::admin {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

struct AdminServer::Shared {
  Backend* backend = nullptr;
  size_t max_body_bytes = 0;
  std::mutex mu;
  std::optional<std::string> token;

  std::optional<std::string> currentToken() {
    std::lock_guard lock(mu);
    return token;
  }
};

namespace {

constexpr const char* kJson = "application/json";

void send(HTTPServerResponse& resp, int status, const std::string& body,
          const char* content_type = kJson) {
  resp.setStatusAndReason(static_cast<HTTPResponse::HTTPStatus>(status));
  resp.setContentType(content_type);
  resp.set("Cache-Control", "no-store");
  resp.set("X-Content-Type-Options", "nosniff");
  resp.setContentLength64(static_cast<Poco::Int64>(body.size()));
  resp.send() << body;
}

void sendError(HTTPServerResponse& resp, int status, std::string_view error,
               std::string_view hint = {}) {
  send(resp, status, errorJson(error, hint));
}

// Reads and discards the request body, up to the limit. False when it is larger.
// Reads and discards the request body; false when it exceeds `limit`. An oversized body
// is still read (up to 16x the limit, bounded by the socket timeout) so that a client
// still sending sees the 413 instead of a connection reset; beyond that the
// connection is simply closed.
bool drainBody(HTTPServerRequest& req, size_t limit, std::string* keep = nullptr) {
  const size_t discard_cap = limit * 16;
  if (req.hasContentLength() &&
      req.getContentLength64() > static_cast<Poco::Int64>(discard_cap)) {
    return false;
  }
  if (!req.hasContentLength() && !req.getChunkedTransferEncoding()) return true;
  std::istream& in = req.stream();
  char buf[4096];
  size_t total = 0;
  try {
    while (in && total <= discard_cap) {
      in.read(buf, sizeof(buf));
      if (keep != nullptr && total + static_cast<size_t>(in.gcount()) <= limit) {
        keep->append(buf, static_cast<size_t>(in.gcount()));
      }
      total += static_cast<size_t>(in.gcount());
    }
  } catch (const Poco::Exception&) {
    return false;  // the client stopped sending or timed out: refuse, close
  }
  return total <= limit;
}

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

enum class Route { Health, Ready, Metrics, Pipelines, Pipeline, Restart, Reload, Erase, Export, None };

Route route(const std::vector<std::string>& p) {
  if (p.size() == 1 && p[0] == "health") return Route::Health;
  if (p.size() == 1 && p[0] == "ready") return Route::Ready;
  if (p.size() == 1 && p[0] == "metrics") return Route::Metrics;
  if (p.size() == 2 && p[0] == "v1" && p[1] == "pipelines") return Route::Pipelines;
  if (p.size() == 3 && p[0] == "v1" && p[1] == "pipelines") return Route::Pipeline;
  if (p.size() == 4 && p[0] == "v1" && p[1] == "pipelines" && p[3] == "restart") {
    return Route::Restart;
  }
  if (p.size() == 2 && p[0] == "v1" && p[1] == "reload") return Route::Reload;
  if (p.size() == 3 && p[0] == "v1" && p[1] == "subjects" && p[2] == "erase") return Route::Erase;
  if (p.size() == 3 && p[0] == "v1" && p[1] == "subjects" && p[2] == "export") return Route::Export;
  return Route::None;
}

const char* allowedMethod(Route r) {
  return (r == Route::Restart || r == Route::Reload || r == Route::Erase) ? "POST" : "GET";
}

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(std::shared_ptr<AdminServer::Shared> shared) : shared_(std::move(shared)) {}

  void handleRequest(HTTPServerRequest& req, HTTPServerResponse& resp) override {
    int status = 500;
    try {
      status = handle(req, resp);
    } catch (const std::exception& e) {
      spdlog::error("admin: {} {} failed: {}", req.getMethod(), pathOf(req), e.what());
      if (!resp.sent()) sendError(resp, 500, "internal error", "see the daemon's log");
    }
    spdlog::debug("admin: {} {} {} from {}", req.getMethod(), pathOf(req), status,
                  req.clientAddress().host().toString());
  }

 private:
  static std::string pathOf(const HTTPServerRequest& req) {
    try {
      return Poco::URI(req.getURI()).getPath();
    } catch (const Poco::Exception&) {
      return "(bad uri)";
    }
  }

  int handle(HTTPServerRequest& req, HTTPServerResponse& resp) {
    std::string body;
    if (!drainBody(req, shared_->max_body_bytes, &body)) {
      resp.setKeepAlive(false);
      sendError(resp, 413, "request body too large",
                "the admin API takes at most " + std::to_string(shared_->max_body_bytes / 1024) +
                    " KiB; only POST /v1/subjects/erase takes a (small) body");
      return 413;
    }
    std::string path;
    try {
      path = Poco::URI(req.getURI()).getPath();
    } catch (const Poco::Exception&) {
      sendError(resp, 400, "malformed request URI");
      return 400;
    }
    const std::vector<std::string> parts = splitPath(path);
    const Route r = route(parts);
    const std::string& method = req.getMethod();

    if (r == Route::Health) {
      if (method != "GET" && method != "HEAD") return methodNotAllowed(resp, "GET");
      send(resp, 200, R"({"status":"ok"})");
      return 200;
    }
    if (int denied = authenticate(req, resp); denied != 0) return denied;
    if (r == Route::None) {
      sendError(resp, 404, "no such endpoint: " + path,
                "endpoints: /health /ready /metrics /v1/pipelines /v1/pipelines/{name} "
                "/v1/pipelines/{name}/restart /v1/reload /v1/subjects/erase /v1/subjects/export");
      return 404;
    }
    if (method != allowedMethod(r)) return methodNotAllowed(resp, allowedMethod(r));

    Backend& backend = *shared_->backend;
    switch (r) {
      case Route::Ready: {
        const Readiness ready = readiness(backend.snapshot());
        send(resp, ready.ready ? 200 : 503, ready.json);
        return ready.ready ? 200 : 503;
      }
      case Route::Metrics:
        send(resp, 200, renderMetrics(backend.snapshot()), kMetricsContentType);
        return 200;
      case Route::Pipelines:
        send(resp, 200, pipelinesJson(backend.snapshot()));
        return 200;
      case Route::Pipeline: {
        const DaemonSnapshot s = backend.snapshot();
        for (const PipelineSnapshot& p : s.pipelines) {
          if (p.name == parts[2]) {
            send(resp, 200, pipelineJson(p));
            return 200;
          }
        }
        sendError(resp, 404, "no pipeline named '" + parts[2] + "'",
                  "GET /v1/pipelines lists the pipelines");
        return 404;
      }
      case Route::Restart: {
        const ActionResult a = backend.restartPipeline(parts[2]);
        send(resp, a.status, a.json);
        return a.status;
      }
      case Route::Reload: {
        const ActionResult a = backend.reload();
        send(resp, a.status, a.json);
        return a.status;
      }
      case Route::Erase: {
        const ActionResult a = backend.eraseSubject(body, "api:token:" + tokenId(shared_->currentToken().value_or("")));
        send(resp, a.status, a.json);
        return a.status;
      }
      case Route::Export: {
        std::vector<std::string> identities;
        try {
          for (const auto& [key, value] : Poco::URI(req.getURI()).getQueryParameters()) {
            if (key == "identity") identities.push_back(value);
          }
        } catch (const Poco::Exception&) {
          sendError(resp, 400, "malformed query string", "write ?identity=email:jane%40example.com");
          return 400;
        }
        const ActionResult a = backend.exportSubject(identities, "api:token:" + tokenId(shared_->currentToken().value_or("")));
        send(resp, a.status, a.json);
        return a.status;
      }
      default:
        break;
    }
    sendError(resp, 404, "no such endpoint: " + path);
    return 404;
  }

  // 0 when the request may go on; else the status already sent.
  int authenticate(HTTPServerRequest& req, HTTPServerResponse& resp) {
    const std::optional<std::string> expected = shared_->currentToken();
    resp.set("WWW-Authenticate", "Bearer realm=\"omniloop\"");
    if (!expected) {
      sendError(resp, 401, "the admin API has no token configured",
                "configure admin.token_file in omniloop.yaml (a file holding a random token) "
                "and restart omniloopd; only /health is served without it");
      return 401;
    }
    const std::string header = req.get("Authorization", "");
    const std::optional<std::string_view> given = bearerToken(header);
    if (!given) {
      sendError(resp, 401, "missing bearer token",
                "send the header `Authorization: Bearer <token>` with the token from "
                "admin.token_file");
      return 401;
    }
    if (!constantTimeEquals(*expected, *given)) {
      sendError(resp, 401, "invalid bearer token",
                "use the token held in the file named by admin.token_file");
      return 401;
    }
    resp.erase("WWW-Authenticate");
    return 0;
  }

  static int methodNotAllowed(HTTPServerResponse& resp, const char* allowed) {
    resp.set("Allow", allowed);
    sendError(resp, 405, "method not allowed", std::string("use ") + allowed);
    return 405;
  }

  std::shared_ptr<AdminServer::Shared> shared_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(std::shared_ptr<AdminServer::Shared> shared) : shared_(std::move(shared)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new Handler(shared_);
  }

 private:
  std::shared_ptr<AdminServer::Shared> shared_;
};

Poco::Net::SocketAddress parseListen(const std::string& listen) {
  try {
    return Poco::Net::SocketAddress(listen);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("admin.listen '" + listen + "' is not a usable host:port (" +
                             e.displayText() + "); write e.g. 127.0.0.1:8686");
  }
}

}  // namespace

std::string tokenId(std::string_view token) {
  Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
  sha.update(token.data(), static_cast<unsigned>(token.size()));
  return Poco::DigestEngine::digestToHex(sha.digest()).substr(0, 8);
}

AdminServer::AdminServer(const ServerOptions& options, Backend& backend)
    : shared_(std::make_shared<Shared>()) {
  shared_->backend = &backend;
  shared_->max_body_bytes = options.max_body_bytes;

  const Poco::Net::SocketAddress address = parseListen(options.listen);
  const bool want_tls = !options.tls_cert_file.empty() || !options.tls_key_file.empty();
  std::unique_ptr<Poco::Net::ServerSocket> socket;
  try {
    if (want_tls) {
      if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
        throw std::runtime_error("admin TLS needs both admin.tls_cert_file and admin.tls_key_file");
      }
      Poco::Net::initializeSSL();
      Poco::Net::Context::Params params;
      params.certificateFile = options.tls_cert_file;
      params.privateKeyFile = options.tls_key_file;
      params.verificationMode = Poco::Net::Context::VERIFY_NONE;
      Poco::Net::Context::Ptr context =
          new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
      context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
      socket = std::make_unique<Poco::Net::SecureServerSocket>(context);
      tls_ = true;
    } else {
      socket = std::make_unique<Poco::Net::ServerSocket>();
    }
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("admin TLS: cannot use " + options.tls_cert_file + " / " +
                             options.tls_key_file + ": " + e.displayText() +
                             " (both PEM files, the key unencrypted)");
  }
  try {
    // SO_REUSEADDR for quick restarts, never SO_REUSEPORT: a second daemon must fail here.
    socket->bind(address, true, false);
    socket->listen(options.max_queued);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("admin API cannot listen on " + options.listen + ": " +
                             e.displayText() +
                             " (is another omniloopd running? change admin.listen in "
                             "omniloop.yaml)");
  }
  port_ = socket->address().port();

  Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(options.max_threads);
  params->setMaxQueued(options.max_queued);
  params->setTimeout(Poco::Timespan(static_cast<long>(options.timeout.count()), 0));
  params->setKeepAlive(true);
  params->setKeepAliveTimeout(
      Poco::Timespan(static_cast<long>(options.keep_alive_timeout.count()), 0));
  params->setMaxKeepAliveRequests(options.max_keep_alive_requests);
  params->setServerName("omniloopd");
  params->setSoftwareVersion(std::string("omniloopd/") + OMNILOOP_VERSION);
  pool_ = std::make_unique<Poco::ThreadPool>(1, options.max_threads);
  server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(shared_), *pool_, *socket, params);
}

AdminServer::~AdminServer() { stop(); }

void AdminServer::start() {
  if (started_) return;
  server_->start();
  started_ = true;
}

void AdminServer::stop() {
  if (!server_) return;
  if (started_) server_->stopAll(true);
  started_ = false;
  server_.reset();
  if (pool_) pool_->joinAll();
  pool_.reset();
}

void AdminServer::setToken(std::optional<std::string> token) {
  std::lock_guard lock(shared_->mu);
  shared_->token = std::move(token);
}

}  // namespace omniloop::admin
