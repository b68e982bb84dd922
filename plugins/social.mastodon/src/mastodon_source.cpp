#include "mastodon_source.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "text.h"

namespace omniloop::mastodon {

namespace {

constexpr std::string_view kKind = "mastodon.api";
constexpr size_t kMaxRawBytes = 64 * 1024;  // of a bad body kept in its dead letter

std::string_view text(const sdk::JsonValue* v) {
  return v && v->isString() ? std::string_view(v->text()) : std::string_view();
}

// An id as Mastodon writes it (a string; a number from other servers).
std::string idText(const sdk::JsonValue* v) {
  if (!v) return {};
  if (v->isString()) return v->text();
  if (v->isNumber() && v->asInt64()) return std::to_string(*v->asInt64());
  return {};
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string readToken(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    throw sdk::Error(std::string(kKind) + ": cannot read token_file " + path +
                     " (create it with the access token on one line, readable by omniloop only)");
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string trimToken(std::string t, const std::string& where) {
  const auto b = t.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) {
    throw sdk::Error(std::string(kKind) + ": " + where +
                     " is empty; put the account's access token there");
  }
  t = t.substr(b, t.find_last_not_of(" \t\r\n") - b + 1);
  for (const char c : t) {
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) {
      throw sdk::Error(std::string(kKind) + ": " + where +
                       " must hold the access token alone, on one line (it holds spaces, control "
                       "characters or several lines)");
    }
  }
  return t;
}

std::string notificationEventType(std::string_view type) {
  if (type == "mention") return "social.mentioned";
  if (type == "favourite") return "social.favourited";
  if (type == "reblog") return "social.reblogged";
  if (type == "follow") return "social.followed";
  return "social." + std::string(type);  // social.follow_request, social.status, social.update...
}

// The server's own words on a refused request ({"error": "..."}), short; never the request.
std::string serverError(const HttpResponse& r) {
  try {
    const sdk::JsonValue v = sdk::JsonValue::parse(r.body);
    const std::string_view e = text(v.member("error"));
    if (!e.empty()) return "\"" + std::string(e.substr(0, 200)) + "\"";
  } catch (const std::exception&) {
  }
  return "no error text";
}

}  // namespace

MastodonSource::MastodonSource(const sdk::Config& config)
    : channel_(config.str("channel", "social")),
      identity_type_(config.str("identity_type", "mastodon")),
      account_id_(config.str("account_id", "")),
      page_size_(config.integer("page_size", 40)),
      max_retries_(static_cast<int>(config.integer("max_retries", 5))),
      retry_base_ms_(config.integer("retry_base_ms", 1000)),
      retry_max_ms_(config.integer("retry_max_ms", 60000)),
      max_rate_limit_wait_ms_(config.integer("max_rate_limit_wait_ms", 300000)),
      poll_interval_ms_(config.integer("poll_interval_ms", 60000)),
      rng_(std::random_device{}()) {
  std::string url = config.str("base_url", "");
  const std::string url_env = config.str("base_url_env", "");
  if (!url_env.empty()) {
    if (const char* v = std::getenv(url_env.c_str()); v != nullptr && *v != '\0') url = v;
  }
  if (url.empty()) {
    throw sdk::Error(std::string(kKind) + ": option 'base_url' is required (the instance, e.g. " +
                     "https://mastodon.social)" +
                     (url_env.empty() ? "" : "; environment variable " + url_env + " is not set"));
  }
  const auto base = parseBaseUrl(url);
  if (!base) {
    throw sdk::Error(std::string(kKind) + ": base_url '" + redactUrl(url) +
                     "' is not an http(s) URL of an instance such as https://mastodon.social "
                     "(no user:password@, no query)");
  }
  if (base->scheme == "http" && !isLoopbackHost(base->host)) {
    throw sdk::Error(std::string(kKind) + ": base_url must use https: over http the access " +
                     "token would travel in clear (http is accepted for 127.0.0.1, ::1 and " +
                     "localhost only)");
  }
  base_ = *base;
  base_url_ = url.substr(0, url.find_last_not_of('/') + 1);
  instance_domain_ = lower(config.str("instance_domain", base_.host));

  const std::string token_file = config.str("token_file", "");
  const std::string token_env = config.str("token_env", "");
  if (!token_file.empty()) {
    token_ = trimToken(readToken(token_file), "token_file " + token_file);
  } else if (!token_env.empty()) {
    const char* v = std::getenv(token_env.c_str());
    if (v == nullptr || *v == '\0') {
      throw sdk::Error(std::string(kKind) + ": environment variable " + token_env +
                       " (option token_env) is not set; export the account's access token there");
    }
    token_ = trimToken(v, "environment variable " + token_env);
  } else {
    throw sdk::Error(std::string(kKind) + ": set token_file (a file holding the access token) " +
                     "or token_env (an environment variable holding it)");
  }

  notification_types_ = config.strings("notification_types");
  if (notification_types_.empty())
    notification_types_ = {"mention", "favourite", "reblog", "follow"};
  std::vector<std::string> vis = config.strings("visibility");
  if (vis.empty()) vis = {"public", "unlisted"};
  visibility_.insert(vis.begin(), vis.end());
  const sdk::Config fields = config.object("identity_from_fields");
  for (const std::string& name : fields.keys()) {
    field_identities_.emplace_back(lower(name), fields.str(name));
  }

  std::vector<std::string> streams = config.strings("streams");
  if (streams.empty()) streams = {"notifications", "statuses"};
  for (const std::string& s : streams) {
    if (std::any_of(streams_.begin(), streams_.end(),
                    [&](const Stream& x) { return x.name == s; })) {
      continue;
    }
    Stream st;
    st.kind = s == "statuses" ? Kind::Statuses : Kind::Notifications;
    st.name = s;
    streams_.push_back(std::move(st));
  }

  HttpOptions http;
  http.timeout_ms = config.integer("timeout_ms", 30000);
  http.connect_timeout_ms = std::min<int64_t>(http.timeout_ms, 10000);
  http.ca_file = config.str("ca_file", "");
  http.max_body_bytes = config.integer("max_response_bytes", 16 << 20);
  if (!http.ca_file.empty() && !std::ifstream(http.ca_file)) {
    throw sdk::Error(std::string(kKind) + ": cannot read ca_file " + http.ca_file +
                     " (a PEM file of the CA certificates to trust)");
  }
  try {
    http_ = std::make_unique<HttpClient>(http);
  } catch (const std::exception& e) {
    throw sdk::Error(std::string(kKind) + ": " + e.what());
  }
}

void MastodonSource::resume(std::string_view cursor) {
  if (cursor.empty()) return;
  sdk::JsonValue v;
  try {
    v = sdk::JsonValue::parse(cursor);
  } catch (const std::exception& e) {
    throw sdk::Error(std::string(kKind) + ": the checkpoint is not this source's cursor (" +
                     e.what() + "); run with --from-start to read everything again");
  }
  if (!v.isObject()) {
    throw sdk::Error(std::string(kKind) +
                     ": the checkpoint is not this source's cursor; run with --from-start");
  }
  for (Stream& s : streams_) {
    const std::string id = idText(v.member(s.name));
    if (!id.empty() && !isNumericId(id)) {
      throw sdk::Error(std::string(kKind) + ": the checkpoint's " + s.name +
                       " id is not a Mastodon id; run with --from-start");
    }
    s.cursor = id;
  }
}

std::string MastodonSource::cursorText() const {
  std::string out = "{";
  for (const Stream& s : streams_) {
    if (s.cursor.empty()) continue;
    if (out.size() > 1) out += ',';
    out += sdk::jsonQuote(s.name) + ":" + sdk::jsonQuote(s.cursor);
  }
  return out + "}";
}

int64_t MastodonSource::nowMicros() const {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void MastodonSource::sleepMs(int64_t ms) const {
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

int64_t MastodonSource::backoffMs(int attempt) {
  int64_t d = retry_base_ms_;
  for (int i = 0; i < attempt && d < retry_max_ms_; ++i) d *= 2;
  d = std::min(d, retry_max_ms_);
  // "Equal jitter": half fixed, half random, so retries of many instances spread out.
  std::uniform_int_distribution<int64_t> jitter(0, d / 2);
  return d - d / 2 + jitter(rng_);
}

HttpResponse MastodonSource::fetch(const std::string& url) {
  const std::string shown = "GET " + redactUrl(url);
  for (int attempt = 0;; ++attempt) {
    // The budget the server announced: wait for its reset instead of running into 429s.
    if (rate_remaining_ && *rate_remaining_ <= 0 && rate_reset_micros_) {
      const int64_t wait = (*rate_reset_micros_ - nowMicros()) / 1000;
      if (wait > 0) {
        host().info(std::string(kKind) + ": rate limit used up (X-RateLimit-Remaining: 0); " +
                    "waiting " + std::to_string(std::min(wait, max_rate_limit_wait_ms_)) +
                    " ms for its reset");
        host().counter("rate_limit_waits");
        sleepMs(std::min(wait, max_rate_limit_wait_ms_));
      }
    }
    rate_remaining_.reset();
    rate_reset_micros_.reset();
    host().counter("http_requests");
    HttpResponse r = http_->get(url, token_);
    const int64_t now = nowMicros();
    if (const std::string rem = r.header("x-ratelimit-remaining"); !rem.empty()) {
      char* end = nullptr;
      const long long v = std::strtoll(rem.c_str(), &end, 10);
      if (end && *end == '\0') rate_remaining_ = v;
    }
    rate_reset_micros_ = parseResetTime(r.header("x-ratelimit-reset"), now);
    if (r.status >= 200 && r.status < 300) return r;
    const std::string status = std::to_string(r.status);
    if (r.status == 401 || r.status == 403) {
      throw sdk::Error(shown + " answered " + status +
                       (r.status == 401 ? " Unauthorized" : " Forbidden") +
                       " (server: " + serverError(r) +
                       "): the access token was refused. Check that token_file/token_env holds a "
                       "valid token of this instance with the read:notifications, "
                       "read:statuses and read:accounts scopes; not retried");
    }
    const bool retry = r.status == 0 || r.status == 408 || r.status == 429 || r.status >= 500;
    if (!retry) {
      throw sdk::Error(shown + " answered HTTP " + status + " (server: " + serverError(r) +
                       "); check base_url" +
                       (account_id_.empty() ? std::string() : " and account_id"));
    }
    const std::string what =
        r.status == 0 ? (r.timed_out ? "no answer within timeout_ms" : r.error) : "HTTP " + status;
    if (attempt >= max_retries_) {
      throw sdk::Retry(shown + ": " + what + " after " + std::to_string(attempt + 1) +
                       " attempts (max_retries); trying again later");
    }
    int64_t wait = backoffMs(attempt);
    if (r.status == 429) {
      host().counter("rate_limited");
      auto reset = rate_reset_micros_;
      if (!reset) reset = parseRetryAfter(r.header("retry-after"), now);
      if (reset) wait = std::clamp<int64_t>((*reset - now) / 1000, 0, max_rate_limit_wait_ms_);
      rate_remaining_.reset();  // the wait below is the reset
    }
    host().counter("http_retries");
    host().warn(std::string(kKind) + ": " + shown + ": " + what + "; retry " +
                std::to_string(attempt + 1) + " of " + std::to_string(max_retries_) + " in " +
                std::to_string(wait) + " ms");
    sleepMs(wait);
  }
}

std::string MastodonSource::accountId() {
  if (!account_id_.empty()) return account_id_;
  const std::string url = base_url_ + "/api/v1/accounts/verify_credentials";
  const HttpResponse r = fetch(url);
  std::string id;
  try {
    id = idText(sdk::JsonValue::parse(r.body).member("id"));
  } catch (const std::exception&) {
  }
  if (id.empty()) {
    throw sdk::Retry("GET " + redactUrl(url) +
                     ": the answer is not an Account with an id; set account_id to read the "
                     "statuses of a known account");
  }
  account_id_ = id;
  return id;
}

std::string MastodonSource::pageUrl(const Stream& s) const {
  std::string url = base_url_;
  int64_t limit = page_size_;
  if (s.kind == Kind::Notifications) {
    url += "/api/v1/notifications?limit=" + std::to_string(limit);
    for (const std::string& t : notification_types_) url += "&types%5B%5D=" + urlEncode(t);
  } else {
    limit = std::min<int64_t>(limit, 40);  // the statuses endpoint's maximum
    url +=
        "/api/v1/accounts/" + urlEncode(account_id_) + "/statuses?limit=" + std::to_string(limit);
  }
  // min_id: the page immediately newer than the cursor (0: the oldest the server keeps).
  return url + "&min_id=" + (s.cursor.empty() ? std::string("0") : s.cursor);
}

void MastodonSource::fetchPage(Stream& s) {
  if (s.bad_pages > 0) sleepMs(backoffMs(s.bad_pages - 1));
  if (s.kind == Kind::Statuses) accountId();
  const std::string url = s.next_url.empty() ? pageUrl(s) : s.next_url;
  const HttpResponse r = fetch(url);
  const std::string shown = "GET " + redactUrl(url);
  const char* entity = s.kind == Kind::Notifications ? "Notification" : "Status";
  auto badPage = [&](const std::string& why) {
    ++s.bad_pages;
    Pending p;
    p.raw = r.body.substr(0, kMaxRawBytes);
    p.reason = shown + ": " + why;
    s.pending.push_back(std::move(p));
    if (s.bad_pages > max_retries_) {
      host().warn(std::string(kKind) + ": " + shown + ": " + std::to_string(s.bad_pages) +
                  " unusable answers in a row; leaving " + s.name + " until the next poll");
      s.bad_pages = 0;
      s.caught_up = true;
    }
  };
  sdk::JsonValue page;
  try {
    page = sdk::JsonValue::parse(r.body);
  } catch (const std::exception& e) {
    badPage(std::string("the response is not JSON (") + e.what() + ")");
    return;
  }
  if (!page.isArray()) {
    badPage(std::string("the response is not a JSON array of ") + entity + " entities");
    return;
  }
  s.bad_pages = 0;
  const auto& items = page.items();
  if (items.empty()) {
    s.caught_up = true;
    s.next_url.clear();
    return;
  }
  std::vector<Pending> good;
  const std::string of = " of " + std::to_string(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const sdk::JsonValue& item = items[i];
    const std::string where = shown + ": item " + std::to_string(i + 1) + of;
    Pending p;
    if (!item.isObject()) {
      item.dump(p.raw);
      p.reason = where + " is not a JSON object (a " + entity + " entity is one)";
      s.pending.push_back(std::move(p));
      continue;
    }
    p.id = idText(item.member("id"));
    if (p.id.empty() || !isNumericId(p.id)) {
      item.dump(p.raw);
      p.id.clear();
      p.reason = where + " has no Mastodon id";
      s.pending.push_back(std::move(p));
      continue;
    }
    if (!s.cursor.empty() && compareIds(p.id, s.cursor) <= 0) continue;  // already emitted
    p.value = item;
    good.push_back(std::move(p));
  }
  std::sort(good.begin(), good.end(),
            [](const Pending& a, const Pending& b) { return compareIds(a.id, b.id) < 0; });
  const std::string newest = good.empty() ? s.cursor : good.back().id;
  for (Pending& p : good) s.pending.push_back(std::move(p));
  // The next page: the Link header's rel="prev" (newer items, min_id), if it stays on this
  // instance and moves on; else built from the cursor.
  const auto links = parseLinkHeader(r.header("link"));
  const auto prev = links.find("prev");
  s.next_url.clear();
  if (prev != links.end() && prev->second != url && sameOrigin(prev->second, base_)) {
    s.next_url = prev->second;
  } else if (newest == s.cursor) {
    s.caught_up = true;  // nothing new on this page and nowhere further to go
  }
}

bool MastodonSource::wanted(const Stream& s, const sdk::JsonValue& item,
                            std::string* skip_reason) const {
  const sdk::JsonValue* status = &item;
  if (s.kind == Kind::Notifications) {
    const std::string_view type = text(item.member("type"));
    if (std::find(notification_types_.begin(), notification_types_.end(), type) ==
        notification_types_.end()) {
      *skip_reason = "notification_type";
      return false;
    }
    status = item.member("status");
  }
  if (status && status->isObject()) {
    const std::string_view vis = text(status->member("visibility"));
    if (!vis.empty() && visibility_.count(std::string(vis)) == 0) {
      *skip_reason = "visibility";
      return false;
    }
  }
  return true;
}

std::string MastodonSource::handle(std::string_view acct) const {
  const size_t at = acct.find('@');
  if (at == std::string_view::npos) return std::string(acct) + "@" + instance_domain_;
  return std::string(acct.substr(0, at + 1)) + lower(acct.substr(at + 1));
}

void MastodonSource::setAccount(sdk::EventBuilder& ev, const sdk::JsonValue* account) {
  if (!account || !account->isObject()) return;
  const std::string_view acct = text(account->member("acct"));
  if (!acct.empty()) {
    const std::string h = handle(acct);
    ev.identity(identity_type_, h);
    ev.str("account.acct", h);
  }
  if (const std::string id = idText(account->member("id")); !id.empty()) ev.str("account.id", id);
  for (const char* key : {"username", "display_name", "url"}) {
    const std::string_view v = text(account->member(key));
    if (!v.empty()) ev.str(std::string("account.") + key, v);
  }
  if (const sdk::JsonValue* bot = account->member("bot"); bot && bot->isBool()) {
    ev.boolean("account.bot", bot->boolValue());
  }
  // Identities the person states in the profile's metadata (e.g. a field "Email").
  const sdk::JsonValue* fields = account->member("fields");
  if (field_identities_.empty() || !fields || !fields->isArray()) return;
  for (const sdk::JsonValue& f : fields->items()) {
    const std::string name = lower(htmlText(text(f.member("name"))));
    for (const auto& [field, type] : field_identities_) {
      if (name != field) continue;
      const std::string value = htmlText(text(f.member("value")));
      if (!value.empty() && value.size() <= 320) ev.identity(type, value);
    }
  }
}

void MastodonSource::setStatus(sdk::EventBuilder& ev, const sdk::JsonValue* st) {
  if (!st || !st->isObject()) return;
  if (const std::string id = idText(st->member("id")); !id.empty()) ev.str("status.id", id);
  for (const char* key :
       {"created_at", "url", "visibility", "language", "content", "spoiler_text"}) {
    const std::string_view v = text(st->member(key));
    if (!v.empty()) ev.str(std::string("status.") + key, v);
  }
  if (const std::string id = idText(st->member("in_reply_to_id")); !id.empty()) {
    ev.str("status.in_reply_to_id", id);
  }
  if (const sdk::JsonValue* s = st->member("sensitive"); s && s->isBool()) {
    ev.boolean("status.sensitive", s->boolValue());
  }
  for (const char* key : {"replies_count", "reblogs_count", "favourites_count"}) {
    const sdk::JsonValue* v = st->member(key);
    if (v && v->asInt64()) ev.i64(std::string("status.") + key, *v->asInt64());
  }
  auto names = [&](const char* key, const char* member, bool handles) {
    const sdk::JsonValue* arr = st->member(key);
    if (!arr || !arr->isArray()) return;
    std::string json = "[";
    for (const sdk::JsonValue& item : arr->items()) {
      const std::string_view v = text(item.member(member));
      if (v.empty()) continue;
      if (json.size() > 1) json += ',';
      sdk::appendJsonString(json, handles ? handle(v) : std::string(v));
    }
    ev.json(std::string("status.") + key, json + "]");
  };
  names("tags", "name", false);
  names("mentions", "acct", true);
  if (const sdk::JsonValue* reblog = st->member("reblog"); reblog && reblog->isObject()) {
    if (const std::string id = idText(reblog->member("id")); !id.empty()) {
      ev.str("status.reblog_of", id);
    }
  }
}

void MastodonSource::emitNotification(sdk::EventBuilder& ev, const sdk::JsonValue& n) {
  const std::string id = idText(n.member("id"));
  const std::string_view type = text(n.member("type"));
  ev.key("notification:" + id).type(notificationEventType(type)).channel(channel_);
  if (const auto t = filetail::parseIsoTimestamp(text(n.member("created_at")))) ev.time(*t);
  ev.str("notification.id", id);
  ev.str("notification.type", type);
  if (const std::string_view g = text(n.member("group_key")); !g.empty()) {
    ev.str("notification.group_key", g);
  }
  setAccount(ev, n.member("account"));
  setStatus(ev, n.member("status"));
}

void MastodonSource::emitStatus(sdk::EventBuilder& ev, const sdk::JsonValue& st) {
  const std::string id = idText(st.member("id"));
  ev.key("status:" + id).type("social.status").channel(channel_);
  if (const auto t = filetail::parseIsoTimestamp(text(st.member("created_at")))) ev.time(*t);
  setAccount(ev, st.member("account"));
  setStatus(ev, &st);
}

bool MastodonSource::emitPending(Stream& s, sdk::BatchWriter& out) {
  while (!s.pending.empty()) {
    Pending& p = s.pending.front();
    if (!p.reason.empty()) {
      sdk::EventBuilder ev = out.append();
      if (!ev) return false;
      ev.key("invalid:" + s.name + ":" + filetail::hashHex(p.reason + "\n" + p.raw));
      ev.deadLetter(p.raw, p.reason);
      ++dead_letters_;
    } else {
      std::string skip;
      if (!wanted(s, p.value, &skip)) {
        ++skipped_;
      } else {
        sdk::EventBuilder ev = out.append();
        if (!ev) return false;
        if (s.kind == Kind::Notifications) {
          emitNotification(ev, p.value);
        } else {
          emitStatus(ev, p.value);
        }
      }
    }
    if (!p.id.empty() && (s.cursor.empty() || compareIds(p.id, s.cursor) > 0)) s.cursor = p.id;
    s.pending.pop_front();
  }
  return true;
}

ol_status MastodonSource::read(sdk::BatchWriter& out, size_t /*max_events*/) {
  if (deferred_error_) {
    const std::string m = *deferred_error_;
    deferred_error_.reset();
    throw sdk::Error(m);
  }
  const bool all_caught_up = std::all_of(streams_.begin(), streams_.end(), [](const Stream& s) {
    return s.caught_up && s.pending.empty();
  });
  if (all_caught_up) {
    if (polled_once_ && std::chrono::steady_clock::now() < next_poll_) {
      out.cursor(cursorText());
      return OL_IDLE;
    }
    for (Stream& s : streams_) s.caught_up = false;  // a new poll
  }
  bool full = false;
  try {
    for (Stream& s : streams_) {
      while (!full) {
        if (!emitPending(s, out)) {
          full = true;
          break;
        }
        if (s.caught_up) break;
        fetchPage(s);
      }
      if (full) break;
    }
  } catch (const sdk::Error& e) {
    // Events already in this batch are good: deliver them (and their cursor) first; a failure
    // is reported by the next call, so nothing read is lost and nothing is read twice.
    if (out.appended() == 0) throw;
    if (!dynamic_cast<const sdk::Retry*>(&e)) deferred_error_ = e.what();
    full = true;
  }
  out.cursor(cursorText());
  if (dead_letters_) host().counter("dead_letters", dead_letters_);
  if (skipped_) host().counter("skipped", skipped_);
  dead_letters_ = skipped_ = 0;
  if (!full) {
    polled_once_ = true;
    next_poll_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(poll_interval_ms_);
  }
  return out.appended() > 0 ? OL_OK : OL_IDLE;
}

}  // namespace omniloop::mastodon
