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
  for (const event::Field& f : e.fields) {
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
  u64(e.path_bits);
  u8(static_cast<uint8_t>(e.disposition));
  str(e.reason);
  str(e.raw);
  u32(e.route);
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
    uint8_t type = 0;
    if (!text(f.path) || !u8(type) || type > static_cast<uint8_t>(event::ValueType::Json)) {
      return ok_ = false;
    }
    f.value.type = static_cast<event::ValueType>(type);
    switch (f.value.type) {
      case event::ValueType::Null:
        break;
      case event::ValueType::Bool: {
        uint8_t b = 0;
        if (!u8(b)) return false;
        f.value.b = b != 0;
        break;
      }
      case event::ValueType::Int:
        if (!i64(f.value.i)) return false;
        break;
      case event::ValueType::Double:
        if (!f64(f.value.d)) return false;
        break;
      case event::ValueType::String:
      case event::ValueType::Json:
        if (!text(f.value.s)) return false;
        break;
    }
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
  if (!u64(bits) || !u8(b) || b > static_cast<uint8_t>(event::Disposition::Elsewhere) ||
      !str(s) || !str(s) || !u32(n) || n > 0xffff) {
    return ok_ = false;
  }
  return true;
}

}  // namespace omniloop::plugin
