#include "plugin/host_api.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <spdlog/spdlog.h>

#include "event/event.h"
#include "event/json.h"

namespace omniloop::plugin {

namespace {

static_assert(static_cast<int>(event::ValueType::Null) == OL_NULL &&
                  static_cast<int>(event::ValueType::Bool) == OL_BOOL &&
                  static_cast<int>(event::ValueType::Int) == OL_INT &&
                  static_cast<int>(event::ValueType::Double) == OL_DOUBLE &&
                  static_cast<int>(event::ValueType::String) == OL_STRING &&
                  static_cast<int>(event::ValueType::Json) == OL_JSON,
              "event::ValueType must mirror ol_value_type");

constexpr size_t kMaxLogLine = 4096;

thread_local size_t tl_append_limit = std::numeric_limits<size_t>::max();

ChangeLog* g_changes = nullptr;  // setChangeLog()

event::Batch* asBatch(ol_batch* b) {
  return reinterpret_cast<event::Batch*>(b);
}
const event::Batch* asBatch(const ol_batch* b) {
  return reinterpret_cast<const event::Batch*>(b);
}
event::Event* asEvent(ol_event* e) {
  return reinterpret_cast<event::Event*>(e);
}
const event::Event* asEvent(const ol_event* e) {
  return reinterpret_cast<const event::Event*>(e);
}
ol_event* toHandle(event::Event* e) {
  return reinterpret_cast<ol_event*>(e);
}

// (pointer, length) from a plugin; a NULL pointer is the empty string.
std::string_view view(const char* p, size_t n) {
  return p ? std::string_view(p, n) : std::string_view();
}

// Copies plugin bytes into the event's batch arena (they only live for the call).
std::string_view intern(event::Event& e, std::string_view s) {
  return e.arena ? e.arena->copy(s) : std::string_view();
}

void fillValue(const event::Value& v, ol_value* out) {
  std::memset(out, 0, sizeof *out);
  out->type = static_cast<uint32_t>(v.type);
  switch (v.type) {
    case event::ValueType::Null:
      break;
    case event::ValueType::Bool:
      out->bool_value = v.b ? 1 : 0;
      break;
    case event::ValueType::Int:
      out->int_value = v.i;
      break;
    case event::ValueType::Double:
      out->double_value = v.d;
      break;
    case event::ValueType::String:
    case event::ValueType::Json:
      out->str = v.s.data();
      out->str_len = v.s.size();
      break;
  }
}

// Sets an attribute, or an envelope path when it starts with '$'. Strings in `v` must
// already live in the arena.
void setValue(ol_event* handle, const char* path, size_t path_len, const event::Value& v) {
  if (!handle) return;
  event::Event& e = *asEvent(handle);
  const std::string_view p = view(path, path_len);
  if (p.empty()) return;
  if (event::isEnvelopePath(p)) {
    if (!e.arena) return;
    if (g_changes) g_changes->noteWhole(e);
    // Identity types and consent purposes are slices of the path: keep a copy.
    event::setPath(e, intern(e, p), v, *e.arena, nullptr);
    return;
  }
  event::Value* existing = e.find(p);
  if (g_changes) g_changes->noteSet(e, existing);
  if (existing) {
    *existing = v;  // the stored path is already interned
    return;
  }
  e.set(intern(e, p), v);
}

// ---- the table's functions ----

void hostLog(void* ctx, int level, const char* msg, size_t len) {
  if (ctx) static_cast<const HostContext*>(ctx)->log(level, view(msg, len));
}

void hostCounterAdd(void* ctx, const char* name, size_t len, int64_t delta) {
  if (ctx) static_cast<HostContext*>(ctx)->addCounter(view(name, len), delta);
}

size_t batchSize(const ol_batch* b) {
  return b ? asBatch(b)->size() : 0;
}

ol_event* batchEvent(ol_batch* b, size_t i) {
  if (!b || i >= asBatch(b)->size()) return nullptr;
  return toHandle(&(*asBatch(b))[i]);
}

void batchSetCursor(ol_batch* b, const char* cursor, size_t len) {
  if (b) asBatch(b)->cursor.assign(view(cursor, len));
}

ol_event* eventAppend(ol_batch* b) {
  if (!b || asBatch(b)->size() >= tl_append_limit) return nullptr;
  if (g_changes) g_changes->noteWhole(asBatch(b)->size());  // may take a discarded one's place
  return toHandle(asBatch(b)->append());
}

void eventDiscardLast(ol_batch* b) {
  if (!b || asBatch(b)->size() == 0) return;
  if (g_changes) g_changes->noteWhole(asBatch(b)->size() - 1);
  asBatch(b)->discardLast();
}

// Every change to an event other than a new attribute (setValue) goes through here first.
event::Event* changing(ol_event* e) {
  if (e && g_changes) g_changes->noteWhole(*asEvent(e));
  return e ? asEvent(e) : nullptr;
}

void eventSetKey(ol_event* e, const char* s, size_t n) {
  if (event::Event* ev = changing(e)) ev->key = intern(*ev, view(s, n));
}
void eventSetType(ol_event* e, const char* s, size_t n) {
  if (event::Event* ev = changing(e)) ev->type = intern(*ev, view(s, n));
}
void eventSetChannel(ol_event* e, const char* s, size_t n) {
  if (event::Event* ev = changing(e)) ev->channel = intern(*ev, view(s, n));
}
void eventSetTime(ol_event* e, int64_t micros) {
  if (event::Event* ev = changing(e)) ev->occurred_at_us = micros;
}

void eventAddIdentity(ol_event* e, const char* t, size_t tn, const char* v, size_t vn) {
  if (!e || tn == 0 || !t) return;
  event::Event& ev = *changing(e);
  const std::string_view type = view(t, tn);
  const event::Identity* existing = ev.identity(type);
  ev.setIdentity(existing ? existing->type : intern(ev, type), intern(ev, view(v, vn)));
}

void eventSetConsent(ol_event* e, const char* p, size_t pn, const char* s, size_t sn) {
  if (!e || pn == 0 || !p) return;
  event::Event& ev = *changing(e);
  const std::string_view purpose = view(p, pn);
  const event::ConsentStatus status = event::parseConsentStatus(view(s, sn));
  for (event::Consent& c : ev.consents) {
    if (c.purpose == purpose) {
      c.status = status;
      return;
    }
  }
  ev.setConsent(intern(ev, purpose), status);
}

void eventSetString(ol_event* e, const char* p, size_t pn, const char* v, size_t vn) {
  if (!e) return;
  setValue(e, p, pn, event::Value::string(intern(*asEvent(e), view(v, vn))));
}
void eventSetInt(ol_event* e, const char* p, size_t pn, int64_t v) {
  setValue(e, p, pn, event::Value::integer(v));
}
void eventSetDouble(ol_event* e, const char* p, size_t pn, double v) {
  setValue(e, p, pn, event::Value::real(v));
}
void eventSetBool(ol_event* e, const char* p, size_t pn, int v) {
  setValue(e, p, pn, event::Value::boolean(v != 0));
}
void eventSetNull(ol_event* e, const char* p, size_t pn) {
  setValue(e, p, pn, event::Value::null());
}
void eventSetJson(ol_event* e, const char* p, size_t pn, const char* j, size_t jn) {
  if (!e) return;
  setValue(e, p, pn, event::Value::json(intern(*asEvent(e), view(j, jn))));
}

void eventDeadLetter(ol_event* e, const char* raw, size_t rn, const char* reason, size_t ren) {
  if (!e) return;
  event::Event& ev = *changing(e);
  ev.raw = intern(ev, view(raw, rn));
  ev.reason = intern(ev, view(reason, ren));
  ev.disposition = event::Disposition::DeadLetter;
}

int eventGet(const ol_event* e, const char* p, size_t pn, ol_value* out) {
  if (!e || !out) return 0;
  event::Value v;
  if (!event::getPath(*asEvent(e), view(p, pn), v)) return 0;
  fillValue(v, out);
  return 1;
}

size_t eventFieldCount(const ol_event* e) {
  return e ? asEvent(e)->fields.size() : 0;
}

int eventFieldAt(const ol_event* e, size_t i, ol_field* out) {
  if (!e || !out || i >= asEvent(e)->fields.size()) return 0;
  const event::Field& f = asEvent(e)->fields[i];
  out->path = f.path.data();
  out->path_len = f.path.size();
  fillValue(f.value, &out->value);
  return 1;
}

void eventRemove(ol_event* e, const char* p, size_t pn) {
  if (event::Event* ev = changing(e)) event::removePath(*ev, view(p, pn));
}

int eventDisposition(const ol_event* e) {
  if (!e) return OL_DROP;
  switch (asEvent(e)->disposition) {
    case event::Disposition::Keep:
      return OL_KEEP;
    case event::Disposition::DeadLetter:
      return OL_DEAD_LETTER;
    case event::Disposition::Drop:
    case event::Disposition::Elsewhere:
      break;  // routed to another sink: not ours to write
  }
  return OL_DROP;
}

void eventSetDisposition(ol_event* e, int d, const char* reason, size_t rn) {
  if (!e) return;
  event::Event& ev = *changing(e);
  // An event routed to another sink stays there: a plugin cannot pull it back.
  if (ev.disposition == event::Disposition::Elsewhere) return;
  switch (d) {
    case OL_KEEP:
      ev.disposition = event::Disposition::Keep;
      ev.reason = {};
      return;
    case OL_DROP:
      ev.disposition = event::Disposition::Drop;
      break;
    case OL_DEAD_LETTER:
      ev.disposition = event::Disposition::DeadLetter;
      break;
    default:
      return;  // unknown value: ignore rather than guess
  }
  ev.reason = intern(ev, view(reason, rn));
}

size_t eventToJson(const ol_event* e, char* buf, size_t cap) {
  if (!e) return 0;
  thread_local std::string json;
  json.clear();
  event::appendEventJson(json, *asEvent(e));
  if (buf && cap) std::memcpy(buf, json.data(), std::min(cap, json.size()));
  return json.size();
}

const ol_host_api kHostApi = [] {
  ol_host_api api{};
  api.size = sizeof(ol_host_api);
  api.abi_major = OMNILOOP_ABI_MAJOR;
  api.abi_minor = OMNILOOP_ABI_MINOR;
  api.log = &hostLog;
  api.counter_add = &hostCounterAdd;
  api.batch_size = &batchSize;
  api.batch_event = &batchEvent;
  api.batch_set_cursor = &batchSetCursor;
  api.event_append = &eventAppend;
  api.event_discard_last = &eventDiscardLast;
  api.event_set_key = &eventSetKey;
  api.event_set_type = &eventSetType;
  api.event_set_channel = &eventSetChannel;
  api.event_set_time = &eventSetTime;
  api.event_add_identity = &eventAddIdentity;
  api.event_set_consent = &eventSetConsent;
  api.event_set_string = &eventSetString;
  api.event_set_int = &eventSetInt;
  api.event_set_double = &eventSetDouble;
  api.event_set_bool = &eventSetBool;
  api.event_set_null = &eventSetNull;
  api.event_set_json = &eventSetJson;
  api.event_dead_letter = &eventDeadLetter;
  api.event_get = &eventGet;
  api.event_field_count = &eventFieldCount;
  api.event_field_at = &eventFieldAt;
  api.event_remove = &eventRemove;
  api.event_disposition = &eventDisposition;
  api.event_set_disposition = &eventSetDisposition;
  api.event_to_json = &eventToJson;
  return api;
}();

spdlog::level::level_enum toSpdlog(int level) {
  switch (level) {
    case OL_LOG_TRACE:
      return spdlog::level::trace;
    case OL_LOG_DEBUG:
      return spdlog::level::debug;
    case OL_LOG_INFO:
      return spdlog::level::info;
    case OL_LOG_WARN:
      return spdlog::level::warn;
    default:
      return spdlog::level::err;
  }
}

}  // namespace

HostContext::HostContext(InstanceContext ctx, std::string component_type)
    : ctx_(std::move(ctx)), type_(std::move(component_type)) {
  prefix_ = ctx_.pipeline.empty() ? std::string("-") : ctx_.pipeline;
  prefix_ += '/';
  prefix_ += ctx_.component.empty() ? type_ : ctx_.component;
  if (!ctx_.component.empty() && ctx_.component != type_) prefix_ += " (" + type_ + ")";
}

void HostContext::log(int level, std::string_view msg) const {
  if (msg.size() > kMaxLogLine) msg = msg.substr(0, kMaxLogLine);
  spdlog::log(toSpdlog(level), "[{}] {}", prefix_, msg);
}

void HostContext::addCounter(std::string_view name, int64_t delta) {
  if (name.empty()) return;
  auto it = counters_.find(name);
  if (it == counters_.end()) it = counters_.emplace(std::string(name), 0).first;
  it->second += delta;
  if (ctx_.on_counter) ctx_.on_counter(name, delta);
}

int64_t HostContext::counter(std::string_view name) const {
  auto it = counters_.find(name);
  return it == counters_.end() ? 0 : it->second;
}

void ChangeLog::begin(const event::Batch& batch) {
  base_ = batch.begin();
  slots_.assign(batch.size(), Slot{});
}

ChangeLog::Slot* ChangeLog::slot(const event::Event& e) {
  if (!base_ || &e < base_ || &e >= base_ + slots_.size()) return nullptr;  // a new event
  return &slots_[static_cast<size_t>(&e - base_)];
}

void ChangeLog::noteSet(const event::Event& e, const event::Value* existing) {
  Slot* s = slot(e);
  if (!s) return;
  if (s->change == Change::None) {
    s->fields = static_cast<uint32_t>(e.fields.size());
    s->change = Change::Appended;
  }
  if (existing && s->change == Change::Appended) {
    // Overwriting an attribute the plugin appended in this call keeps the event "appended";
    // overwriting an original one does not.
    size_t k = 0;
    while (k < e.fields.size() && &e.fields[k].value != existing) ++k;
    if (k < s->fields) s->change = Change::Whole;
  }
}

void ChangeLog::noteWhole(const event::Event& e) {
  if (Slot* s = slot(e)) s->change = Change::Whole;
}

void ChangeLog::noteWhole(size_t index) {
  if (index < slots_.size()) slots_[index].change = Change::Whole;
}

void setChangeLog(ChangeLog* log) {
  g_changes = log;
}

const ol_host_api* hostApi() {
  return &kHostApi;
}

AppendLimitScope::AppendLimitScope(size_t limit) : saved_(tl_append_limit) {
  tl_append_limit = limit;
}
AppendLimitScope::~AppendLimitScope() {
  tl_append_limit = saved_;
}

}  // namespace omniloop::plugin
