#include "cdr_source.h"

#include <charconv>
#include <stdexcept>

#include "cdr_record.h"
#include "text.h"

namespace omniloop::asterisk {

namespace {

constexpr std::string_view kKind = "asterisk.cdr";

bool toInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

int64_t offsetOf(const sdk::Config& config) {
  const std::string tz = config.str("timezone", "+00:00");
  const auto offset = filetail::parseUtcOffset(tz);
  if (!offset) {
    throw sdk::Error(std::string(kKind) +
                     ": option 'timezone' must be a UTC offset such as "
                     "\"+01:00\", \"-0500\" or \"UTC\" (the PBX's offset; UTC with usegmtime=yes)");
  }
  return *offset;
}

PhoneNormalizer phonesFor(const sdk::Config& config) {
  try {
    return PhoneNormalizer(config.str("country", ""));
  } catch (const std::invalid_argument& e) {
    throw sdk::Error(std::string(kKind) + ": " + e.what());
  }
}

}  // namespace

CdrSource::CdrSource(const sdk::Config& config)
    : path_(config.str("path")),
      follow_(config.boolean("follow", false)),
      channel_(config.str("channel", "call_center")),
      latin1_(config.str("encoding", "utf-8") == "latin-1"),
      utc_offset_(offsetOf(config)),
      phones_(phonesFor(config)),
      tail_(path_, follow_, frameCdrRow) {
  tail_.onNotice([this](const std::string& m) { host().warn(std::string(kKind) + ": " + m); });
  try {
    tail_.open();
  } catch (const std::exception& e) {
    throw sdk::Error(std::string(kKind) + ": " + e.what() + " (check option 'path')");
  }
  if (config.has("queue_log")) {
    const std::string qpath = config.str("queue_log");
    queue_tail_ = std::make_unique<filetail::Tail>(qpath, follow_, filetail::frameLine);
    queue_tail_->onNotice(
        [this](const std::string& m) { host().warn(std::string(kKind) + ": queue_log: " + m); });
    try {
      queue_tail_->open();
    } catch (const std::exception& e) {
      throw sdk::Error(std::string(kKind) + ": " + e.what() + " (check option 'queue_log')");
    }
  }
}

// "asterisk1;repeat=<row hash>:<n>;" + the filetail cursor.
std::string CdrSource::cursor() const {
  return "asterisk1;repeat=" + last_row_hash_ + ":" + std::to_string(repeat_) + ";" +
         tail_.cursor();
}

void CdrSource::resume(std::string_view cursor) {
  if (cursor.empty()) return;
  constexpr std::string_view kMagic = "asterisk1;repeat=";
  if (cursor.substr(0, kMagic.size()) == kMagic) {
    cursor.remove_prefix(kMagic.size());
    const size_t colon = cursor.find(':');
    const size_t semi = cursor.find(';');
    if (colon < semi && semi != std::string_view::npos) {
      last_row_hash_ = std::string(cursor.substr(0, colon));
      toInt(cursor.substr(colon + 1, semi - colon - 1), &repeat_);
      cursor.remove_prefix(semi + 1);
    }
  }
  try {
    const std::string notice = tail_.resume(cursor);
    if (!notice.empty()) host().warn(std::string(kKind) + ": " + notice);
  } catch (const std::runtime_error& e) {
    throw sdk::Error(std::string(kKind) + ": " + e.what());
  }
}

void CdrSource::readQueueLog() {
  if (!queue_tail_) return;
  filetail::Tail::Record rec;
  for (;;) {
    const auto st = queue_tail_->next(&rec);
    if (st == filetail::Tail::Next::kIdle || st == filetail::Tail::Next::kEnd) return;
    if (st == filetail::Tail::Next::kPartialAtEnd) continue;  // a line cut by rotation
    if (rec.text.empty()) continue;
    if (queue_.add(rec.text) == QueueIndex::Line::kMalformed) {
      ++queue_bad_lines_;
      if (!queue_warned_) {  // once per run; the counter has the total
        queue_warned_ = true;
        host().warn(std::string(kKind) + ": " + queue_tail_->path() + ":" +
                    std::to_string(rec.line) +
                    ": not a queue_log line (epoch|callid|queue|agent|event|data...); "
                    "skipped (counter queue_log_bad_lines)");
      }
    }
  }
}

void CdrSource::deadLetter(sdk::EventBuilder& ev, std::string_view raw, uint64_t line,
                           const std::string& why) {
  ++dead_letters_;
  ev.key("invalid:" + std::to_string(line) + ":" + filetail::hashHex(raw));
  ev.deadLetter(raw, path_ + ":" + std::to_string(line) + ": " + why);
}

void CdrSource::emit(sdk::EventBuilder& ev, const filetail::Tail::Record& rec) {
  std::string_view row = rec.text;
  if (rec.oversize) {
    deadLetter(ev, row, rec.line,
               "a row longer than 1 MiB is not a cdr_csv row (rows are under 1 KiB); skipped");
    return;
  }
  if (!filetail::isValidUtf8(row)) {
    if (!latin1_) {
      deadLetter(ev, row, rec.line,
                 "the row is not valid UTF-8; set encoding: latin-1 if the PBX writes Latin-1 "
                 "caller names");
      return;
    }
    scratch_ = filetail::latin1ToUtf8(row);
    row = scratch_;
  }
  std::string error;
  if (!splitCdrRow(row, &fields_, &error)) {
    deadLetter(ev, rec.text, rec.line, "malformed CSV: " + error);
    return;
  }
  CdrLayout layout;
  if (!layoutFor(fields_, &layout)) {
    deadLetter(ev, rec.text, rec.line,
               std::to_string(fields_.size()) +
                   " columns; a cdr_csv row has 16 to 21 (is this Master.csv?)");
    return;
  }
  const auto& f = fields_;
  int64_t duration = 0, billsec = 0;
  if (!toInt(f[kDuration], &duration) || !toInt(f[kBillsec], &billsec)) {
    deadLetter(ev, rec.text, rec.line,
               "duration (column 13) and billsec (column 14) must be "
               "whole seconds");
    return;
  }
  const auto start = filetail::parseLocalTimestamp(f[kStart], utc_offset_);
  if (!start) {
    deadLetter(ev, rec.text, rec.line, "start (column 10) is not a 'YYYY-MM-DD hh:mm:ss' time");
    return;
  }
  std::optional<int64_t> answer, end;
  if (!f[kAnswer].empty()) answer = filetail::parseLocalTimestamp(f[kAnswer], utc_offset_);
  if (!f[kEnd].empty()) end = filetail::parseLocalTimestamp(f[kEnd], utc_offset_);
  if ((!f[kAnswer].empty() && !answer) || (!f[kEnd].empty() && !end)) {
    deadLetter(ev, rec.text, rec.line,
               "answer (column 11) or end (column 12) is not a 'YYYY-MM-DD hh:mm:ss' time");
    return;
  }

  const std::string_view disposition = f[kDisposition];
  const std::string uniqueid = layout.uniqueid >= 0 ? f[static_cast<size_t>(layout.uniqueid)] : "";
  // Forked legs share the uniqueid: the row's own bytes tell them apart, and stay the same
  // whatever file offset the row has after a rotation.
  const std::string row_hash = filetail::hashHex(rec.text);
  if (row_hash == last_row_hash_) {
    ++repeat_;
  } else {
    last_row_hash_ = row_hash;
    repeat_ = 0;
  }
  std::string key = (uniqueid.empty() ? std::string("row") : uniqueid) + ":" + row_hash;
  if (repeat_ > 0) key += "#" + std::to_string(repeat_);
  ev.key(key).type(eventTypeFor(disposition)).channel(channel_).time(*start);

  const CallerId caller = parseCallerId(f[kClid], f[kSrc]);
  const std::string e164 = caller.number.empty() ? "" : phones_.toE164(caller.number);
  if (!e164.empty()) ev.identity("phone", e164);
  if (!caller.name.empty()) ev.str("caller.name", caller.name);
  if (!caller.number.empty()) ev.str("caller.number", caller.number);
  ev.boolean("caller.withheld", caller.withheld);

  if (!uniqueid.empty()) ev.str("call.uniqueid", uniqueid);
  if (layout.linkedid >= 0) ev.str("call.linkedid", f[static_cast<size_t>(layout.linkedid)]);
  if (layout.sequence >= 0) {
    int64_t seq = 0;
    if (toInt(f[static_cast<size_t>(layout.sequence)], &seq)) ev.i64("call.sequence", seq);
  }
  ev.str("call.disposition", disposition);
  ev.boolean("call.answered_leg", disposition == "ANSWERED");
  ev.str("call.src", f[kSrc]);
  ev.str("call.dst", f[kDst]);
  ev.str("call.context", f[kDcontext]);
  ev.str("call.clid", f[kClid]);
  ev.str("call.channel", f[kChannel]);
  ev.str("call.dst_channel", f[kDstChannel]);
  ev.str("call.last_app", f[kLastApp]);
  ev.str("call.last_data", f[kLastData]);
  ev.str("call.started_at", filetail::formatIsoUtc(*start));
  if (answer) ev.str("call.answered_at", filetail::formatIsoUtc(*answer));
  if (end) ev.str("call.ended_at", filetail::formatIsoUtc(*end));
  ev.i64("call.duration_seconds", duration);
  ev.i64("call.billable_seconds", billsec);
  if (!f[kAccountCode].empty()) ev.str("call.account_code", f[kAccountCode]);
  if (layout.peeraccount >= 0 && !f[static_cast<size_t>(layout.peeraccount)].empty()) {
    ev.str("call.peer_account", f[static_cast<size_t>(layout.peeraccount)]);
  }
  ev.str("call.amaflags", f[kAmaFlags]);
  if (layout.userfield >= 0) ev.str("call.userfield", f[static_cast<size_t>(layout.userfield)]);

  if (queue_tail_ && !uniqueid.empty()) {
    const QueueCall* q = queue_.find(uniqueid);
    const bool open = q && (q->outcome == "waiting" || q->outcome == "connected");
    if ((!q && f[kLastApp] == "Queue") || open) {
      // Its closing queue_log line may have been written after this read() drained queue_log.
      readQueueLog();
      q = queue_.find(uniqueid);
    }
    if (q) {
      ev.str("queue.name", q->queue);
      if (!q->agent.empty()) ev.str("queue.agent", q->agent);
      if (!q->outcome.empty()) ev.str("queue.outcome", q->outcome);
      if (q->wait_seconds >= 0) ev.i64("queue.wait_seconds", q->wait_seconds);
      if (q->talk_seconds >= 0) ev.i64("queue.talk_seconds", q->talk_seconds);
      if (q->position >= 0) ev.i64("queue.position", q->position);
      if (q->entered_at > 0)
        ev.str("queue.entered_at", filetail::formatIsoUtc(q->entered_at * 1000000));
    }
  }
}

ol_status CdrSource::read(sdk::BatchWriter& out, size_t /*max_events*/) {
  bool ended = false;
  try {
    readQueueLog();
    filetail::Tail::Record rec;
    while (!out.full()) {
      const auto st = tail_.next(&rec);
      if (st == filetail::Tail::Next::kIdle) break;
      if (st == filetail::Tail::Next::kEnd) {
        ended = true;
        break;
      }
      if (st == filetail::Tail::Next::kRecord && rec.text.empty()) continue;  // blank line
      sdk::EventBuilder ev = out.append();
      if (!ev) {
        tail_.unread();
        break;
      }
      if (st == filetail::Tail::Next::kPartialAtEnd) {
        deadLetter(ev, rec.text, rec.line,
                   "the file ends inside this row (no line end): an incomplete cdr_csv record");
        continue;
      }
      emit(ev, rec);
    }
  } catch (const sdk::Error&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw sdk::Retry(std::string(kKind) + ": " + e.what());
  }
  out.cursor(cursor());
  if (dead_letters_) host().counter("dead_letters", dead_letters_);
  if (queue_bad_lines_) host().counter("queue_log_bad_lines", queue_bad_lines_);
  dead_letters_ = queue_bad_lines_ = 0;
  if (ended) return OL_END;
  return out.appended() > 0 ? OL_OK : OL_IDLE;
}

}  // namespace omniloop::asterisk
