#include "admin/server.h"

#include <Poco/Exception.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/SHA2Engine.h>
#include <Poco/URI.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <thread>
#include <utility>
#include <vector>

#include "admin/auth.h"
#include "admin/http_request.h"
#include "admin/metrics.h"
#include "admin/render.h"

namespace omniloop::admin {

namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kJson = "application/json";
constexpr auto kLinger = std::chrono::seconds(2);  // reading what follows an refused request

struct Response {
  int status = 200;
  std::string content_type = kJson;
  std::string body;
  std::vector<std::pair<std::string, std::string>> fields;
  bool close = false;
};

Response reply(int status, std::string body, const char* content_type = kJson) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = content_type;
  return r;
}

Response errorReply(int status, std::string_view error, std::string_view hint = {}) {
  return reply(status, errorJson(error, hint));
}

// The bytes of a response; a HEAD request gets the same header fields and no body.
std::string wire(const Response& r, bool head_only, bool keep_alive) {
  std::string out;
  out.reserve(256 + (head_only ? 0 : r.body.size()));
  out += "HTTP/1.1 " + std::to_string(r.status) + " ";
  out += Poco::Net::HTTPResponse::getReasonForStatus(
      static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status));
  out += "\r\nServer: omniloopd/" OMNILOOP_VERSION "\r\nContent-Type: ";
  out += r.content_type;
  out += "\r\nContent-Length: " + std::to_string(r.body.size());
  out += "\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
  for (const auto& [name, value] : r.fields) out += name + ": " + value + "\r\n";
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (!head_only) out += r.body;
  return out;
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

enum class Route {
  Health,
  Ready,
  Metrics,
  Pipelines,
  Pipeline,
  Restart,
  Reload,
  Erase,
  Export,
  None
};

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

// One client connection. The reactor owns it while it waits for a request; a worker while it
// handles one; then it goes back to the reactor (keep-alive) or is closed there.
struct Conn {
  enum class Phase { Idle, Reading, Lingering };
  int fd = -1;
  SSL* ssl = nullptr;
  std::string client;  // address, without port
  std::string in;      // received, not yet parsed
  Phase phase = Phase::Idle;
  Clock::time_point deadline;
  short want = POLLIN;
  int served = 0;
  bool sent_continue = false;
  size_t discarded = 0;
  HttpRequest req;           // the request a worker handles
  bool close = false;        // set by the worker: close instead of waiting for the next request
  bool peer_closed = false;  // the client shut its sending side down: answer, then close

  Conn() = default;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() {
    if (ssl != nullptr) SSL_free(ssl);
    if (fd >= 0) ::close(fd);
  }
};

// >0 bytes read, 0 end of stream or error, -1 nothing now (c.want says what to wait for).
long readSome(Conn& c, char* buf, size_t n) {
  if (c.ssl != nullptr) {
    ERR_clear_error();
    const int r = SSL_read(c.ssl, buf, static_cast<int>(std::min<size_t>(n, INT_MAX)));
    if (r > 0) return r;
    const int e = SSL_get_error(c.ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
      c.want = POLLIN;
      return -1;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
      c.want = POLLOUT;
      return -1;
    }
    ERR_clear_error();
    return 0;
  }
  const ssize_t r = ::recv(c.fd, buf, n, 0);
  if (r > 0) return r;
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
    c.want = POLLIN;
    return -1;
  }
  return 0;
}

// Writes all of `data` by `deadline` (a deadline already passed: only what goes out at once).
bool writeAll(Conn& c, std::string_view data, Clock::time_point deadline) {
  size_t off = 0;
  while (off < data.size()) {
    short wait = 0;
    const size_t n = std::min<size_t>(data.size() - off, INT_MAX);
    if (c.ssl != nullptr) {
      ERR_clear_error();
      const int r = SSL_write(c.ssl, data.data() + off, static_cast<int>(n));
      if (r > 0) {
        off += static_cast<size_t>(r);
        continue;
      }
      const int e = SSL_get_error(c.ssl, r);
      if (e == SSL_ERROR_WANT_READ) {
        wait = POLLIN;
      } else if (e == SSL_ERROR_WANT_WRITE) {
        wait = POLLOUT;
      } else {
        ERR_clear_error();
        return false;
      }
    } else {
      const ssize_t r = ::send(c.fd, data.data() + off, n, MSG_NOSIGNAL);
      if (r > 0) {
        off += static_cast<size_t>(r);
        continue;
      }
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        wait = POLLOUT;
      } else {
        return false;
      }
    }
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (ms <= 0) return false;
    pollfd p{c.fd, wait, 0};
    if (::poll(&p, 1, static_cast<int>(std::min<long long>(ms, INT_MAX))) <= 0) return false;
  }
  return true;
}

Poco::Net::SocketAddress parseListen(const std::string& listen) {
  try {
    return Poco::Net::SocketAddress(listen);
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("admin.listen '" + listen + "' is not a usable host:port (" +
                             e.displayText() + "); write e.g. 127.0.0.1:8686");
  }
}

std::string sslErrors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? std::string("unknown error") : out;
}

}  // namespace

struct AdminServer::Shared {
  ServerOptions options;
  HttpLimits limits;
  Backend* backend = nullptr;
  std::mutex mu;
  std::optional<std::string> token;

  int listen_fd = -1;
  int wake[2] = {-1, -1};  // workers -> reactor
  SSL_CTX* tls = nullptr;
  std::thread reactor;
  std::vector<std::thread> workers;
  std::atomic<bool> stopping{false};

  std::mutex queue_mu;  // work and returned
  std::condition_variable queue_cv;
  std::deque<std::unique_ptr<Conn>> work;
  std::vector<std::unique_ptr<Conn>> returned;

  // Owned by the reactor thread.
  std::vector<std::unique_ptr<Conn>> conns;
  std::map<std::string, int> per_client;
  int open = 0;
  Clock::time_point last_refusal_warning;

  ~Shared() {
    if (listen_fd >= 0) ::close(listen_fd);
    for (int fd : wake) {
      if (fd >= 0) ::close(fd);
    }
    if (tls != nullptr) SSL_CTX_free(tls);
  }

  std::optional<std::string> currentToken() {
    std::lock_guard lock(mu);
    return token;
  }

  // ---- request handling (workers; /health also on the reactor) ----

  Response handle(const HttpRequest& req, std::string& path) {
    try {
      path = Poco::URI(req.target).getPath();
    } catch (const Poco::Exception&) {
      path = req.target;
      return errorReply(400, "malformed request URI");
    }
    const std::vector<std::string> parts = splitPath(path);
    const Route r = route(parts);
    // HEAD is GET without the body (wire() leaves it out).
    const std::string method = req.method == "HEAD" ? "GET" : req.method;

    if (r == Route::Health) {
      if (method != "GET") return methodNotAllowed("GET");
      return reply(200, R"({"status":"ok"})");
    }
    if (std::optional<Response> denied = authenticate(req)) return *denied;
    if (r == Route::None) {
      return errorReply(404, "no such endpoint: " + path,
                        "endpoints: /health /ready /metrics /v1/pipelines /v1/pipelines/{name} "
                        "/v1/pipelines/{name}/restart /v1/reload /v1/subjects/erase "
                        "/v1/subjects/export");
    }
    if (method != allowedMethod(r)) return methodNotAllowed(allowedMethod(r));

    Backend& b = *backend;
    switch (r) {
      case Route::Ready: {
        const Readiness ready = readiness(b.snapshot());
        return reply(ready.ready ? 200 : 503, ready.json);
      }
      case Route::Metrics:
        return reply(200, renderMetrics(b.snapshot()), kMetricsContentType);
      case Route::Pipelines:
        return reply(200, pipelinesJson(b.snapshot()));
      case Route::Pipeline: {
        const DaemonSnapshot s = b.snapshot();
        for (const PipelineSnapshot& p : s.pipelines) {
          if (p.name == parts[2]) return reply(200, pipelineJson(p));
        }
        return errorReply(404, "no pipeline named '" + parts[2] + "'",
                          "GET /v1/pipelines lists the pipelines");
      }
      case Route::Restart: {
        const ActionResult a = b.restartPipeline(parts[2]);
        return reply(a.status, a.json);
      }
      case Route::Reload: {
        const ActionResult a = b.reload();
        return reply(a.status, a.json);
      }
      case Route::Erase: {
        const ActionResult a =
            b.eraseSubject(req.body, "api:token:" + tokenId(currentToken().value_or("")));
        return reply(a.status, a.json);
      }
      case Route::Export: {
        std::vector<std::string> identities;
        try {
          for (const auto& [key, value] : Poco::URI(req.target).getQueryParameters()) {
            if (key == "identity") identities.push_back(value);
          }
        } catch (const Poco::Exception&) {
          return errorReply(400, "malformed query string",
                            "write ?identity=email:jane%40example.com");
        }
        const ActionResult a =
            b.exportSubject(identities, "api:token:" + tokenId(currentToken().value_or("")));
        return reply(a.status, a.json);
      }
      default:
        break;
    }
    return errorReply(404, "no such endpoint: " + path);
  }

  std::optional<Response> authenticate(const HttpRequest& req) {
    const std::optional<std::string> expected = currentToken();
    const std::string authorization = req.header("Authorization");  // `given` points into it
    Response r;
    if (!expected) {
      r = errorReply(401, "the admin API has no token configured",
                     "configure admin.token_file in omniloop.yaml (a file holding a random token) "
                     "and restart omniloopd; only /health is served without it");
    } else if (const std::optional<std::string_view> given = bearerToken(authorization); !given) {
      r = errorReply(401, "missing bearer token",
                     "send the header `Authorization: Bearer <token>` with the token from "
                     "admin.token_file");
    } else if (!constantTimeEquals(*expected, *given)) {
      r = errorReply(401, "invalid bearer token",
                     "use the token held in the file named by admin.token_file");
    } else {
      return std::nullopt;
    }
    r.fields.emplace_back("WWW-Authenticate", "Bearer realm=\"omniloop\"");
    return r;
  }

  static Response methodNotAllowed(const std::string& allowed) {
    Response r = errorReply(405, "method not allowed", "use " + allowed);
    r.fields.emplace_back("Allow", allowed == "GET" ? "GET, HEAD" : allowed);
    return r;
  }

  // Handles one request, never throws; logs it (escaped: a path cannot forge a log line).
  Response handleLogged(const Conn& c) {
    std::string path;
    Response r;
    try {
      r = handle(c.req, path);
    } catch (const std::exception& e) {
      spdlog::error("admin: {} {} failed: {}", escapeForLog(c.req.method),
                    escapeForLog(path.empty() ? c.req.target : path), e.what());
      r = errorReply(500, "internal error", "see the daemon's log");
    }
    spdlog::debug("admin: {} {} {} from {}", escapeForLog(c.req.method),
                  escapeForLog(path.empty() ? c.req.target : path), r.status, c.client);
    return r;
  }

  // ---- workers ----

  void workerLoop() {
    for (;;) {
      std::unique_ptr<Conn> c;
      {
        std::unique_lock lock(queue_mu);
        queue_cv.wait(lock, [&] { return stopping.load() || !work.empty(); });
        if (stopping) break;
        c = std::move(work.front());
        work.pop_front();
      }
      const Response r = handleLogged(*c);
      const bool keep = !r.close && !c->peer_closed && c->req.keepAlive() &&
                        c->served + 1 < options.max_keep_alive_requests && !stopping;
      const bool ok =
          writeAll(*c, wire(r, c->req.method == "HEAD", keep), Clock::now() + options.timeout);
      c->close = !ok || !keep;
      {
        std::lock_guard lock(queue_mu);
        returned.push_back(std::move(c));
      }
      wakeReactor();
    }
    OPENSSL_thread_stop();
  }

  void wakeReactor() {
    const char b = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake[1], &b, 1);  // a full pipe wakes it anyway
  }

  // ---- the reactor: accepts, reads requests, answers /health and refusals ----

  void closeConn(std::vector<std::unique_ptr<Conn>>::iterator it) {
    release(**it);
    conns.erase(it);
  }

  void release(const Conn& c) {
    --open;
    if (auto it = per_client.find(c.client); it != per_client.end() && --it->second <= 0) {
      per_client.erase(it);
    }
  }

  // Answers from the reactor: never waits for a slow reader (what does not go out at once is
  // lost, and the connection closed).
  bool answerNow(Conn& c, const Response& r, bool head_only, bool keep) {
    return writeAll(c, wire(r, head_only, keep), Clock::now());
  }

  // After an error answer: closes a TLS connection; a plain one stops sending and reads what
  // the client still sends for a while, so it sees the answer rather than a reset.
  // Returns false when the connection is to be closed now.
  bool refuse(Conn& c, const Response& r) {
    answerNow(c, r, false, false);
    if (c.ssl != nullptr) return false;
    ::shutdown(c.fd, SHUT_WR);
    c.phase = Conn::Phase::Lingering;
    c.in.clear();
    c.deadline = Clock::now() + kLinger;
    return true;
  }

  enum class Next { Keep, Close, Dispatched };

  // Parses what the connection sent; answers /health and errors, hands complete requests to the
  // workers. Pipelined requests after a /health are handled in turn.
  Next process(std::unique_ptr<Conn>& c) {
    for (;;) {
      if (c->in.empty()) return Next::Keep;
      const ParseResult p = parseRequest(c->in, limits, c->req);
      if (p.state == ParseState::Error) {
        spdlog::debug("admin: refused a request from {}: {} {}", c->client, p.status,
                      escapeForLog(p.error));
        Response r = errorReply(p.status, p.error,
                                p.status == 413 ? "the admin API takes at most " +
                                                      std::to_string(limits.max_body_bytes / 1024) +
                                                      " KiB; only POST /v1/subjects/erase takes a "
                                                      "(small) body"
                                                : std::string());
        return refuse(*c, r) ? Next::Keep : Next::Close;
      }
      if (p.state == ParseState::NeedMore) {
        if (c->in.size() > limits.max_header_bytes + 2 * limits.max_body_bytes + 65536) {
          return refuse(*c, errorReply(413, "request body too large")) ? Next::Keep : Next::Close;
        }
        if (p.head_complete && c->req.expect_continue && !c->sent_continue) {
          c->sent_continue = true;
          if (!writeAll(*c, "HTTP/1.1 100 Continue\r\n\r\n", Clock::now())) return Next::Close;
        }
        return Next::Keep;
      }
      c->in.erase(0, p.consumed);
      c->sent_continue = false;
      std::string path;
      try {
        path = Poco::URI(c->req.target).getPath();
      } catch (const Poco::Exception&) {
      }
      if (path == "/health") {
        const Response r = handleLogged(*c);
        const bool keep = c->req.keepAlive() && ++c->served < options.max_keep_alive_requests &&
                          (!c->peer_closed || !c->in.empty());
        if (!answerNow(*c, r, c->req.method == "HEAD", keep) || !keep) return Next::Close;
        c->phase = Conn::Phase::Idle;
        c->deadline = Clock::now() + options.keep_alive_timeout;
        continue;
      }
      {
        std::lock_guard lock(queue_mu);
        if (work.size() < static_cast<size_t>(options.max_queued)) {
          work.push_back(std::move(c));
          queue_cv.notify_one();
          return Next::Dispatched;
        }
      }
      spdlog::warn("admin: {} requests are waiting for a worker; refused one from {} (503)",
                   options.max_queued, c->client);
      Response busy = errorReply(503, "the admin API is busy", "try again in a moment");
      busy.fields.emplace_back("Retry-After", "1");
      return refuse(*c, busy) ? Next::Keep : Next::Close;
    }
  }

  // Reads what is there; false when the connection is to be closed.
  Next onReadable(std::unique_ptr<Conn>& c) {
    char buf[16384];
    for (int rounds = 0; rounds < 16; ++rounds) {
      const long n = readSome(*c, buf, sizeof(buf));
      if (n == 0) {
        // The client closed its side; it may still read the answers to what it sent.
        if (c->phase == Conn::Phase::Lingering || c->in.empty()) return Next::Close;
        c->peer_closed = true;
        break;
      }
      if (n < 0) break;
      if (c->phase == Conn::Phase::Lingering) {
        c->discarded += static_cast<size_t>(n);
        if (c->discarded > 64u * 1024 * 1024) return Next::Close;
        continue;
      }
      if (c->phase == Conn::Phase::Idle) {
        // The first byte of a request: the whole of it must arrive within request_timeout.
        c->phase = Conn::Phase::Reading;
        c->deadline = Clock::now() + options.request_timeout;
      }
      c->in.append(buf, static_cast<size_t>(n));
      if (c->in.size() > limits.max_header_bytes + 2 * limits.max_body_bytes + 65536) break;
    }
    if (c->phase == Conn::Phase::Lingering) return Next::Keep;
    const Next next = process(c);
    return next == Next::Keep && c->peer_closed ? Next::Close : next;
  }

  void warnRefusal(const std::string& client, const char* why) {
    const auto now = Clock::now();
    if (now - last_refusal_warning > std::chrono::seconds(60)) {
      last_refusal_warning = now;
      spdlog::warn("admin: refused a connection from {}: {} (503; logged at most once a minute)",
                   client, why);
    } else {
      spdlog::debug("admin: refused a connection from {}: {}", client, why);
    }
  }

  void acceptAll() {
    for (int i = 0; i < 64; ++i) {
      sockaddr_storage addr{};
      socklen_t len = sizeof(addr);
      const int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len,
                               SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or an error of that one connection
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      char host[INET6_ADDRSTRLEN] = "?";
      if (addr.ss_family == AF_INET) {
        ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr, host, sizeof(host));
      } else if (addr.ss_family == AF_INET6) {
        ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr, host,
                    sizeof(host));
      }
      c->client = host;
      const char* refusal = nullptr;
      if (open >= options.max_connections) {
        refusal = "too many connections (admin API limit reached)";
      } else if (per_client[c->client] >= options.max_connections_per_client) {
        refusal = "too many connections from this address";
      }
      if (refusal != nullptr) {
        if (per_client[c->client] == 0) per_client.erase(c->client);
        warnRefusal(c->client, refusal);
        if (tls == nullptr) {
          Response r = errorReply(503, refusal, "close idle connections and try again");
          r.fields.emplace_back("Retry-After", "1");
          answerNow(*c, r, false, false);
        }
        continue;  // closed by ~Conn
      }
      if (tls != nullptr) {
        c->ssl = SSL_new(tls);
        if (c->ssl == nullptr || SSL_set_fd(c->ssl, fd) != 1) {
          ERR_clear_error();
          continue;
        }
        SSL_set_accept_state(c->ssl);
      }
      ++open;
      ++per_client[c->client];
      c->phase = Conn::Phase::Idle;
      c->deadline = Clock::now() + options.request_timeout;
      conns.push_back(std::move(c));
    }
  }

  void takeReturned() {
    std::vector<std::unique_ptr<Conn>> back;
    {
      std::lock_guard lock(queue_mu);
      back.swap(returned);
    }
    for (auto& c : back) {
      if (c->close) {
        release(*c);
        continue;
      }
      ++c->served;
      c->phase = Conn::Phase::Idle;
      c->deadline = Clock::now() + options.keep_alive_timeout;
      c->want = POLLIN;
      if (!c->in.empty()) {  // pipelined: the next request is already here
        c->phase = Conn::Phase::Reading;
        c->deadline = Clock::now() + options.request_timeout;
        const Next next = process(c);
        if (next == Next::Close) {
          release(*c);
          continue;
        }
        if (next == Next::Dispatched) continue;
      }
      conns.push_back(std::move(c));
    }
  }

  void reactorLoop() {
    std::vector<pollfd> fds;
    while (!stopping) {
      takeReturned();
      fds.clear();
      fds.push_back({listen_fd, POLLIN, 0});
      fds.push_back({wake[0], POLLIN, 0});
      auto next_deadline = Clock::now() + std::chrono::seconds(1);
      for (const auto& c : conns) {
        fds.push_back({c->fd, c->want, 0});
        next_deadline = std::min(next_deadline, c->deadline);
      }
      const auto wait =
          std::chrono::duration_cast<std::chrono::milliseconds>(next_deadline - Clock::now());
      const int n = ::poll(fds.data(), fds.size(),
                           static_cast<int>(std::max<long long>(wait.count(), 0) + 1));
      if (n < 0 && errno != EINTR) {
        spdlog::error("admin: poll failed: {}", std::strerror(errno));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      if (fds[1].revents != 0) {
        char buf[256];
        while (::read(wake[0], buf, sizeof(buf)) > 0) {
        }
      }
      // Connections with something to read (fds[i + 2] belongs to conns[i]; new ones and the
      // returned ones are appended only after this loop).
      std::vector<std::unique_ptr<Conn>> keep;
      keep.reserve(conns.size());
      const auto now = Clock::now();
      for (size_t i = 0; i < conns.size(); ++i) {
        std::unique_ptr<Conn>& c = conns[i];
        Next next = Next::Keep;
        if (fds[i + 2].revents != 0) {
          next = onReadable(c);
        } else if (c->deadline <= now) {
          if (c->phase == Conn::Phase::Reading) {
            spdlog::debug("admin: request from {} not complete within {} s: 408, closed", c->client,
                          options.request_timeout.count());
            Response r = errorReply(408, "request not complete in time",
                                    "send the whole request within " +
                                        std::to_string(options.request_timeout.count()) + " s");
            answerNow(*c, r, false, false);
          }
          next = Next::Close;
        }
        if (next == Next::Close) {
          release(*c);
        } else if (next == Next::Keep) {
          keep.push_back(std::move(c));
        }
      }
      conns.swap(keep);
      if (fds[0].revents != 0) acceptAll();
    }
    for (const auto& c : conns) release(*c);
    conns.clear();
    OPENSSL_thread_stop();
  }
};

std::string tokenId(std::string_view token) {
  Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
  sha.update(token.data(), static_cast<unsigned>(token.size()));
  return Poco::DigestEngine::digestToHex(sha.digest()).substr(0, 8);
}

bool isLoopbackListen(const std::string& listen) {
  try {
    return Poco::Net::SocketAddress(listen).host().isLoopback();
  } catch (const Poco::Exception&) {
    return false;
  }
}

AdminServer::AdminServer(const ServerOptions& options, Backend& backend)
    : shared_(std::make_shared<Shared>()) {
  Shared& s = *shared_;
  s.options = options;
  s.backend = &backend;
  s.limits.max_body_bytes = options.max_body_bytes;
  s.limits.max_header_bytes = options.max_header_bytes;

  const Poco::Net::SocketAddress address = parseListen(options.listen);
  const bool want_tls = !options.tls_cert_file.empty() || !options.tls_key_file.empty();
  if (want_tls) {
    if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
      throw std::runtime_error("admin TLS needs both admin.tls_cert_file and admin.tls_key_file");
    }
    ERR_clear_error();
    s.tls = SSL_CTX_new(TLS_server_method());
    const bool ok =
        s.tls != nullptr && SSL_CTX_set_min_proto_version(s.tls, TLS1_2_VERSION) == 1 &&
        SSL_CTX_use_certificate_chain_file(s.tls, options.tls_cert_file.c_str()) == 1 &&
        SSL_CTX_use_PrivateKey_file(s.tls, options.tls_key_file.c_str(), SSL_FILETYPE_PEM) == 1 &&
        SSL_CTX_check_private_key(s.tls) == 1;
    if (!ok) {
      throw std::runtime_error(
          "admin TLS: cannot use " + options.tls_cert_file + " / " + options.tls_key_file + ": " +
          sslErrors() + " (both PEM files, the key unencrypted and matching the certificate)");
    }
    SSL_CTX_set_mode(s.tls, SSL_MODE_ENABLE_PARTIAL_WRITE);
    tls_ = true;
  }

  auto cannotListen = [&](int err) {
    return std::runtime_error("admin API cannot listen on " + options.listen + ": " +
                              std::strerror(err) +
                              " (is another omniloopd running? change admin.listen in "
                              "omniloop.yaml)");
  };
  s.listen_fd = ::socket(address.family() == Poco::Net::SocketAddress::IPv6 ? AF_INET6 : AF_INET,
                         SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s.listen_fd < 0) throw cannotListen(errno);
  // SO_REUSEADDR for quick restarts, never SO_REUSEPORT: a second daemon must fail here.
  const int one = 1;
  ::setsockopt(s.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(s.listen_fd, address.addr(), address.length()) != 0 ||
      ::listen(s.listen_fd, std::max(options.max_queued, 16)) != 0) {
    throw cannotListen(errno);
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  ::getsockname(s.listen_fd, reinterpret_cast<sockaddr*>(&bound), &len);
  port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  if (::pipe2(s.wake, O_NONBLOCK | O_CLOEXEC) != 0) throw cannotListen(errno);
}

AdminServer::~AdminServer() {
  stop();
}

void AdminServer::start() {
  Shared& s = *shared_;
  if (s.reactor.joinable()) return;
  for (int i = 0; i < std::max(shared_->options.max_threads, 1); ++i) {
    s.workers.emplace_back([&s] { s.workerLoop(); });
  }
  s.reactor = std::thread([&s] { s.reactorLoop(); });
}

void AdminServer::stop() {
  Shared& s = *shared_;
  {
    std::lock_guard lock(s.queue_mu);  // so no worker misses the wake-up
    s.stopping = true;
  }
  s.queue_cv.notify_all();
  if (s.wake[1] >= 0) s.wakeReactor();
  if (s.reactor.joinable()) s.reactor.join();
  for (std::thread& t : s.workers) t.join();
  s.workers.clear();
  std::lock_guard lock(s.queue_mu);
  s.work.clear();
  s.returned.clear();
  if (s.listen_fd >= 0) {
    ::close(s.listen_fd);  // refuse new connections from now on
    s.listen_fd = -1;
  }
}

void AdminServer::setToken(std::optional<std::string> token) {
  std::lock_guard lock(shared_->mu);
  shared_->token = std::move(token);
}

}  // namespace omniloop::admin
