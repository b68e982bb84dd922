#pragma once
// Phone number validity with libphonenumber's own metadata and rules, matched with RE2.
//
// libphonenumber (as Debian builds it) matches its patterns with ICU regexps and builds a new
// ICU matcher per pattern per call: about 10 us to tell whether one number is valid, most of a
// first sight's cost on the mask and identify paths. This class reads the same metadata the
// library was built with (its compiled-in PhoneMetadataCollection), compiles each numbering
// plan's patterns once with RE2 (lazily, per calling code) and applies libphonenumber's
// IsValidNumber rules: the region of a shared calling code found by leading digits or by type,
// then the general description, then any number type, each gated by its possible lengths.
// A unit test compares it with PhoneNumberUtil::IsValidNumber over every region's example
// numbers and variants of them.
#include <cstdint>
#include <string_view>

namespace omniloop::privacy {

class PhoneValidity {
 public:
  // The process-wide instance (thread-safe; plans are compiled on first use).
  static const PhoneValidity& instance();

  // False when the metadata could not be read (then callers use libphonenumber itself).
  bool available() const { return available_; }

  // Whether +<country_code> <national> (digits only, no leading zero) is a valid number, as
  // PhoneNumberUtil::IsValidNumber decides. Only meaningful when available().
  bool isValid(int country_code, std::string_view national) const;

 private:
  PhoneValidity();
  bool available_ = false;
};

}  // namespace omniloop::privacy
