#pragma once
// The event model. An Event is a view-heavy record: every string_view it holds points into its
// Batch's arena or into configuration that outlives the pipeline, so events are cheap to build
// and recycle (vectors keep their capacity across batches: no per-event heap churn).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "event/arena.h"

namespace omniloop::event {

enum class ValueType : uint8_t { Null = 0, Bool = 1, Int = 2, Double = 3, String = 4, Json = 5 };

struct Value {
  ValueType type = ValueType::Null;
  bool b = false;
  int64_t i = 0;
  double d = 0.0;
  std::string_view s;  // String and Json

  static Value null() { return {}; }
  static Value boolean(bool v) { Value x; x.type = ValueType::Bool; x.b = v; return x; }
  static Value integer(int64_t v) { Value x; x.type = ValueType::Int; x.i = v; return x; }
  static Value real(double v) { Value x; x.type = ValueType::Double; x.d = v; return x; }
  static Value string(std::string_view v) { Value x; x.type = ValueType::String; x.s = v; return x; }
  static Value json(std::string_view v) { Value x; x.type = ValueType::Json; x.s = v; return x; }

  bool isNull() const { return type == ValueType::Null; }
  // Text form used by comparisons, keys and casts ("true", "42", "3.5", the string itself).
  std::string toText() const;
  bool operator==(const Value& o) const;
};

struct Field {
  std::string_view path;  // dotted: "customer.email"
  Value value;
};

struct Identity {
  Identity() = default;
  Identity(std::string_view t, std::string_view v) : type(t), value(v) {}

  std::string_view type;   // "email", "phone", "crm_id", ...
  std::string_view value;  // clear or pseudonymised ("h1:<keyid>:<hex>")
  // `value` normalised for its type (privacy/normalize.h), set by the first component on the
  // event's path that normalised it (the cdp sink's phone_country_code), so the store's
  // identity keying (identity/keyer.h) does not normalise the same value again. It holds only
  // for the very `value` it was made from: a stage that replaces `value` makes it stale, and
  // normalizedValue() then answers "" (normalise again).
  std::string_view normalized;
  std::string_view normalized_of;

  void setNormalized(std::string_view n) {
    normalized = n;
    normalized_of = value;
  }
  std::string_view normalizedValue() const {
    return normalized_of.data() == value.data() && normalized_of.size() == value.size()
               ? normalized
               : std::string_view();
  }
};

enum class ConsentStatus : uint8_t { Unknown = 0, Granted = 1, Denied = 2 };
std::string_view toString(ConsentStatus s);
ConsentStatus parseConsentStatus(std::string_view s);  // unrecognised -> Unknown

struct Consent {
  std::string_view purpose;
  ConsentStatus status = ConsentStatus::Unknown;
};

// What happens to an event after the stages. Elsewhere marks an event routed to another sink
// while one sink is being written (see pipeline::Executor).
enum class Disposition : uint8_t { Keep = 0, Drop = 1, DeadLetter = 2, Elsewhere = 3 };

class Event {
 public:
  // Envelope. Reserved paths address it: $id $key $source $channel $type $occurred_at
  // $identities.<type> $consent.<purpose>.
  std::string_view id;      // deterministic: hash(source id, key), 32 hex chars
  std::string_view key;     // natural key in the source
  std::string_view source;  // pipeline source id
  std::string_view channel;
  std::string_view type;
  int64_t occurred_at_us = 0;  // UTC micros; 0 = unset
  std::vector<Identity> identities;
  std::vector<Consent> consents;
  std::vector<Field> fields;  // attributes, insertion-ordered
  // One bit per first path segment present in `fields` (a Bloom-style filter that lets set()
  // append a new top-level name without scanning). Code that writes Field::path directly must
  // call notePath() with the new path.
  uint64_t path_bits = 0;

  Disposition disposition = Disposition::Keep;
  std::string_view reason;  // why dropped / dead-lettered
  std::string_view raw;     // raw record bytes when a source could not parse it
  uint16_t route = 0;       // sink index chosen by a route stage (0 = default sink)
  Arena* arena = nullptr;   // the owning batch's arena (set by Batch::append) for interning

  void clear();

  // Attribute access by dotted path (no reserved paths).
  const Value* find(std::string_view path) const;
  Value* find(std::string_view path);
  void set(std::string_view path, const Value& v);  // replaces or appends
  bool remove(std::string_view path);               // also removes children "path.*"
  bool hasPrefix(std::string_view path) const;      // path or any child exists
  void notePath(std::string_view path) { path_bits |= pathBit(path); }
  static uint64_t pathBit(std::string_view path);

  const Identity* identity(std::string_view type) const;
  void setIdentity(std::string_view type, std::string_view value);
  bool removeIdentity(std::string_view type);
  ConsentStatus consent(std::string_view purpose) const;
  void setConsent(std::string_view purpose, ConsentStatus s);

  bool live() const { return disposition == Disposition::Keep; }
};

// Access through any path, reserved ones included. Values returned for envelope paths are
// strings (or Int for $occurred_at); `scratch` receives text that needs formatting.
bool getPath(const Event& e, std::string_view path, Value& out);
// Sets a path; envelope paths take the value's text form (interned into `arena` when needed).
// Returns false with `error` when the value cannot go there ($occurred_at needs an int or time).
bool setPath(Event& e, std::string_view path, const Value& v, Arena& arena, std::string* error);
bool removePath(Event& e, std::string_view path);
bool isEnvelopePath(std::string_view path);

class Batch {
 public:
  explicit Batch(size_t capacity = 1024) : capacity_(capacity) { events_.reserve(capacity); }
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool full() const { return size_ >= capacity_; }
  bool empty() const { return size_ == 0; }
  Event& operator[](size_t i) { return events_[i]; }
  const Event& operator[](size_t i) const { return events_[i]; }
  Event* begin() { return events_.data(); }
  Event* end() { return events_.data() + size_; }
  const Event* begin() const { return events_.data(); }
  const Event* end() const { return events_.data() + size_; }

  // Appends a cleared event (recycled storage); nullptr when full.
  Event* append();
  void discardLast();
  // Empties the batch for reuse, keeping capacity and the arena's first block.
  void reset();

  std::string_view intern(std::string_view s) { return arena_.copy(s); }
  Arena& arena() { return arena_; }

  // Source position after this batch's last event; committed with the batch.
  std::string cursor;
  uint64_t sequence = 0;  // batch number within a run
  bool last = false;      // the source reported end after this batch
  // The executor has more batches queued behind this one: a sink that commits the cursor may
  // keep this batch's transaction open and commit it with the next ones (group commit). The
  // executor calls Sink::flush() before it returns, so nothing stays uncommitted.
  bool more_pending = false;

  size_t countLive() const;

  // Per-batch tallies by (family, label): why events were dropped or identities rejected, e.g.
  // ("consent_denied", "marketing"), ("identity_rejected", "phone_invalid"). Stages and sinks
  // add to them while they work on the batch; the executor folds them into the pipeline's
  // counters once the batch is done (so a sink attempt that is retried is not counted twice:
  // the executor restores the tallies it had before the attempt). Few distinct keys per batch,
  // so a linear scan beats a map; family and label are interned in the batch's arena.
  struct Tally {
    std::string_view family;
    std::string_view label;
    uint64_t n = 0;
  };
  void count(std::string_view family, std::string_view label, uint64_t n = 1);
  const std::vector<Tally>& tallies() const { return tallies_; }
  void restoreTallies(const std::vector<Tally>& saved) { tallies_ = saved; }

 private:
  size_t capacity_;
  std::vector<Tally> tallies_;
  size_t size_ = 0;
  std::vector<Event> events_;
  Arena arena_;
};

// Deterministic event id: 32 lowercase hex chars from source id + natural key.
std::string makeEventId(std::string_view source_id, std::string_view key);
// Fills e.id (interned in the batch); uses a content hash when the source set no key.
void assignId(Event& e, std::string_view source_id, Batch& batch);

}  // namespace omniloop::event
