#include "plugin/batch_codec.h"

#include <cstring>

namespace omniloop::plugin {

namespace {

// The two passes of WireWriter::event and ::field over one traversal: Measure adds up the
// bytes, Place writes them where they were made room for.
struct Measure {
  const WireWriter& w;
  size_t n = 0;
  void bytes(const void*, size_t k) { n += k; }
  void str(std::string_view s) { n += w.inOrigin(s) ? 8 : 4 + s.size(); }
};

struct Place {
  const WireWriter& w;
  char* p;
  void bytes(const void* v, size_t k) {
    std::memcpy(p, v, k);
    p += k;
  }
  void u32(uint32_t v) { bytes(&v, sizeof v); }
  void str(std::string_view s) {
    if (w.inOrigin(s)) {
      u32(static_cast<uint32_t>(s.size()) | WireWriter::kRef);
      u32(static_cast<uint32_t>(s.data() - w.origin().data()));
      return;
    }
    u32(static_cast<uint32_t>(s.size()));
    if (!s.empty()) bytes(s.data(), s.size());
  }
};

template <class Out, class T>
void put(Out& o, T v) {
  o.bytes(&v, sizeof v);
}

template <class Out>
void encodeField(Out& o, const event::Field& f) {
  o.str(f.path);
  put(o, static_cast<uint8_t>(f.value.type));
  switch (f.value.type) {
    case event::ValueType::Null:
      break;
    case event::ValueType::Bool:
      put(o, static_cast<uint8_t>(f.value.b ? 1 : 0));
      break;
    case event::ValueType::Int:
      put(o, f.value.i);
      break;
    case event::ValueType::Double:
      put(o, f.value.d);
      break;
    case event::ValueType::String:
    case event::ValueType::Json:
      o.str(f.value.s);
      break;
  }
}

template <class Out>
void encodeEvent(Out& o, const event::Event& e) {
  o.str(e.id);
  o.str(e.key);
  o.str(e.source);
  o.str(e.channel);
  o.str(e.type);
  put(o, e.occurred_at_us);
  put(o, static_cast<uint32_t>(e.identities.size()));
  for (const event::Identity& id : e.identities) {
    o.str(id.type);
    o.str(id.value);
  }
  put(o, static_cast<uint32_t>(e.consents.size()));
  for (const event::Consent& c : e.consents) {
    o.str(c.purpose);
    put(o, static_cast<uint8_t>(c.status));
  }
  put(o, static_cast<uint32_t>(e.fields.size()));
  for (const event::Field& f : e.fields) encodeField(o, f);
  put(o, e.path_bits);
  put(o, static_cast<uint8_t>(e.disposition));
  o.str(e.reason);
  o.str(e.raw);
  put(o, static_cast<uint32_t>(e.route));
}

}  // namespace

template <class Encode>
void WireWriter::measured(const Encode& encode) {
  Measure m{*this};
  encode(m);
  const size_t at = out_.size();
  out_.resize(at + m.n);
  Place place{*this, out_.data() + at};
  encode(place);
}

void WireWriter::event(const event::Event& e) {
  measured([&e](auto& out) { encodeEvent(out, e); });
}

void WireWriter::field(const event::Field& f) {
  measured([&f](auto& out) { encodeField(out, f); });
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
    out = keep(s, arena);
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

EventDelta::EventDelta() = default;

EventDelta::~EventDelta() {
  setChangeLog(nullptr);
}

void EventDelta::begin(const event::Batch& batch) {
  changes_.begin(batch);
  setChangeLog(&changes_);
}

void EventDelta::write(WireWriter& w, const event::Batch& batch) const {
  for (size_t i = 0; i < batch.size(); ++i) {
    const event::Event& e = batch[i];
    const ChangeLog::Change change =
        i < changes_.originalSize() ? changes_.change(i) : ChangeLog::Change::Whole;
    if (change == ChangeLog::Change::None) {
      w.u8(kUnchanged);
      continue;
    }
    const size_t original = change == ChangeLog::Change::Appended ? changes_.originalFields(i) : 0;
    if (change == ChangeLog::Change::Appended && e.fields.size() >= original) {
      if (e.fields.size() == original) {
        w.u8(kUnchanged);
        continue;
      }
      w.u8(kAppended);
      w.u64(e.path_bits);
      w.u32(static_cast<uint32_t>(e.fields.size() - original));
      for (size_t k = original; k < e.fields.size(); ++k) w.field(e.fields[k]);
      continue;
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
    out = keep(s, arena);
    return true;
  };
  if (!text(e.id) || !text(e.key) || !text(e.source) || !text(e.channel) || !text(e.type) ||
      !i64(e.occurred_at_us)) {
    return false;
  }
  // Counts are checked against what is left before the vectors are sized: an identity takes
  // at least 8 bytes, a consent and an attribute at least 5.
  uint32_t n = 0;
  if (!u32(n) || n > left() / 8) return ok_ = false;
  e.identities.resize(n);
  for (event::Identity& id : e.identities) {
    if (!text(id.type) || !text(id.value)) return false;
  }
  if (!u32(n) || n > left() / 5) return ok_ = false;
  e.consents.resize(n);
  for (event::Consent& c : e.consents) {
    uint8_t status = 0;
    if (!text(c.purpose) || !u8(status) || status > 2) return ok_ = false;
    c.status = static_cast<event::ConsentStatus>(status);
  }
  if (!u32(n) || n > left() / 5) return ok_ = false;
  e.fields.resize(n);
  for (event::Field& f : e.fields) {
    if (!field(f, arena)) return false;
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
