#include "webhook_source.h"

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/URI.h>

#include <chrono>
#include <fstream>
#include <random>
#include <sstream>

#include "signature.h"
#include "text.h"

namespace omniloop::webhook {

namespace {

constexpr std::string_view kKind = "http.webhook";

int64_t nowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string randomId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

void answer(Poco::Net::HTTPServerResponse& resp, Poco::Net::HTTPResponse::HTTPStatus status,
            const std::string& json) {
  resp.setStatus(status);
  resp.setContentType("application/json");
  resp.setContentLength(static_cast<std::streamsize>(json.size()));
  resp.send() << json;
}

std::string errorJson(const std::string& request, const std::string& why) {
  std::string out = "{\"error\":";
  sdk::appendJsonString(out, why);
  out += ",\"request\":";
  sdk::appendJsonString(out, request);
  return out + "}";
}

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  Handler(const EndpointConfig& cfg, Spool& spool, EndpointCounters& counters)
      : cfg_(cfg), spool_(spool), counters_(counters) {}

  void handleRequest(Poco::Net::HTTPServerRequest& req,
                     Poco::Net::HTTPServerResponse& resp) override {
    using S = Poco::Net::HTTPResponse;
    const std::string request = req.getMethod() + " " + Poco::URI(req.getURI()).getPath();
    auto reject = [&](S::HTTPStatus status, const std::string& why) {
      (status == S::HTTP_UNAUTHORIZED ? counters_.unauthorized : counters_.rejected)++;
      answer(resp, status, errorJson(request, why));
    };
    if (Poco::URI(req.getURI()).getPath() != cfg_.path) {
      return reject(S::HTTP_NOT_FOUND, "no webhook at this path");
    }
    if (req.getMethod() != "POST") {
      return reject(S::HTTP_METHOD_NOT_ALLOWED, "webhooks are POSTed");
    }
    if (req.hasContentLength() &&
        req.getContentLength64() > static_cast<int64_t>(cfg_.max_body_bytes)) {
      return reject(S::HTTP_REQUESTENTITYTOOLARGE, "body larger than max_body_bytes (" +
                                                       std::to_string(cfg_.max_body_bytes) + ")");
    }
    std::string body;
    {
      std::istream& in = req.stream();
      char buf[16384];
      while (in) {
        in.read(buf, sizeof buf);
        body.append(buf, static_cast<size_t>(in.gcount()));
        if (body.size() > cfg_.max_body_bytes) {
          return reject(
              S::HTTP_REQUESTENTITYTOOLARGE,
              "body larger than max_body_bytes (" + std::to_string(cfg_.max_body_bytes) + ")");
        }
      }
    }
    if (!cfg_.secret.empty()) {
      if (!req.has(cfg_.signature_header)) {
        return reject(S::HTTP_UNAUTHORIZED,
                      "unsigned: header " + cfg_.signature_header + " missing");
      }
      std::string signed_text = body;
      if (!cfg_.timestamp_header.empty()) {
        const std::string ts = req.get(cfg_.timestamp_header, "");
        int64_t secs = 0;
        try {
          size_t used = 0;
          secs = std::stoll(ts, &used);
          if (used != ts.size()) throw std::invalid_argument("trailing text");
        } catch (const std::exception&) {
          return reject(S::HTTP_UNAUTHORIZED,
                        "header " + cfg_.timestamp_header + " missing or not epoch seconds");
        }
        const int64_t now = nowMicros() / 1000000;
        if (secs < now - cfg_.replay_window_seconds || secs > now + cfg_.replay_window_seconds) {
          return reject(S::HTTP_UNAUTHORIZED, "timestamp outside the replay window");
        }
        signed_text = ts + "." + body;
      }
      if (!signatureMatches(cfg_.secret, signed_text, req.get(cfg_.signature_header))) {
        return reject(S::HTTP_UNAUTHORIZED, "bad signature");
      }
    }
    if (!filetail::isValidUtf8(body)) {
      return reject(S::HTTP_BAD_REQUEST, "body is not valid UTF-8");
    }
    sdk::JsonValue doc;
    try {
      doc = sdk::JsonValue::parse(body);
    } catch (const std::exception& e) {
      return reject(S::HTTP_BAD_REQUEST, std::string("body is not JSON: ") + e.what());
    }
    if (!doc.isObject()) return reject(S::HTTP_BAD_REQUEST, "body must be a JSON object");
    std::string id = cfg_.id_header.empty() ? "" : req.get(cfg_.id_header, "");
    // A sender's id is JSON-quoted into the spool; keep it plain so it reads back the same.
    const bool plain = !id.empty() && id.size() <= 200 &&
                       id.find_first_of("\"\\") == std::string::npos && filetail::isValidUtf8(id);
    const bool from_sender = plain;
    if (!plain) id = randomId();
    std::string line = "{\"id\":";
    sdk::appendJsonString(line, id);
    line += ",\"received_at\":" + std::to_string(nowMicros()) + ",\"body\":";
    doc.dump(line);
    line += "}";
    std::string error;
    bool duplicate = false;
    const bool stored =
        from_sender ? spool_.appendOnce(id, line, &duplicate, &error) : spool_.append(line, &error);
    if (!stored) {
      counters_.spool_errors++;
      answer(resp, S::HTTP_SERVICE_UNAVAILABLE, errorJson(request, "not stored; retry later"));
      return;
    }
    (duplicate ? counters_.duplicates : counters_.accepted)++;
    std::string ok =
        duplicate ? "{\"accepted\":true,\"duplicate\":true,\"id\":" : "{\"accepted\":true,\"id\":";
    sdk::appendJsonString(ok, id);
    answer(resp, S::HTTP_ACCEPTED, ok + "}");
  }

 private:
  const EndpointConfig& cfg_;
  Spool& spool_;
  EndpointCounters& counters_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  Factory(const EndpointConfig& cfg, Spool& spool, EndpointCounters& counters)
      : cfg_(cfg), spool_(spool), counters_(counters) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(
      const Poco::Net::HTTPServerRequest&) override {
    return new Handler(cfg_, spool_, counters_);
  }

 private:
  const EndpointConfig& cfg_;
  Spool& spool_;
  EndpointCounters& counters_;
};

std::string readSecret(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw sdk::Error(std::string(kKind) + ": cannot read option 'secret_file' '" + path +
                     "' (check the path and its permissions)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  if (s.empty()) {
    throw sdk::Error(std::string(kKind) + ": option 'secret_file' '" + path + "' is empty");
  }
  return s;
}

// Flattens a JSON object into dotted attribute paths; arrays stay whole (raw JSON).
void flatten(sdk::EventBuilder& ev, const sdk::JsonValue& v, const std::string& prefix) {
  for (const auto& [name, value] : v.members()) {
    if (name.empty() || name[0] == '$') continue;
    const std::string path = prefix.empty() ? name : prefix + "." + name;
    switch (value.type()) {
      case sdk::JsonValue::Type::Object:
        flatten(ev, value, path);
        break;
      case sdk::JsonValue::Type::Array: {
        std::string json;
        value.dump(json);
        ev.json(path, json);
        break;
      }
      case sdk::JsonValue::Type::String:
        ev.str(path, value.text());
        break;
      case sdk::JsonValue::Type::Bool:
        ev.boolean(path, value.boolValue());
        break;
      case sdk::JsonValue::Type::Number:
        if (const auto i = value.asInt64()) {
          ev.i64(path, *i);
        } else {
          ev.f64(path, value.numberValue());
        }
        break;
      case sdk::JsonValue::Type::Null:
        ev.null(path);
        break;
    }
  }
}

}  // namespace

WebhookSource::WebhookSource(const sdk::Config& config)
    : type_(config.str("type", "webhook.received")), channel_(config.str("channel", "webhook")) {
  endpoint_.path = config.str("path", "/webhook");
  if (endpoint_.path.empty() || endpoint_.path[0] != '/') {
    throw sdk::Error(std::string(kKind) + ": option 'path' must start with '/'");
  }
  endpoint_.signature_header = config.str("signature_header", "X-Hub-Signature-256");
  endpoint_.timestamp_header = config.str("timestamp_header", "");
  endpoint_.replay_window_seconds = config.integer("replay_window_seconds", 300);
  endpoint_.id_header = config.str("id_header", "");
  endpoint_.max_body_bytes = static_cast<size_t>(config.integer("max_body_bytes", 1 << 20));
  if (config.has("secret_file")) {
    endpoint_.secret = readSecret(config.str("secret_file"));
  } else if (!config.boolean("allow_unsigned", false)) {
    throw sdk::Error(std::string(kKind) +
                     ": option 'secret_file' is required (the HMAC-SHA256 key senders sign "
                     "with); set allow_unsigned: true only for a trusted network");
  }
  try {
    spool_ = std::make_unique<Spool>(config.str("spool_dir"));
  } catch (const std::runtime_error& e) {
    throw sdk::Error(std::string(kKind) + ": " + e.what() + " (check option 'spool_dir')");
  }
  tail_ = std::make_unique<filetail::Tail>(spool_->path(), true, filetail::frameLine,
                                           endpoint_.max_body_bytes * 6 + 4096);
  tail_->onNotice([this](const std::string& m) { host().warn(std::string(kKind) + ": " + m); });
  tail_->open();

  const std::string listen = config.str("listen", "127.0.0.1:8088");
  try {
    Poco::Net::SocketAddress address(listen);
    // SO_REUSEADDR (restart at once after a crash) but not SO_REUSEPORT, which Poco's
    // convenience constructor also sets: a second daemon on the port must fail, not share it.
    Poco::Net::ServerSocket socket;
    socket.bind(address, true, false);
    socket.listen(64);
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(static_cast<int>(config.integer("threads", 4)));
    params->setKeepAlive(true);
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(endpoint_, *spool_, counters_),
                                                      socket, params);
    server_->start();
    host().info(std::string(kKind) + ": listening on " + socket.address().toString() +
                endpoint_.path + (endpoint_.secret.empty() ? " (unsigned requests accepted)" : ""));
  } catch (const Poco::Exception& e) {
    throw sdk::Error(std::string(kKind) + ": cannot listen on '" + listen +
                     "': " + e.displayText() + " (check option 'listen')");
  }
}

WebhookSource::~WebhookSource() {
  if (server_) server_->stopAll(true);
}

void WebhookSource::resume(std::string_view cursor) {
  if (cursor.empty()) return;
  try {
    const std::string notice = tail_->resume(cursor);
    if (!notice.empty()) host().warn(std::string(kKind) + ": " + notice);
  } catch (const std::runtime_error& e) {
    throw sdk::Error(std::string(kKind) + ": " + e.what());
  }
}

void WebhookSource::emit(sdk::EventBuilder& ev, const filetail::Tail::Record& rec) {
  sdk::JsonValue line;
  try {
    line = sdk::JsonValue::parse(rec.text);
  } catch (const std::exception&) {
    line = sdk::JsonValue();
  }
  const sdk::JsonValue* id = line.isObject() ? line.member("id") : nullptr;
  const sdk::JsonValue* body = line.isObject() ? line.member("body") : nullptr;
  const sdk::JsonValue* at = line.isObject() ? line.member("received_at") : nullptr;
  if (!id || !id->isString() || !body || !body->isObject()) {
    ++dead_letters_;
    ev.key("invalid:" + std::to_string(rec.line) + ":" + filetail::hashHex(rec.text));
    ev.deadLetter(rec.text, tail_->path() + ":" + std::to_string(rec.line) +
                                ": not a spool record (was the spool edited?)");
    return;
  }
  ev.key(id->text()).type(type_).channel(channel_);
  if (at && at->asInt64()) ev.time(*at->asInt64());
  flatten(ev, *body, "");
}

void WebhookSource::reportCounters() {
  const int64_t now[5] = {counters_.accepted.load(), counters_.unauthorized.load(),
                          counters_.rejected.load(), counters_.spool_errors.load(),
                          counters_.duplicates.load()};
  static constexpr const char* kNames[5] = {"webhook_accepted", "webhook_unauthorized",
                                            "webhook_rejected", "webhook_spool_errors",
                                            "webhook_duplicates"};
  for (int i = 0; i < 5; ++i) {
    if (now[i] != reported_[i]) host().counter(kNames[i], now[i] - reported_[i]);
    reported_[i] = now[i];
  }
  if (dead_letters_) host().counter("dead_letters", dead_letters_);
  dead_letters_ = 0;
}

ol_status WebhookSource::read(sdk::BatchWriter& out, size_t /*max_events*/) {
  try {
    filetail::Tail::Record rec;
    while (!out.full()) {
      const auto st = tail_->next(&rec);
      if (st != filetail::Tail::Next::kRecord) break;  // the spool is followed: idle at its end
      if (rec.text.empty()) continue;
      sdk::EventBuilder ev = out.append();
      if (!ev) {
        tail_->unread();
        break;
      }
      emit(ev, rec);
    }
  } catch (const std::runtime_error& e) {
    throw sdk::Retry(std::string(kKind) + ": " + e.what());
  }
  out.cursor(tail_->cursor());
  reportCounters();
  return out.appended() > 0 ? OL_OK : OL_IDLE;  // idle: the host polls again later
}

}  // namespace omniloop::webhook
