#pragma once
// One blocking HTTPS GET through libcurl, as the Mastodon source needs it: a bearer token in the
// Authorization header (never in the URL, never logged), TLS verification always on (an optional
// CA file), a whole-request timeout, no redirects followed (a redirect would carry the token to
// another host), and the response headers the source reads (Link, X-RateLimit-*, Retry-After).
#include <cstdint>
#include <map>
#include <string>

namespace omniloop::mastodon {

struct HttpResponse {
  // 0 when no HTTP answer arrived (connection refused, timeout, TLS failure): see `error`.
  long status = 0;
  bool timed_out = false;
  std::string error;                           // libcurl's message when status == 0
  std::map<std::string, std::string> headers;  // names in lower case; last one wins
  std::string body;

  std::string header(const std::string& lower_name) const {
    const auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct HttpOptions {
  int64_t timeout_ms = 30000;
  int64_t connect_timeout_ms = 10000;
  std::string ca_file;  // empty: the system's CA store
  int64_t max_body_bytes = 16 << 20;
  std::string user_agent = "omniloop-social.mastodon/1.0";
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // GET `url` with "Authorization: Bearer <token>" (none when the token is empty).
  HttpResponse get(const std::string& url, const std::string& token);

 private:
  HttpOptions options_;
  void* curl_ = nullptr;  // CURL*, reused so connections stay alive between pages
};

}  // namespace omniloop::mastodon
