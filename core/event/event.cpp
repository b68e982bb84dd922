#include "event/event.h"

#include <charconv>
#include <cstring>

#include "event/json.h"

namespace omniloop::event {

namespace {

constexpr std::string_view kIdentitiesPrefix = "$identities.";
constexpr std::string_view kConsentPrefix = "$consent.";

bool startsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// Child of `parent`: "parent.x...".
bool isChild(std::string_view path, std::string_view parent) {
  return path.size() > parent.size() && path[parent.size()] == '.' && startsWith(path, parent);
}

// 64-bit mixing hash (two seeds give the 128-bit event id). Deterministic across platforms.
uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

uint64_t hashBytes(std::string_view data, uint64_t seed) {
  uint64_t h = seed ^ (data.size() * 0x9e3779b97f4a7c15ULL);
  size_t i = 0;
  for (; i + 8 <= data.size(); i += 8) {
    uint64_t k;
    std::memcpy(&k, data.data() + i, 8);
    h = mix(h ^ mix(k + 0x9e3779b97f4a7c15ULL)) * 0x100000001b3ULL;
  }
  uint64_t tail = 0;
  for (size_t j = 0; i + j < data.size(); ++j) {
    tail |= uint64_t(static_cast<unsigned char>(data[i + j])) << (8 * j);
  }
  h = mix(h ^ mix(tail ^ 0x2545f4914f6cdd1dULL));
  return h;
}

void appendHex64(char* out, uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; --i) {
    out[i] = kHex[v & 0xf];
    v >>= 4;
  }
}

}  // namespace

std::string Value::toText() const {
  switch (type) {
    case ValueType::Null: return "";
    case ValueType::Bool: return b ? "true" : "false";
    case ValueType::Int: return std::to_string(i);
    case ValueType::Double: {
      char buf[32];
      auto r = std::to_chars(buf, buf + sizeof buf, d);
      return std::string(buf, r.ptr);
    }
    case ValueType::String:
    case ValueType::Json: return std::string(s);
  }
  return {};
}

bool Value::operator==(const Value& o) const {
  if (type != o.type) return false;
  switch (type) {
    case ValueType::Null: return true;
    case ValueType::Bool: return b == o.b;
    case ValueType::Int: return i == o.i;
    case ValueType::Double: return d == o.d;
    case ValueType::String:
    case ValueType::Json: return s == o.s;
  }
  return false;
}

std::string_view toString(ConsentStatus s) {
  switch (s) {
    case ConsentStatus::Granted: return "granted";
    case ConsentStatus::Denied: return "denied";
    case ConsentStatus::Unknown: break;
  }
  return "unknown";
}

ConsentStatus parseConsentStatus(std::string_view s) {
  if (s == "granted" || s == "true" || s == "yes" || s == "1") return ConsentStatus::Granted;
  if (s == "denied" || s == "false" || s == "no" || s == "0") return ConsentStatus::Denied;
  return ConsentStatus::Unknown;
}

void Event::clear() {
  id = key = source = channel = type = reason = raw = {};
  occurred_at_us = 0;
  identities.clear();
  consents.clear();
  fields.clear();
  path_bits = 0;
  disposition = Disposition::Keep;
  route = 0;
}

namespace {
// Size first, then the last byte (paths often share prefixes), then the rest.
inline bool samePath(std::string_view a, std::string_view b) {
  return a.size() == b.size() && (a.empty() || (a.back() == b.back() && std::memcmp(a.data(), b.data(), a.size()) == 0));
}
}  // namespace

const Value* Event::find(std::string_view path) const {
  for (const Field& f : fields) {
    if (samePath(f.path, path)) return &f.value;
  }
  return nullptr;
}

Value* Event::find(std::string_view path) {
  for (Field& f : fields) {
    if (samePath(f.path, path)) return &f.value;
  }
  return nullptr;
}

uint64_t Event::pathBit(std::string_view path) {
  // From the first segment only (equal paths, parents and children all share it): its length
  // and its first and last bytes. Cheap; a collision only costs a scan.
  const void* dot = std::memchr(path.data(), '.', path.size());
  const size_t len = dot ? static_cast<size_t>(static_cast<const char*>(dot) - path.data())
                         : path.size();
  if (len == 0) return 1;
  const uint64_t h = static_cast<unsigned char>(path[0]) * 0x9E3779B1u +
                     static_cast<unsigned char>(path[len - 1]) * 0x85EBCA77u + len * 0xC2B2AE3Du;
  return 1ULL << ((h >> 7) & 63);
}

void Event::set(std::string_view path, const Value& v) {
  const uint64_t bit = pathBit(path);
  if ((path_bits & bit) == 0) {  // no field shares the first segment: nothing to replace
    path_bits |= bit;
    fields.push_back(Field{path, v});
    return;
  }
  // One pass: replace an equal path; note whether the new value would shadow children ("a"
  // over "a.b") or ancestors ("a.b" over a scalar "a"), so the nested JSON form never has
  // duplicate keys.
  bool conflict = false;
  for (Field& f : fields) {
    if (samePath(f.path, path)) {
      f.value = v;
      return;
    }
    if (!conflict && (isChild(f.path, path) || isChild(path, f.path))) conflict = true;
  }
  if (conflict) {
    size_t out = 0;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (isChild(fields[i].path, path) || isChild(path, fields[i].path)) continue;
      fields[out++] = fields[i];
    }
    fields.resize(out);
  }
  fields.push_back(Field{path, v});
}

bool Event::remove(std::string_view path) {
  size_t before = fields.size();
  size_t out = 0;
  for (size_t i = 0; i < fields.size(); ++i) {
    const std::string_view p = fields[i].path;
    if (p == path || isChild(p, path)) continue;
    if (out != i) fields[out] = fields[i];
    ++out;
  }
  fields.resize(out);
  return out != before;
}

bool Event::hasPrefix(std::string_view path) const {
  for (const Field& f : fields) {
    if (f.path == path || isChild(f.path, path)) return true;
  }
  return false;
}

const Identity* Event::identity(std::string_view t) const {
  for (const Identity& id_ : identities) {
    if (id_.type == t) return &id_;
  }
  return nullptr;
}

void Event::setIdentity(std::string_view t, std::string_view v) {
  for (Identity& id_ : identities) {
    if (id_.type == t) {
      id_.value = v;
      return;
    }
  }
  identities.push_back(Identity{t, v});
}

bool Event::removeIdentity(std::string_view t) {
  for (size_t i = 0; i < identities.size(); ++i) {
    if (identities[i].type == t) {
      identities.erase(identities.begin() + static_cast<std::ptrdiff_t>(i));
      return true;
    }
  }
  return false;
}

ConsentStatus Event::consent(std::string_view purpose) const {
  for (const Consent& c : consents) {
    if (c.purpose == purpose) return c.status;
  }
  return ConsentStatus::Unknown;
}

void Event::setConsent(std::string_view purpose, ConsentStatus s) {
  for (Consent& c : consents) {
    if (c.purpose == purpose) {
      c.status = s;
      return;
    }
  }
  consents.push_back(Consent{purpose, s});
}

bool isEnvelopePath(std::string_view path) { return !path.empty() && path[0] == '$'; }

bool getPath(const Event& e, std::string_view path, Value& out) {
  if (!isEnvelopePath(path)) {
    const Value* v = e.find(path);
    if (!v) return false;
    out = *v;
    return true;
  }
  auto str = [&](std::string_view s) {
    if (s.empty()) return false;
    out = Value::string(s);
    return true;
  };
  if (path == "$id") return str(e.id);
  if (path == "$key") return str(e.key);
  if (path == "$source") return str(e.source);
  if (path == "$channel") return str(e.channel);
  if (path == "$type") return str(e.type);
  if (path == "$occurred_at") {
    if (e.occurred_at_us == 0) return false;
    out = Value::integer(e.occurred_at_us);
    return true;
  }
  if (startsWith(path, kIdentitiesPrefix)) {
    const Identity* id_ = e.identity(path.substr(kIdentitiesPrefix.size()));
    return id_ ? str(id_->value) : false;
  }
  if (startsWith(path, kConsentPrefix)) {
    std::string_view purpose = path.substr(kConsentPrefix.size());
    for (const Consent& c : e.consents) {
      if (c.purpose == purpose) {
        out = Value::string(toString(c.status));
        return true;
      }
    }
    return false;
  }
  return false;
}

bool setPath(Event& e, std::string_view path, const Value& v, Arena& arena, std::string* error) {
  if (!isEnvelopePath(path)) {
    e.set(path, v);
    return true;
  }
  // Envelope values are text; format non-strings into the arena.
  std::string_view text;
  if (v.type == ValueType::String || v.type == ValueType::Json) {
    text = v.s;
  } else if (path != "$occurred_at") {
    text = arena.copy(v.toText());
  }
  if (path == "$occurred_at") {
    if (v.type == ValueType::Int) {
      e.occurred_at_us = v.i;
      return true;
    }
    if (error) *error = "$occurred_at needs a time: parse it with a map `time` op";
    return false;
  }
  if (path == "$channel") { e.channel = text; return true; }
  if (path == "$type") { e.type = text; return true; }
  if (path == "$key") { e.key = text; return true; }
  if (path == "$source") { e.source = text; return true; }
  if (path == "$id") { e.id = text; return true; }
  if (startsWith(path, kIdentitiesPrefix) && path.size() > kIdentitiesPrefix.size()) {
    if (v.isNull() || text.empty()) {
      e.removeIdentity(path.substr(kIdentitiesPrefix.size()));
    } else {
      e.setIdentity(path.substr(kIdentitiesPrefix.size()), text);
    }
    return true;
  }
  if (startsWith(path, kConsentPrefix) && path.size() > kConsentPrefix.size()) {
    ConsentStatus s = v.type == ValueType::Bool
                          ? (v.b ? ConsentStatus::Granted : ConsentStatus::Denied)
                          : parseConsentStatus(text);
    e.setConsent(path.substr(kConsentPrefix.size()), s);
    return true;
  }
  if (error) *error = "unknown envelope path '" + std::string(path) + "'";
  return false;
}

bool removePath(Event& e, std::string_view path) {
  if (!isEnvelopePath(path)) return e.remove(path);
  if (startsWith(path, kIdentitiesPrefix)) {
    return e.removeIdentity(path.substr(kIdentitiesPrefix.size()));
  }
  if (startsWith(path, kConsentPrefix)) {
    std::string_view purpose = path.substr(kConsentPrefix.size());
    for (size_t i = 0; i < e.consents.size(); ++i) {
      if (e.consents[i].purpose == purpose) {
        e.consents.erase(e.consents.begin() + static_cast<std::ptrdiff_t>(i));
        return true;
      }
    }
    return false;
  }
  if (path == "$channel") { e.channel = {}; return true; }
  if (path == "$type") { e.type = {}; return true; }
  if (path == "$occurred_at") { e.occurred_at_us = 0; return true; }
  return false;
}

Event* Batch::append() {
  if (size_ >= capacity_) return nullptr;
  if (size_ == events_.size()) events_.emplace_back();
  Event& e = events_[size_++];
  e.clear();
  e.arena = &arena_;
  return &e;
}

void Batch::discardLast() {
  if (size_ > 0) --size_;
}

void Batch::count(std::string_view family, std::string_view label, uint64_t n) {
  for (Tally& t : tallies_) {
    if (t.family == family && t.label == label) {
      t.n += n;
      return;
    }
  }
  tallies_.push_back({arena_.copy(family), arena_.copy(label), n});
}

void Batch::reset() {
  size_ = 0;
  tallies_.clear();
  arena_.reset();
  cursor.clear();
  last = false;
  more_pending = false;
}

size_t Batch::countLive() const {
  size_t n = 0;
  for (const Event& e : *this) n += e.live() ? 1 : 0;
  return n;
}

std::string makeEventId(std::string_view source_id, std::string_view key) {
  // Hash "source \x1f key" so ("a","bc") and ("ab","c") differ.
  std::string material;
  material.reserve(source_id.size() + key.size() + 1);
  material.append(source_id).push_back('\x1f');
  material.append(key);
  std::string out(32, '0');
  appendHex64(out.data(), hashBytes(material, 0x6f6d6e696c6f6f70ULL));
  appendHex64(out.data() + 16, hashBytes(material, 0x0123456789abcdefULL));
  return out;
}

void assignId(Event& e, std::string_view source_id, Batch& batch) {
  e.source = source_id;
  if (!e.id.empty()) return;
  if (!e.key.empty()) {
    e.id = batch.intern(makeEventId(source_id, e.key));
    return;
  }
  // No natural key: the content decides (a replay of the same record gets the same id).
  thread_local std::string content;
  content.clear();
  appendEventJson(content, e);
  if (!e.raw.empty()) content.append(e.raw);
  e.id = batch.intern(makeEventId(source_id, content));
}

}  // namespace omniloop::event
