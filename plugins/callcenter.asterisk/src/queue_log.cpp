#include "queue_log.h"

#include <charconv>
#include <vector>

namespace omniloop::asterisk {

namespace {

bool toInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

void setInt(std::string_view s, int64_t* slot) {
  int64_t v = 0;
  if (toInt(s, &v) && v >= 0) *slot = v;
}

}  // namespace

QueueCall& QueueIndex::callFor(std::string_view callid) {
  auto it = calls_.find(std::string(callid));
  if (it != calls_.end()) return it->second;
  if (calls_.size() >= max_calls_ && !order_.empty()) {
    calls_.erase(order_.front());
    order_.pop_front();
  }
  order_.emplace_back(callid);
  return calls_[std::string(callid)];
}

QueueIndex::Line QueueIndex::add(std::string_view line) {
  std::vector<std::string_view> f;
  size_t start = 0;
  for (;;) {
    const size_t bar = line.find('|', start);
    f.push_back(
        line.substr(start, bar == std::string_view::npos ? std::string_view::npos : bar - start));
    if (bar == std::string_view::npos) break;
    start = bar + 1;
  }
  int64_t epoch = 0;
  if (f.size() < 5 || !toInt(f[0], &epoch) || f[4].empty()) return Line::kMalformed;
  const std::string_view callid = f[1];
  const std::string_view event = f[4];
  auto data = [&](size_t i) { return i + 5 < f.size() ? f[i + 5] : std::string_view(); };
  if (callid.empty() || callid == "NONE" || callid == "MANAGER" || callid == "CLI" ||
      callid == "REALTIME") {
    return Line::kIgnored;
  }
  const bool has_agent = !f[3].empty() && f[3] != "NONE";
  if (event == "ENTERQUEUE") {
    QueueCall& c = callFor(callid);
    c.queue = std::string(f[2]);
    c.entered_at = epoch;
    c.outcome = "waiting";
    setInt(data(2), &c.position);
  } else if (event == "CONNECT") {
    QueueCall& c = callFor(callid);
    c.queue = std::string(f[2]);
    if (has_agent) c.agent = std::string(f[3]);
    setInt(data(0), &c.wait_seconds);
    c.outcome = "connected";
  } else if (event == "COMPLETECALLER" || event == "COMPLETEAGENT") {
    QueueCall& c = callFor(callid);
    c.queue = std::string(f[2]);
    if (has_agent) c.agent = std::string(f[3]);
    setInt(data(0), &c.wait_seconds);
    setInt(data(1), &c.talk_seconds);
    c.outcome = event == "COMPLETECALLER" ? "completed_by_caller" : "completed_by_agent";
  } else if (event == "ABANDON" || event == "EXITWITHTIMEOUT" || event == "EXITEMPTY") {
    QueueCall& c = callFor(callid);
    c.queue = std::string(f[2]);
    setInt(data(2), &c.wait_seconds);
    c.outcome = event == "ABANDON" ? "abandoned" : event == "EXITEMPTY" ? "exit_empty" : "timeout";
  } else if (event == "EXITWITHKEY") {
    QueueCall& c = callFor(callid);
    c.queue = std::string(f[2]);
    c.outcome = "exit_with_key";
  } else {
    return Line::kIgnored;
  }
  return Line::kUsed;
}

const QueueCall* QueueIndex::find(std::string_view uniqueid) const {
  auto it = calls_.find(std::string(uniqueid));
  return it == calls_.end() ? nullptr : &it->second;
}

}  // namespace omniloop::asterisk
