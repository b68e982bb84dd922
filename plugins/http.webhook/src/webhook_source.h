#pragma once
// Source http.webhook: an HTTP endpoint (Poco::Net, its own threads) that checks each POST
// (path, size, HMAC-SHA256 signature, optional timestamp window, UTF-8 JSON object), appends it
// to the durable spool and only then answers 202; read() turns spooled requests into events.
// The HTTP threads never call the host: they only count, in atomics read() reports.
#include <omniloop/plugin.hpp>

#include <atomic>
#include <memory>
#include <string>

#include "spool.h"
#include "tail.h"

namespace Poco::Net {
class HTTPServer;
}

namespace omniloop::webhook {

namespace sdk = omniloop::sdk;

struct EndpointConfig {
  std::string path;
  std::string secret;            // empty: no signature check
  std::string signature_header;  // e.g. X-Hub-Signature-256
  std::string timestamp_header;  // empty: no replay window
  int64_t replay_window_seconds = 300;
  std::string id_header;  // sender's delivery id (retries keep it): the natural key
  size_t max_body_bytes = 1 << 20;
};

struct EndpointCounters {
  std::atomic<int64_t> accepted{0};
  std::atomic<int64_t> unauthorized{0};  // 401: unsigned, badly signed, outside the window
  std::atomic<int64_t> rejected{0};      // other 4xx: not JSON, too large, wrong path/method
  std::atomic<int64_t> spool_errors{0};  // 503
  std::atomic<int64_t> duplicates{0};    // a delivery id already spooled: 202, not stored again
};

class WebhookSource : public sdk::SourceBase {
 public:
  explicit WebhookSource(const sdk::Config& config);
  ~WebhookSource() override;

  void resume(std::string_view cursor) override;
  ol_status read(sdk::BatchWriter& out, size_t max_events) override;

 private:
  void emit(sdk::EventBuilder& ev, const filetail::Tail::Record& rec);
  void reportCounters();

  EndpointConfig endpoint_;
  std::string type_;
  std::string channel_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<filetail::Tail> tail_;
  EndpointCounters counters_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  int64_t dead_letters_ = 0;
  int64_t reported_[5] = {0, 0, 0, 0, 0};
};

}  // namespace omniloop::webhook
