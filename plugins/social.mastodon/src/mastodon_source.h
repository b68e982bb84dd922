#pragma once
// Source mastodon.api: an account's notifications (mention, favourite, reblog, follow) and its
// statuses from the Mastodon REST API. Each stream is walked from its cursor towards the newest
// item with min_id pages (the Link header's rel="prev"), emitted oldest first, so the committed
// cursor (the last emitted id per stream) resumes a restart with nothing lost or repeated.
#include <omniloop/plugin.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api.h"
#include "http_client.h"

namespace omniloop::mastodon {

namespace sdk = omniloop::sdk;

class MastodonSource : public sdk::SourceBase {
 public:
  explicit MastodonSource(const sdk::Config& config);

  void resume(std::string_view cursor) override;
  ol_status read(sdk::BatchWriter& out, size_t max_events) override;

 private:
  enum class Kind { Notifications, Statuses };
  // One item of a fetched page waiting to be emitted (oldest first).
  struct Pending {
    std::string id;        // empty for an item that is a dead letter without a usable id
    sdk::JsonValue value;  // the entity (object) when it is no dead letter
    std::string raw;       // dead letters: the item's (or body's) text
    std::string reason;    // dead letters: why
  };
  struct Stream {
    Kind kind;
    std::string name;      // "notifications" | "statuses" (the cursor's keys)
    std::string cursor;    // the last emitted id; empty: from the oldest the server keeps
    std::string next_url;  // the Link header's rel="prev" of the last page, when usable
    std::deque<Pending> pending;
    bool caught_up = false;  // an empty page since the last poll started
    int bad_pages = 0;       // consecutive pages that were not a JSON array
  };

  int64_t nowMicros() const;
  void sleepMs(int64_t ms) const;
  int64_t backoffMs(int attempt);
  // GET with the retry rules (429, 5xx, timeouts: backoff with jitter; 401/403: sdk::Error).
  HttpResponse fetch(const std::string& url);
  std::string pageUrl(const Stream& s) const;
  std::string accountId();
  // Fetches the next page of `s` into its pending queue (or marks it caught up).
  void fetchPage(Stream& s);
  // Emits pending items of `s`; false when the batch is full.
  bool emitPending(Stream& s, sdk::BatchWriter& out);
  bool wanted(const Stream& s, const sdk::JsonValue& item, std::string* skip_reason) const;
  void emitNotification(sdk::EventBuilder& ev, const sdk::JsonValue& n);
  void emitStatus(sdk::EventBuilder& ev, const sdk::JsonValue& st);
  void setAccount(sdk::EventBuilder& ev, const sdk::JsonValue* account);
  void setStatus(sdk::EventBuilder& ev, const sdk::JsonValue* status);
  std::string handle(std::string_view acct) const;
  std::string cursorText() const;

  Url base_;
  std::string base_url_;  // without a trailing '/'
  std::string token_;
  std::string channel_;
  std::string identity_type_;
  std::string instance_domain_;
  std::vector<std::string> notification_types_;
  std::set<std::string> visibility_;
  std::vector<std::pair<std::string, std::string>> field_identities_;  // lower-case name, type
  std::string account_id_;
  int64_t page_size_;
  int max_retries_;
  int64_t retry_base_ms_;
  int64_t retry_max_ms_;
  int64_t max_rate_limit_wait_ms_;
  int64_t poll_interval_ms_;
  std::unique_ptr<HttpClient> http_;
  std::vector<Stream> streams_;

  // The server's rate-limit budget from the last answer.
  std::optional<int64_t> rate_remaining_;
  std::optional<int64_t> rate_reset_micros_;
  std::chrono::steady_clock::time_point next_poll_{};
  bool polled_once_ = false;
  std::optional<std::string> deferred_error_;  // reported by the next read
  std::mt19937_64 rng_;
  int64_t dead_letters_ = 0;
  int64_t skipped_ = 0;
};

}  // namespace omniloop::mastodon
