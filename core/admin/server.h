#pragma once
// The admin HTTP API (Poco::Net::HTTPServer): health, readiness, Prometheus metrics, pipeline
// state, restart and reload. The daemon supplies the data and the actions through Backend; this
// class owns the socket, the routes, authentication and the request limits.
//
//   GET  /health                         liveness, no authentication (answered by the accepting
//                                        thread itself, so busy workers never delay it)
//   GET  /ready                          200 when every valid pipeline started, else 503
//   GET  /metrics                        Prometheus text exposition 0.0.4
//   GET  /v1/pipelines                   every pipeline's state, cursor, counters, last error
//   GET  /v1/pipelines/{name}            one pipeline
//   POST /v1/pipelines/{name}/restart    drain and start it again (or retry one in backoff now)
//   POST /v1/reload                      re-read the config and the pipelines directory
//   POST /v1/subjects/erase              erase a data subject:
//   {"identities":["email:..."],"reason":"..."} GET  /v1/subjects/export?identity=   everything the
//   store holds about a subject (JSON)
//
// Every route but /health needs `Authorization: Bearer <token>`. HEAD is accepted wherever GET
// is (same headers, no body).
//
// One thread accepts connections and reads requests without blocking (poll), so a client that
// trickles its bytes holds a buffer, never a worker; complete requests go to `max_threads`
// workers. Deadlines, caps and sizes: ServerOptions.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "admin/snapshot.h"

namespace omniloop::admin {

struct ActionResult {
  int status = 200;  // HTTP status code
  std::string json;  // response body
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual DaemonSnapshot snapshot() = 0;
  virtual ActionResult restartPipeline(const std::string& name) = 0;
  virtual ActionResult reload() = 0;
  // The data subject's rights (store/subject_rights.h). `actor`: "api:token:<token id>" (the
  // first 8 hex of the token's SHA-256, never the token). `body`: the request's JSON.
  virtual ActionResult eraseSubject(const std::string& body, const std::string& actor) {
    (void)body;
    (void)actor;
    return {501, R"({"error":"this daemon cannot erase subjects"})"};
  }
  virtual ActionResult exportSubject(const std::vector<std::string>& identities,
                                     const std::string& actor) {
    (void)identities;
    (void)actor;
    return {501, R"({"error":"this daemon cannot export subjects"})"};
  }
};

// The id of an admin token in audit entries: the first 8 hex of its SHA-256.
std::string tokenId(std::string_view token);

struct ServerOptions {
  std::string listen = "127.0.0.1:8686";  // host:port ("[::1]:8686" for IPv6)
  std::string tls_cert_file;              // both set: HTTPS (PEM files)
  std::string tls_key_file;
  size_t max_body_bytes = 64 * 1024;
  size_t max_header_bytes = 16 * 1024;
  int max_threads = 8;  // requests handled at once (every route but /health)
  int max_queued = 64;  // complete requests waiting for a thread; more get 503
  // Connections open at once, in total and per client address; more get 503 and are closed.
  int max_connections = 256;
  int max_connections_per_client = 32;
  // A request's header and body must arrive within this time of its first byte (of the
  // connection's accept for the first request), however the bytes trickle in: else 408, closed.
  std::chrono::seconds request_timeout{10};
  std::chrono::seconds timeout{5};             // writing a response
  std::chrono::seconds keep_alive_timeout{5};  // idle between requests
  int max_keep_alive_requests = 100;
};

// True when `listen` ("host:port") names a loopback address (127.0.0.0/8, ::1, localhost).
bool isLoopbackListen(const std::string& listen);

class AdminServer {
 public:
  // Binds the socket (without SO_REUSEPORT, so a second daemon on the same port is refused).
  // Throws std::runtime_error saying what to change when the address cannot be used.
  AdminServer(const ServerOptions& options, Backend& backend);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  void start();
  // Stops accepting, aborts open connections and waits for the handler threads.
  void stop();
  uint16_t port() const { return port_; }
  bool tls() const { return tls_; }

  // The bearer token; nullopt when no admin.token_file is configured (then every route but
  // /health answers 401 with a hint). Safe to call while serving (token rotation on reload).
  void setToken(std::optional<std::string> token);

  // Used by the request handlers.
  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
  uint16_t port_ = 0;
  bool tls_ = false;
};

}  // namespace omniloop::admin
