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
    if (!origin_.empty() && !s.empty() && s.data() >= origin_.data() &&
        s.data() + s.size() <= origin_.data() + origin_.size()) {
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
  static constexpr uint32_t kRef = 0x80000000u;
  // One event: envelope, identities, consents, attributes, disposition, reason, raw, route.
  void event(const event::Event& e);

 private:
  void raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
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
  void setOrigin(std::string_view origin) { origin_ = origin; }
  // Replaces `e` with the next event; strings are copied into `arena`, or with a null arena
  // left pointing into the input (which must then outlive the event).
  bool event(event::Event& e, event::Arena* arena);
  // Walks over one event without storing it (validates an answer before it is applied).
  bool skipEvent();
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
  std::string_view in_;
  std::string_view origin_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace omniloop::plugin
