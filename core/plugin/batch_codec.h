#pragma once
// The wire form of a batch's events between the host and a plugin worker process
// (plugin/isolation.h). Native byte order (both ends run on the same machine): u32 counts and
// lengths, strings as u32 length + bytes. Decoding checks every bound: a worker whose plugin
// scribbled over its memory can send garbage, and the host must refuse it, never trust it.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "event/event.h"
#include "plugin/host_api.h"

namespace omniloop::plugin {

// Appends primitive values to a frame payload.
class WireWriter {
 public:
  explicit WireWriter(std::string& out) : out_(out) {}
  void u32(uint32_t v) { raw(&v, sizeof v); }
  void i32(int32_t v) { raw(&v, sizeof v); }
  void u64(uint64_t v) { raw(&v, sizeof v); }
  void i64(int64_t v) { raw(&v, sizeof v); }
  void f64(double v) { raw(&v, sizeof v); }
  void u8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void str(std::string_view s) {
    if (inOrigin(s)) {
      // Unchanged bytes of the request: sent back as a reference (offset) into it.
      u32(static_cast<uint32_t>(s.size()) | kRef);
      u32(static_cast<uint32_t>(s.data() - origin_.data()));
      return;
    }
    u32(static_cast<uint32_t>(s.size()));
    out_.append(s.data(), s.size());
  }
  // Strings lying inside `origin` (the request being answered) are written as references.
  void setOrigin(std::string_view origin) { origin_ = origin; }
  bool inOrigin(std::string_view s) const {
    return !origin_.empty() && !s.empty() && s.data() >= origin_.data() &&
           s.data() + s.size() <= origin_.data() + origin_.size();
  }
  std::string_view origin() const { return origin_; }
  static constexpr uint32_t kRef = 0x80000000u;
  // One event: envelope, identities, consents, attributes, disposition, reason, raw, route.
  // Measured first, then written in place in one go (a batch is ~25 strings per event: one
  // append each cost more than the encoding itself).
  void event(const event::Event& e);
  void field(const event::Field& f);

 private:
  void raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  // Runs `encode` twice: over a byte counter, then over the room made for that many bytes.
  template <class Encode>
  void measured(const Encode& encode);
  std::string& out_;
  std::string_view origin_;
};

// Reads what WireWriter wrote; every read fails (returns false, sticky) past the end.
class WireReader {
 public:
  explicit WireReader(std::string_view in) : in_(in) {}
  bool u32(uint32_t& v) { return raw(&v, sizeof v); }
  bool i32(int32_t& v) { return raw(&v, sizeof v); }
  bool u64(uint64_t& v) { return raw(&v, sizeof v); }
  bool i64(int64_t& v) { return raw(&v, sizeof v); }
  bool f64(double& v) { return raw(&v, sizeof v); }
  bool u8(uint8_t& v) { return raw(&v, sizeof v); }
  // A view into the input (valid as long as the input is), or for a reference a view into
  // the origin.
  bool str(std::string_view& s);
  // Where references point (the request this input answers); none: a reference is an error.
  // `outlives_events`: the origin lives as long as the events read with an arena, so strings
  // referring into it are not copied; otherwise they are copied into the arena like any other.
  void setOrigin(std::string_view origin, bool outlives_events = true) {
    origin_ = origin;
    origin_outlives_ = outlives_events;
  }
  // Replaces `e` with the next event; strings are copied into `arena` (see setOrigin), or with a
  // null arena left pointing into the input (which must then outlive the event).
  bool event(event::Event& e, event::Arena* arena);
  // Walks over one event without storing it (validates an answer before it is applied).
  bool skipEvent();
  bool field(event::Field& f, event::Arena* arena);
  // One event of an answer as EventDelta wrote it, applied to `e` (which holds the event as it
  // was sent). `e` may be a scratch event to validate the answer: then pass a null arena.
  bool delta(event::Event& e, event::Arena* arena);
  bool ok() const { return ok_; }
  bool atEnd() const { return ok_ && pos_ == in_.size(); }

 private:
  bool raw(void* p, size_t n) {
    if (!ok_ || in_.size() - pos_ < n) {
      ok_ = false;
      return false;
    }
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  size_t left() const { return in_.size() - pos_; }
  // A string read with an arena: copied into it unless it lies in an origin that outlives it.
  std::string_view keep(std::string_view s, event::Arena* arena) const {
    if (!arena) return s;
    const bool in_origin = origin_outlives_ && !origin_.empty() && !s.empty() &&
                           s.data() >= origin_.data() &&
                           s.data() + s.size() <= origin_.data() + origin_.size();
    return in_origin ? s : arena->copy(s);
  }
  std::string_view in_;
  std::string_view origin_;
  bool origin_outlives_ = true;
  size_t pos_ = 0;
  bool ok_ = true;
};

// The worker's side of an answer: writes, per event, only what the plugin changed (as its
// host API calls reported it to the ChangeLog): kUnchanged, kAppended (new attributes at the
// end: the common case of a stage that adds fields) or kWhole (the event in full).
class EventDelta {
 public:
  enum Op : uint8_t { kUnchanged = 0, kAppended = 1, kWhole = 2 };
  EventDelta();
  ~EventDelta();
  EventDelta(const EventDelta&) = delete;
  EventDelta& operator=(const EventDelta&) = delete;
  // Call once the request's events are decoded, before the plugin runs: from here until
  // write(), the host API reports every change to this batch here.
  void begin(const event::Batch& batch);
  void write(WireWriter& w, const event::Batch& batch) const;

 private:
  ChangeLog changes_;
};

}  // namespace omniloop::plugin
