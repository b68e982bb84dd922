#pragma once
// IAB TCF v2.2 TC string decoder (Transparency & Consent Framework, "Consent string and vendor
// list formats v2"). Native and bounds-checked: every read checks the remaining bits first, so
// a truncated or malformed string is an error with a reason (never a crash or an over-read).
//
// Layout decoded: the core segment (with the vendor consent and vendor legitimate-interest
// sections in bitfield or range encoding, and the publisher restrictions) and the optional
// segments after '.': disclosed vendors (type 1), allowed vendors (type 2, deprecated) and
// publisher TC (type 3). Version 1 strings (a different layout) are refused.
//
// A TcString is meant to be reused: decode() clears and refills it, keeping the capacity of its
// vectors, so a stage decoding one string per event does not allocate once warmed up.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace omniloop::privacy::tcf {

// A set of vendor ids as the string encodes it (MaxVendorId, bitfield or range), held as a
// bitmap of MaxVendorId + 1 bits (at most 65536 bits = 8 KiB).
struct VendorSet {
  uint32_t max_vendor_id = 0;
  bool range = false;  // range encoding in the string
  std::vector<uint64_t> bits;

  bool has(uint32_t id) const {
    return id <= max_vendor_id && (id >> 6) < bits.size() && ((bits[id >> 6] >> (id & 63)) & 1U);
  }
  void clear();
  void ids(std::vector<uint32_t>& out) const;  // ascending
};

struct VendorRange {
  uint32_t first = 0, last = 0;  // inclusive; first == last for a single id
};

struct PubRestriction {
  uint8_t purpose_id = 0;
  uint8_t restriction_type = 0;      // 0 not allowed, 1 require consent, 2 require LI
  std::vector<VendorRange> vendors;  // as listed (duplicates kept)
};

struct Segment {
  uint8_t type = 0;   // 1 disclosed vendors, 2 allowed vendors (deprecated), 3 publisher TC
  VendorSet vendors;  // types 1 and 2
  // Type 3 (publisher TC): bit i-1 = purpose i.
  uint32_t pub_purposes_consent = 0;
  uint32_t pub_purposes_li = 0;
  uint8_t num_custom_purposes = 0;
  uint64_t custom_purposes_consent = 0;
  uint64_t custom_purposes_li = 0;
};

struct TcString {
  uint8_t version = 0;
  int64_t created_ds = 0;       // deciseconds since the epoch
  int64_t last_updated_ds = 0;  // deciseconds since the epoch
  uint16_t cmp_id = 0;
  uint16_t cmp_version = 0;
  uint8_t consent_screen = 0;
  char consent_language[3] = {0, 0, 0};
  uint16_t vendor_list_version = 0;
  uint8_t tcf_policy_version = 0;
  bool is_service_specific = false;
  bool use_non_standard_texts = false;
  uint16_t special_feature_opt_ins = 0;  // bit i-1 = special feature i (12 bits)
  uint32_t purposes_consent = 0;         // bit i-1 = purpose i (24 bits)
  uint32_t purposes_li = 0;              // bit i-1 = purpose i (24 bits)
  bool purpose_one_treatment = false;
  char publisher_cc[3] = {0, 0, 0};
  VendorSet vendor_consents;
  VendorSet vendor_li;
  std::vector<PubRestriction> pub_restrictions;  // the first pub_restriction_count are live
  size_t pub_restriction_count = 0;
  std::vector<Segment> segments;  // in string order
  size_t segment_count = 0;       // live entries of `segments` (the rest are kept for reuse)
  std::vector<uint8_t> scratch;   // decode()'s unpacked bits of the segment being read

  bool purposeConsent(unsigned id) const {
    return id >= 1 && id <= 24 && ((purposes_consent >> (id - 1)) & 1U);
  }
  bool purposeLi(unsigned id) const {
    return id >= 1 && id <= 24 && ((purposes_li >> (id - 1)) & 1U);
  }
};

// Decodes `text` into `out`. Returns false with a one-line reason in `error` (no "tcf:" prefix)
// when the string is not a decodable TCF v2 string: empty, not base64url, version other than
// 2, a section running past the end of its segment, an unknown segment type, a vendor id out of
// range. Base64 padding ('=') and the standard alphabet ('+', '/') are tolerated.
bool decode(std::string_view text, TcString& out, std::string& error);

// "2020-01-26T17:01:00.000Z" for deciseconds since the epoch.
std::string formatDeciseconds(int64_t ds);

// The decoded string as one JSON object: {"core": {...}, "segments": [...]}, with the key names
// of the IAB field list (Version, Created, PurposesConsent, VendorConsents{MaxVendorId,
// encoding, ids}, PubRestrictions, ...).
std::string toJson(const TcString& tc);

// A human-readable multi-line rendering (omniloop tcf decode without --json).
std::string toText(const TcString& tc);

}  // namespace omniloop::privacy::tcf
