#pragma once
// A small Mastodon API server for the social.mastodon tests: real HTTP on 127.0.0.1 (Poco::Net,
// in the test process), answering GET /api/v1/notifications, /api/v1/accounts/:id/statuses and
// /api/v1/accounts/verify_credentials the way Mastodon documents them (entities as JSON arrays,
// newest first; max_id / since_id / min_id / limit / types[]; a Link header with rel="next" and
// rel="prev"; a bearer token), plus faults injected by the test: 429 with X-RateLimit-Reset, 5xx,
// a slow answer, 401, a body that is not JSON, a used-up rate limit.
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/URI.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace mastodontest {

// "YYYY-MM-DDThh:mm:ss.mmmZ" of a system_clock time point (the X-RateLimit-Reset format).
inline std::string isoMillis(std::chrono::system_clock::time_point t) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

struct Item {
  std::string id;    // decimal
  std::string type;  // notifications: the type (for types[])
  std::string json;  // the entity as served (anything for bad-input tests)
};

enum class FaultKind { Status429, Status500, Slow, Status401, NotJson, RemainingZero };
struct Fault {
  std::string path_part;  // applies to the next request whose path contains this
  FaultKind kind;
  int ms = 0;  // 429/RemainingZero: reset this far ahead; Slow: delay before answering
};

struct Request {
  std::chrono::steady_clock::time_point at;
  std::string target;  // path?query as received
  std::string authorization;
  int status = 0;
};

class FakeMastodon {
 public:
  explicit FakeMastodon(std::string token = "test-token-s3cr3t-value") : token_(std::move(token)) {
    Poco::Net::ServerSocket socket(Poco::Net::SocketAddress("127.0.0.1", 0));
    port_ = socket.address().port();
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(8);
    params->setKeepAlive(true);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(this), socket, params);
    server_->start();
  }
  // Wakes handlers that are sleeping (a slow answer) and waits for every one to finish, so none
  // touches this object after it is gone.
  ~FakeMastodon() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    server_->stopAll(true);
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait(lock, [&] { return active_ == 0; });
  }

  int port() const { return port_; }
  std::string baseUrl() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& token() const { return token_; }

  void addNotification(Item item) {
    std::lock_guard<std::mutex> lock(mu_);
    notifications_.push_back(std::move(item));
  }
  void addStatus(Item item) {
    std::lock_guard<std::mutex> lock(mu_);
    statuses_.push_back(std::move(item));
  }
  void setAccount(std::string id, std::string json) {
    std::lock_guard<std::mutex> lock(mu_);
    account_id_ = std::move(id);
    account_json_ = std::move(json);
  }
  void addFault(Fault f) {
    std::lock_guard<std::mutex> lock(mu_);
    faults_.push_back(std::move(f));
  }
  void setPageDelayMs(int ms) {
    std::lock_guard<std::mutex> lock(mu_);
    page_delay_ms_ = ms;
  }
  std::vector<Request> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  void clearRequests() {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.clear();
  }

 private:
  class Handler : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(FakeMastodon* owner) : owner_(owner) {}
    void handleRequest(Poco::Net::HTTPServerRequest& req,
                       Poco::Net::HTTPServerResponse& resp) override {
      owner_->handle(req, resp);
    }

   private:
    FakeMastodon* owner_;
  };
  class Factory : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(FakeMastodon* owner) : owner_(owner) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(owner_);
    }

   private:
    FakeMastodon* owner_;
  };

  static int cmpId(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
    return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
  }

  void send(Poco::Net::HTTPServerResponse& resp, int status, const std::string& body,
            Request& log) {
    log.status = status;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(log);
    }
    resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    resp.setContentType("application/json; charset=utf-8");
    resp.setContentLength(static_cast<std::streamsize>(body.size()));
    resp.send() << body;
  }

  void handle(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++active_;
    }
    try {
      serve(req, resp);
    } catch (...) {
      // The client went away (a timeout it gave up on): nothing to answer.
    }
    std::lock_guard<std::mutex> lock(mu_);
    --active_;
    wake_.notify_all();
  }

  void serve(Poco::Net::HTTPServerRequest& req, Poco::Net::HTTPServerResponse& resp) {
    Request log{std::chrono::steady_clock::now(), req.getURI(), req.get("Authorization", ""), 0};
    const Poco::URI uri(req.getURI());
    const std::string path = uri.getPath();
    std::optional<Fault> fault;
    int delay = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = faults_.begin(); it != faults_.end(); ++it) {
        if (path.find(it->path_part) != std::string::npos) {
          fault = *it;
          faults_.erase(it);
          break;
        }
      }
      delay = page_delay_ms_;
    }
    if (fault && fault->kind == FaultKind::Slow) delay += fault->ms;
    if (delay > 0) {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait_for(lock, std::chrono::milliseconds(delay), [&] { return stopping_; });
    }
    if (fault) {
      switch (fault->kind) {
        case FaultKind::Status429:
          resp.set("X-RateLimit-Limit", "300");
          resp.set("X-RateLimit-Remaining", "0");
          resp.set("X-RateLimit-Reset", isoMillis(std::chrono::system_clock::now() +
                                                  std::chrono::milliseconds(fault->ms)));
          return send(resp, 429, R"({"error":"Too many requests"})", log);
        case FaultKind::Status500:
          return send(resp, 500, R"({"error":"We're sorry, but something went wrong"})", log);
        case FaultKind::Status401:
          return send(resp, 401, R"({"error":"The access token is invalid"})", log);
        case FaultKind::NotJson:
          return send(resp, 200, "<html><body>502 Bad Gateway (proxy)</body></html>", log);
        case FaultKind::RemainingZero:
          resp.set("X-RateLimit-Remaining", "0");
          resp.set("X-RateLimit-Reset", isoMillis(std::chrono::system_clock::now() +
                                                  std::chrono::milliseconds(fault->ms)));
          break;  // answers normally, but announces the budget is used up
        case FaultKind::Slow:
          break;
      }
    }
    if (log.authorization != "Bearer " + token_) {
      return send(resp, 401, R"({"error":"The access token is invalid"})", log);
    }
    if (path == "/api/v1/accounts/verify_credentials") {
      std::string body;
      {
        std::lock_guard<std::mutex> lock(mu_);
        body = account_json_;
      }
      return send(resp, 200, body, log);
    }
    std::vector<Item> items;
    std::string listed;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (path == "/api/v1/notifications") {
        items = notifications_;
      } else if (path == "/api/v1/accounts/" + account_id_ + "/statuses") {
        items = statuses_;
      } else {
        listed = "none";
      }
    }
    if (!listed.empty()) return send(resp, 404, R"({"error":"Record not found"})", log);
    std::string min_id, max_id, since_id;
    size_t limit = 20;
    std::vector<std::string> types;
    std::string keep;  // the query without paging parameters, for the Link header
    for (const auto& [k, v] : uri.getQueryParameters()) {
      if (k == "min_id") {
        min_id = v;
      } else if (k == "max_id") {
        max_id = v;
      } else if (k == "since_id") {
        since_id = v;
      } else {
        if (k == "limit") limit = std::min<size_t>(std::stoul(v), 80);
        if (k == "types[]") types.push_back(v);
        std::string enc_k, enc_v;
        Poco::URI::encode(k, "[]&=", enc_k);
        Poco::URI::encode(v, "&=", enc_v);
        keep += (keep.empty() ? "" : "&") + enc_k + "=" + enc_v;
      }
    }
    std::sort(items.begin(), items.end(),
              [](const Item& a, const Item& b) { return cmpId(a.id, b.id) > 0; });  // newest first
    std::vector<Item> sel;
    for (const Item& it : items) {
      if (!types.empty() && std::find(types.begin(), types.end(), it.type) == types.end()) continue;
      if (!max_id.empty() && cmpId(it.id, max_id) >= 0) continue;
      if (!since_id.empty() && cmpId(it.id, since_id) <= 0) continue;
      if (!min_id.empty() && cmpId(it.id, min_id) <= 0) continue;
      sel.push_back(it);
    }
    if (!min_id.empty()) {
      // min_id: the `limit` items immediately newer than it (still answered newest first).
      if (sel.size() > limit) sel.erase(sel.begin(), sel.end() - static_cast<long>(limit));
    } else if (sel.size() > limit) {
      sel.resize(limit);
    }
    std::string body = "[";
    for (size_t i = 0; i < sel.size(); ++i) body += (i ? "," : "") + sel[i].json;
    body += "]";
    if (!sel.empty()) {
      const std::string base = "http://127.0.0.1:" + std::to_string(port_) + path + "?" + keep +
                               (keep.empty() ? "" : "&");
      resp.set("Link", "<" + base + "max_id=" + sel.back().id + ">; rel=\"next\", <" + base +
                           "min_id=" + sel.front().id + ">; rel=\"prev\"");
    }
    if (!resp.has("X-RateLimit-Remaining")) resp.set("X-RateLimit-Remaining", "299");
    send(resp, 200, body, log);
  }

  std::string token_;
  int port_ = 0;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  mutable std::mutex mu_;
  std::vector<Item> notifications_;
  std::vector<Item> statuses_;
  std::string account_id_ = "1";
  std::string account_json_ = R"({"id":"1","username":"shop","acct":"shop"})";
  std::deque<Fault> faults_;
  std::vector<Request> requests_;
  int page_delay_ms_ = 0;
  std::condition_variable wake_;
  int active_ = 0;
  bool stopping_ = false;
};

// Entities in the documented formats (Account, Status, Notification).
inline std::string account(const std::string& id, const std::string& username,
                           const std::string& acct, const std::string& display_name,
                           const std::string& fields = "[]") {
  return R"({"id":")" + id + R"(","username":")" + username + R"(","acct":")" + acct +
         R"(","display_name":")" + display_name +
         R"(","locked":false,"bot":false,"created_at":"2023-01-10T00:00:00.000Z","note":"<p>hi</p>",)"
         R"("url":"https://mastodon.example/@)" +
         username + R"(","followers_count":3,"following_count":5,"statuses_count":9,"fields":)" +
         fields + "}";
}

inline std::string status(const std::string& id, const std::string& created_at,
                          const std::string& account_json, const std::string& content,
                          const std::string& visibility = "public",
                          const std::string& mentions = "[]") {
  return R"({"id":")" + id + R"(","created_at":")" + created_at +
         R"(","in_reply_to_id":null,"in_reply_to_account_id":null,"sensitive":false,)"
         R"("spoiler_text":"","visibility":")" +
         visibility + R"(","language":"en","uri":"https://mastodon.example/statuses/)" + id +
         R"(","url":"https://mastodon.example/@x/)" + id +
         R"(","replies_count":0,"reblogs_count":1,"favourites_count":2,"content":")" + content +
         R"(","reblog":null,"account":)" + account_json + R"(,"media_attachments":[],"mentions":)" +
         mentions +
         R"(,"tags":[{"name":"style","url":"https://mastodon.example/tags/style"}],"emojis":[]})";
}

inline std::string notification(const std::string& id, const std::string& type,
                                const std::string& created_at, const std::string& account_json,
                                const std::string& status_json = "") {
  return R"({"id":")" + id + R"(","type":")" + type + R"(","created_at":")" + created_at +
         R"(","account":)" + account_json +
         (status_json.empty() ? std::string() : R"(,"status":)" + status_json) + "}";
}

}  // namespace mastodontest
