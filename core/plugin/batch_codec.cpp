#include "plugin/batch_codec.h"

#include <cstring>

namespace omniloop::plugin {

void WireWriter::event(const event::Event& e) {
  str(e.id);
  str(e.key);
  str(e.source);
  str(e.channel);
  str(e.type);
  i64(e.occurred_at_us);
  u32(static_cast<uint32_t>(e.identities.size()));
  for (const event::Identity& id : e.identities) {
    str(id.type);
    str(id.value);
  }
  u32(static_cast<uint32_t>(e.consents.size()));
  for (const event::Consent& c : e.consents) {
    str(c.purpose);
    u8(static_cast<uint8_t>(c.status));
  }
  u32(static_cast<uint32_t>(e.fields.size()));
  for (const event::Field& f : e.fields) field(f);
  u64(e.path_bits);
  u8(static_cast<uint8_t>(e.disposition));
  str(e.reason);
  str(e.raw);
  u32(e.route);
}

void WireWriter::field(const event::Field& f) {
  str(f.path);
  u8(static_cast<uint8_t>(f.value.type));
  switch (f.value.type) {
    case event::ValueType::Null:
      break;
    case event::ValueType::Bool:
      u8(f.value.b ? 1 : 0);
      break;
    case event::ValueType::Int:
      i64(f.value.i);
      break;
    case event::ValueType::Double:
      f64(f.value.d);
      break;
    case event::ValueType::String:
    case event::ValueType::Json:
      str(f.value.s);
      break;
  }
}

bool WireReader::str(std::string_view& s) {
  uint32_t n = 0;
  if (!u32(n)) return false;
  if (n & WireWriter::kRef) {
    n &= ~WireWriter::kRef;
    uint32_t offset = 0;
    if (!u32(offset)) return false;
    if (offset > origin_.size() || origin_.size() - offset < n) return ok_ = false;
    s = origin_.substr(offset, n);
    return true;
  }
  if (in_.size() - pos_ < n) {
    ok_ = false;
    return false;
  }
  s = in_.substr(pos_, n);
  pos_ += n;
  return true;
}

bool WireReader::field(event::Field& f, event::Arena* arena) {
  auto text = [&](std::string_view& out) {
    std::string_view s;
    if (!str(s)) return false;
    const bool in_origin = !origin_.empty() && !s.empty() && s.data() >= origin_.data() &&
                           s.data() + s.size() <= origin_.data() + origin_.size();
    out = (arena && !in_origin) ? arena->copy(s) : s;
    return true;
  };
  uint8_t type = 0;
  if (!text(f.path) || !u8(type) || type > static_cast<uint8_t>(event::ValueType::Json)) {
    return ok_ = false;
  }
  f.value = event::Value();
  f.value.type = static_cast<event::ValueType>(type);
  switch (f.value.type) {
    case event::ValueType::Null:
      return true;
    case event::ValueType::Bool: {
      uint8_t b = 0;
      if (!u8(b)) return false;
      f.value.b = b != 0;
      return true;
    }
    case event::ValueType::Int:
      return i64(f.value.i);
    case event::ValueType::Double:
      return f64(f.value.d);
    case event::ValueType::String:
    case event::ValueType::Json:
      return text(f.value.s);
  }
  return ok_ = false;
}

bool WireReader::delta(event::Event& e, event::Arena* arena) {
  uint8_t op = 0;
  if (!u8(op)) return false;
  if (op == EventDelta::kUnchanged) return true;
  if (op == EventDelta::kWhole) return event(e, arena);
  if (op != EventDelta::kAppended) return ok_ = false;
  uint64_t bits = 0;
  uint32_t n = 0;
  if (!u64(bits) || !u32(n) || n > in_.size()) return ok_ = false;
  for (uint32_t i = 0; i < n; ++i) {
    event::Field f;
    if (!field(f, arena)) return false;
    e.fields.push_back(f);
  }
  e.path_bits = bits;
  return true;
}

void EventDelta::snapshot(const event::Batch& batch) {
  envelopes_.clear();
  identities_.clear();
  consents_.clear();
  fields_.clear();
  for (const event::Event& e : batch) {
    envelopes_.push_back(Envelope{e.id, e.key, e.source, e.channel, e.type, e.reason, e.raw,
                                  e.occurred_at_us, e.disposition, e.route, identities_.size(),
                                  consents_.size(), fields_.size(), e.identities.size(),
                                  e.consents.size(), e.fields.size()});
    identities_.insert(identities_.end(), e.identities.begin(), e.identities.end());
    consents_.insert(consents_.end(), e.consents.begin(), e.consents.end());
    fields_.insert(fields_.end(), e.fields.begin(), e.fields.end());
  }
}

namespace {

// The same bytes at the same place: what a plugin did not touch.
bool same(std::string_view a, std::string_view b) {
  return a.data() == b.data() && a.size() == b.size();
}

bool sameField(const event::Field& a, const event::Field& b) {
  if (!same(a.path, b.path) || a.value.type != b.value.type) return false;
  switch (a.value.type) {
    case event::ValueType::Null:
      return true;
    case event::ValueType::Bool:
      return a.value.b == b.value.b;
    case event::ValueType::Int:
      return a.value.i == b.value.i;
    case event::ValueType::Double:
      return std::memcmp(&a.value.d, &b.value.d, sizeof a.value.d) == 0;
    case event::ValueType::String:
    case event::ValueType::Json:
      return same(a.value.s, b.value.s);
  }
  return false;
}

}  // namespace

void EventDelta::write(WireWriter& w, const event::Batch& batch) const {
  for (size_t i = 0; i < batch.size(); ++i) {
    const event::Event& e = batch[i];
    bool kept = i < envelopes_.size();
    if (kept) {
      const Envelope& o = envelopes_[i];
      kept = same(e.id, o.id) && same(e.key, o.key) && same(e.source, o.source) &&
             same(e.channel, o.channel) && same(e.type, o.type) && same(e.reason, o.reason) &&
             same(e.raw, o.raw) && e.occurred_at_us == o.occurred_at_us &&
             e.disposition == o.disposition && e.route == o.route &&
             e.identities.size() == o.n_identities && e.consents.size() == o.n_consents &&
             e.fields.size() >= o.n_fields;
      for (size_t k = 0; kept && k < o.n_identities; ++k) {
        kept = same(e.identities[k].type, identities_[o.identities + k].type) &&
               same(e.identities[k].value, identities_[o.identities + k].value);
      }
      for (size_t k = 0; kept && k < o.n_consents; ++k) {
        kept = same(e.consents[k].purpose, consents_[o.consents + k].purpose) &&
               e.consents[k].status == consents_[o.consents + k].status;
      }
      for (size_t k = 0; kept && k < o.n_fields; ++k) {
        kept = sameField(e.fields[k], fields_[o.fields + k]);
      }
      if (kept && e.fields.size() == o.n_fields) {
        w.u8(kUnchanged);
        continue;
      }
      if (kept) {
        w.u8(kAppended);
        w.u64(e.path_bits);
        w.u32(static_cast<uint32_t>(e.fields.size() - o.n_fields));
        for (size_t k = o.n_fields; k < e.fields.size(); ++k) w.field(e.fields[k]);
        continue;
      }
    }
    w.u8(kWhole);
    w.event(e);
  }
}

bool WireReader::event(event::Event& e, event::Arena* arena) {
  // Keeps the vectors' capacity; every string goes into the arena.
  event::Arena* owner = e.arena;
  e.clear();
  e.arena = owner;
  auto text = [&](std::string_view& out) {
    std::string_view s;
    if (!str(s)) return false;
    // A reference points into the origin, which lives as long as the event (see setOrigin).
    const bool in_origin = !origin_.empty() && !s.empty() && s.data() >= origin_.data() &&
                           s.data() + s.size() <= origin_.data() + origin_.size();
    out = (arena && !in_origin) ? arena->copy(s) : s;
    return true;
  };
  if (!text(e.id) || !text(e.key) || !text(e.source) || !text(e.channel) || !text(e.type) ||
      !i64(e.occurred_at_us)) {
    return false;
  }
  uint32_t n = 0;
  if (!u32(n) || n > in_.size()) return ok_ = false;
  for (uint32_t i = 0; i < n; ++i) {
    event::Identity id;
    if (!text(id.type) || !text(id.value)) return false;
    e.identities.push_back(id);
  }
  if (!u32(n) || n > in_.size()) return ok_ = false;
  for (uint32_t i = 0; i < n; ++i) {
    event::Consent c;
    uint8_t status = 0;
    if (!text(c.purpose) || !u8(status) || status > 2) return ok_ = false;
    c.status = static_cast<event::ConsentStatus>(status);
    e.consents.push_back(c);
  }
  if (!u32(n) || n > in_.size()) return ok_ = false;
  for (uint32_t i = 0; i < n; ++i) {
    event::Field f;
    if (!field(f, arena)) return false;
    e.fields.push_back(f);
  }
  uint8_t disposition = 0;
  uint32_t route = 0;
  if (!u64(e.path_bits) || !u8(disposition) ||
      disposition > static_cast<uint8_t>(event::Disposition::Elsewhere) || !text(e.reason) ||
      !text(e.raw) || !u32(route) || route > 0xffff) {
    return ok_ = false;
  }
  e.disposition = static_cast<event::Disposition>(disposition);
  e.route = static_cast<uint16_t>(route);
  return true;
}

bool WireReader::skipEvent() {
  std::string_view s;
  int64_t i = 0;
  uint32_t n = 0;
  uint8_t b = 0;
  for (int k = 0; k < 5; ++k) {
    if (!str(s)) return false;
  }
  if (!i64(i) || !u32(n)) return false;
  for (uint32_t k = 0; k < n; ++k) {
    if (!str(s) || !str(s)) return false;
  }
  if (!u32(n)) return false;
  for (uint32_t k = 0; k < n; ++k) {
    if (!str(s) || !u8(b) || b > 2) return ok_ = false;
  }
  if (!u32(n)) return false;
  for (uint32_t k = 0; k < n; ++k) {
    if (!str(s) || !u8(b)) return false;
    switch (static_cast<event::ValueType>(b)) {
      case event::ValueType::Null:
        break;
      case event::ValueType::Bool:
        if (!u8(b)) return false;
        break;
      case event::ValueType::Int:
      case event::ValueType::Double:
        if (!i64(i)) return false;
        break;
      case event::ValueType::String:
      case event::ValueType::Json:
        if (!str(s)) return false;
        break;
      default:
        return ok_ = false;
    }
  }
  uint64_t bits = 0;
  if (!u64(bits) || !u8(b) || b > static_cast<uint8_t>(event::Disposition::Elsewhere) || !str(s) ||
      !str(s) || !u32(n) || n > 0xffff) {
    return ok_ = false;
  }
  return true;
}

}  // namespace omniloop::plugin
