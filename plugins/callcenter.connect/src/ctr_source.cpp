#include "ctr_source.h"

#include <cmath>
#include <stdexcept>

#include "text.h"

namespace omniloop::connect {

namespace {

constexpr std::string_view kKind = "connect.ctr";

const sdk::JsonValue* member(const sdk::JsonValue* v, std::string_view key) {
  return v ? v->member(key) : nullptr;
}

std::string_view text(const sdk::JsonValue* v) {
  return v && v->isString() ? std::string_view(v->text()) : std::string_view();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool isE164(std::string_view s) {
  if (s.size() < 9 || s.size() > 16 || s[0] != '+' || s[1] == '0') return false;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

// A string member kept as it is; a timestamp member also as ISO UTC (seconds precision).
void copyString(sdk::EventBuilder& ev, const sdk::JsonValue* obj, std::string_view key,
                std::string_view path) {
  const std::string_view v = text(member(obj, key));
  if (!v.empty()) ev.str(path, v);
}

void copyTime(sdk::EventBuilder& ev, const sdk::JsonValue* obj, std::string_view key,
              std::string_view path) {
  const std::string_view v = text(member(obj, key));
  if (v.empty()) return;
  if (const auto t = filetail::parseIsoTimestamp(v)) {
    ev.str(path, filetail::formatIsoUtc(*t));
  } else {
    ev.str(path, v);
  }
}

void copyInt(sdk::EventBuilder& ev, const sdk::JsonValue* obj, std::string_view key,
             std::string_view path) {
  const sdk::JsonValue* v = member(obj, key);
  if (!v || !v->isNumber()) return;
  if (const auto i = v->asInt64()) {
    ev.i64(path, *i);
  } else {
    ev.i64(path, static_cast<int64_t>(std::llround(v->numberValue())));
  }
}

}  // namespace

bool splitConcatenated(std::string_view line, std::vector<std::string_view>* values) {
  values->clear();
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  size_t start = std::string_view::npos;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r') continue;
    if (start == std::string_view::npos) start = i;
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth < 0) break;
      if (depth == 0) {
        values->push_back(line.substr(start, i + 1 - start));
        start = std::string_view::npos;
      }
    } else if (depth == 0) {
      break;  // a bare scalar at the top level: not a CTR stream; read the line as one value
    }
  }
  if (depth != 0 || in_string || start != std::string_view::npos || values->empty()) {
    values->assign(1, line);
    return false;
  }
  return true;
}

CtrSource::CtrSource(const sdk::Config& config)
    : path_(config.str("path")),
      follow_(config.boolean("follow", false)),
      channel_(config.str("channel", "call_center")),
      tail_(path_, follow_, filetail::frameLine,
            static_cast<size_t>(config.integer("max_record_bytes", 4 << 20))) {
  tail_.onNotice([this](const std::string& m) { host().warn(std::string(kKind) + ": " + m); });
  try {
    tail_.open();
  } catch (const std::exception& e) {
    throw sdk::Error(std::string(kKind) + ": " + e.what() + " (check option 'path')");
  }
}

void CtrSource::resume(std::string_view cursor) {
  if (cursor.empty()) return;
  try {
    const std::string notice = tail_.resume(cursor);
    if (!notice.empty()) host().warn(std::string(kKind) + ": " + notice);
  } catch (const std::runtime_error& e) {
    throw sdk::Error(std::string(kKind) + ": " + e.what());
  }
}

void CtrSource::deadLetter(sdk::EventBuilder& ev, std::string_view raw, uint64_t line,
                           const std::string& why) {
  ++dead_letters_;
  ev.key("invalid:" + std::to_string(line) + ":" + filetail::hashHex(raw));
  ev.deadLetter(raw, path_ + ":" + std::to_string(line) + ": " + why);
}

void CtrSource::emitCtr(sdk::EventBuilder& ev, const sdk::JsonValue& ctr) {
  const std::string_view contact_id = text(ctr.member("ContactId"));
  const std::string_view channel = text(ctr.member("Channel"));
  const sdk::JsonValue* agent = ctr.member("Agent");
  const bool agent_connected = agent && agent->isObject();
  std::string type;
  if (channel == "VOICE" || channel.empty()) {
    type = agent_connected ? "call.answered" : "call.missed";
  } else {
    type = "contact." + lower(channel);  // contact.chat, contact.task, contact.email
  }
  ev.key(contact_id).type(type).channel(channel_);
  if (const auto t = filetail::parseIsoTimestamp(text(ctr.member("InitiationTimestamp")))) {
    ev.time(*t);
  }
  const sdk::JsonValue* customer = ctr.member("CustomerEndpoint");
  const std::string_view address = text(member(customer, "Address"));
  const std::string_view address_type = text(member(customer, "Type"));
  if (address_type == "TELEPHONE_NUMBER" && isE164(address)) ev.identity("phone", address);

  ev.str("contact.id", contact_id);
  copyString(ev, &ctr, "InitialContactId", "contact.initial_id");
  copyString(ev, &ctr, "PreviousContactId", "contact.previous_id");
  copyString(ev, &ctr, "NextContactId", "contact.next_id");
  if (!channel.empty()) ev.str("contact.channel", channel);
  copyString(ev, &ctr, "InitiationMethod", "contact.initiation_method");
  copyString(ev, &ctr, "DisconnectReason", "contact.disconnect_reason");
  copyTime(ev, &ctr, "InitiationTimestamp", "contact.initiated_at");
  copyTime(ev, &ctr, "ConnectedToSystemTimestamp", "contact.connected_to_system_at");
  copyTime(ev, &ctr, "DisconnectTimestamp", "contact.disconnected_at");
  copyTime(ev, &ctr, "LastUpdateTimestamp", "contact.last_updated_at");
  const auto start = filetail::parseIsoTimestamp(text(ctr.member("InitiationTimestamp")));
  const auto end = filetail::parseIsoTimestamp(text(ctr.member("DisconnectTimestamp")));
  if (start && end && *end >= *start) {
    ev.i64("contact.duration_seconds", (*end - *start) / 1000000);
  }
  copyInt(ev, &ctr, "AgentConnectionAttempts", "contact.agent_connection_attempts");
  if (!address.empty()) ev.str("customer.endpoint", address);
  if (!address_type.empty()) ev.str("customer.endpoint_type", address_type);
  const sdk::JsonValue* system = ctr.member("SystemEndpoint");
  copyString(ev, system, "Address", "contact.system_endpoint");

  if (const sdk::JsonValue* queue = ctr.member("Queue"); queue && queue->isObject()) {
    copyString(ev, queue, "Name", "queue.name");
    copyString(ev, queue, "ARN", "queue.arn");
    copyInt(ev, queue, "Duration", "queue.wait_seconds");
    copyTime(ev, queue, "EnqueueTimestamp", "queue.enqueued_at");
    copyTime(ev, queue, "DequeueTimestamp", "queue.dequeued_at");
  }
  if (agent_connected) {
    copyString(ev, agent, "Username", "agent.username");
    copyString(ev, agent, "ARN", "agent.arn");
    copyTime(ev, agent, "ConnectedToAgentTimestamp", "agent.connected_at");
    copyInt(ev, agent, "AgentInteractionDuration", "agent.interaction_seconds");
    copyInt(ev, agent, "CustomerHoldDuration", "agent.customer_hold_seconds");
    copyInt(ev, agent, "NumberOfHolds", "agent.number_of_holds");
    copyInt(ev, agent, "LongestHoldDuration", "agent.longest_hold_seconds");
    copyInt(ev, agent, "AfterContactWorkDuration", "agent.after_contact_work_seconds");
    copyString(ev, member(agent, "RoutingProfile"), "Name", "agent.routing_profile");
  }
  if (const sdk::JsonValue* attrs = ctr.member("Attributes"); attrs && attrs->isObject()) {
    for (const auto& [name, value] : attrs->members()) {
      if (name.empty() || name.find('.') != std::string::npos || name[0] == '$') continue;
      const std::string path = "attributes." + name;
      if (value.isString()) {
        ev.str(path, value.text());
      } else if (!value.isNull()) {
        std::string json;
        value.dump(json);
        ev.str(path, json);
      }
    }
  }
}

bool CtrSource::emitLine(sdk::BatchWriter& out, const filetail::Tail::Record& rec) {
  if (rec.oversize) {
    sdk::EventBuilder ev = out.append();
    if (!ev) return false;
    deadLetter(ev, rec.text.substr(0, 4096), rec.line,
               "a line longer than max_record_bytes; raise the option if CTRs are that large");
    return true;
  }
  if (!filetail::isValidUtf8(rec.text)) {
    sdk::EventBuilder ev = out.append();
    if (!ev) return false;
    deadLetter(ev, rec.text, rec.line, "the line is not valid UTF-8 (a CTR is UTF-8 JSON)");
    return true;
  }
  splitConcatenated(rec.text, &values_);
  if (values_.size() > out.remaining()) {
    if (out.appended() > 0) return false;  // the whole line goes into the next batch
    sdk::EventBuilder ev = out.append();   // it would never fit: one cursor per line
    if (!ev) return false;
    deadLetter(ev, rec.text, rec.line,
               std::to_string(values_.size()) +
                   " records on one line are more than a batch "
                   "holds; raise the pipeline's batch.size");
    return true;
  }
  for (size_t i = 0; i < values_.size(); ++i) {
    sdk::EventBuilder ev = out.append();
    if (!ev) {
      // Only when one line holds more CTRs than a whole batch: roll this line back.
      for (size_t k = 0; k < i; ++k) out.discardLast();
      return false;
    }
    const std::string where =
        values_.size() > 1 ? " (record " + std::to_string(i + 1) + " of the line)" : "";
    sdk::JsonValue ctr;
    try {
      ctr = sdk::JsonValue::parse(values_[i]);
    } catch (const std::exception& e) {
      deadLetter(ev, values_[i], rec.line, std::string("not JSON") + where + ": " + e.what());
      continue;
    }
    if (!ctr.isObject()) {
      deadLetter(ev, values_[i], rec.line, "a contact trace record must be a JSON object" + where);
      continue;
    }
    if (text(ctr.member("ContactId")).empty()) {
      deadLetter(ev, values_[i], rec.line,
                 "the record has no ContactId" + where + "; is this an Amazon Connect CTR export?");
      continue;
    }
    emitCtr(ev, ctr);
  }
  return true;
}

ol_status CtrSource::read(sdk::BatchWriter& out, size_t /*max_events*/) {
  bool ended = false;
  try {
    filetail::Tail::Record rec;
    while (!out.full()) {
      const auto st = tail_.next(&rec);
      if (st == filetail::Tail::Next::kIdle) break;
      if (st == filetail::Tail::Next::kEnd) {
        ended = true;
        break;
      }
      if (st == filetail::Tail::Next::kPartialAtEnd) {
        sdk::EventBuilder ev = out.append();
        if (!ev) {
          tail_.unread();
          break;
        }
        deadLetter(ev, rec.text, rec.line,
                   "the file ends inside this line (no line end): an incomplete record");
        continue;
      }
      if (rec.text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      if (!emitLine(out, rec)) {
        tail_.unread();
        break;
      }
    }
  } catch (const sdk::Error&) {
    throw;
  } catch (const std::runtime_error& e) {
    throw sdk::Retry(std::string(kKind) + ": " + e.what());
  }
  out.cursor(tail_.cursor());
  if (dead_letters_) host().counter("dead_letters", dead_letters_);
  dead_letters_ = 0;
  if (ended) return OL_END;
  return out.appended() > 0 ? OL_OK : OL_IDLE;
}

}  // namespace omniloop::connect
