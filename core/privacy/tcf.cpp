#include "privacy/tcf.h"

#include <algorithm>
#include <cstring>
#include <ctime>

namespace omniloop::privacy::tcf {

namespace {

// base64url (and standard base64) character -> 6-bit value; 0xFF for anything else.
struct Alphabet {
  uint8_t v[256];
  constexpr Alphabet() : v() {
    for (auto& x : v) x = 0xFF;
    for (int i = 0; i < 26; ++i) {
      v['A' + i] = static_cast<uint8_t>(i);
      v['a' + i] = static_cast<uint8_t>(26 + i);
    }
    for (int i = 0; i < 10; ++i) v['0' + i] = static_cast<uint8_t>(52 + i);
    v[static_cast<unsigned char>('-')] = 62;
    v[static_cast<unsigned char>('_')] = 63;
    v[static_cast<unsigned char>('+')] = 62;
    v[static_cast<unsigned char>('/')] = 63;
  }
};
constexpr Alphabet kAlphabet;

// Reads bits, most significant first, from one segment. The constructor unpacks the segment's
// base64url characters into bytes once (noting whether each was base64), so a read is one unaligned
// 64-bit load and two shifts instead of a loop over 6-bit characters (decoding a TC string per
// event is on the consent stage's hot path). Every read checks the remaining length.
class BitReader {
 public:
  BitReader(std::string_view chars, std::vector<uint8_t>& bytes) : size_(chars.size() * 6) {
    bytes.resize(size_ / 8 + 1 + 8);  // the last partial byte, then zeros for the 64-bit loads
    uint8_t* out = bytes.data();      // a local pointer: stores through uint8_t* alias everything
    uint32_t seen = 0;                // OR of every character's value: 0xFF marks a non-base64 one
    const auto value = [&](size_t i) -> uint32_t {
      const uint32_t v = kAlphabet.v[static_cast<unsigned char>(chars[i])];
      seen |= v;
      return v & 63U;
    };
    size_t o = 0;
    size_t i = 0;
    for (; i + 4 <= chars.size(); i += 4) {  // 4 characters are 3 bytes
      const uint32_t word = value(i) << 18 | value(i + 1) << 12 | value(i + 2) << 6 | value(i + 3);
      out[o] = static_cast<uint8_t>(word >> 16);
      out[o + 1] = static_cast<uint8_t>(word >> 8);
      out[o + 2] = static_cast<uint8_t>(word);
      o += 3;
    }
    uint32_t acc = 0;
    unsigned have = 0;
    for (; i < chars.size(); ++i) {
      acc = (acc << 6) | value(i);
      have += 6;
      if (have >= 8) {
        have -= 8;
        out[o++] = static_cast<uint8_t>(acc >> have);
        acc &= (1U << have) - 1U;
      }
    }
    if (have > 0) out[o++] = static_cast<uint8_t>(acc << (8 - have));
    std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(o), bytes.end(), 0);
    data_ = out;
    base64_ = (seen & 0x80U) == 0;
  }

  // False when a character was not base64url (the caller finds which, for the message).
  bool base64() const { return base64_; }
  size_t position() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  [[gnu::always_inline]] bool read(unsigned n, uint64_t& out, std::string& error,
                                   const char* what) {
    if (n > remaining()) [[unlikely]] {
      return truncated(n, error, what);
    }
    if (n > 56) {  // one load covers at most 56 bits past any bit offset
      const uint64_t high = take(n - 32);
      out = (high << 32) | take(32);
    } else {
      out = take(n);
    }
    return true;
  }

 private:
  [[gnu::noinline, gnu::cold]] bool truncated(unsigned n, std::string& error,
                                              const char* what) const {
    error = std::string(what) + ": truncated: need " + std::to_string(n) + " bits at " +
            std::to_string(pos_) + ", have " + std::to_string(remaining());
    return false;
  }

  uint64_t take(unsigned n) {  // n <= 56, checked by read()
    if (n == 0) return 0;
    uint64_t word = 0;
    std::memcpy(&word, data_ + (pos_ >> 3), sizeof word);
    word = __builtin_bswap64(word) << (pos_ & 7);
    pos_ += n;
    return word >> (64 - n);
  }

  const uint8_t* data_ = nullptr;
  size_t size_;
  bool base64_ = true;
  size_t pos_ = 0;
};

template <typename T>
bool readInto(BitReader& r, unsigned n, T& out, std::string& error, const char* what) {
  uint64_t v = 0;
  if (!r.read(n, v, error, what)) return false;
  out = static_cast<T>(v);
  return true;
}

uint32_t reverse32(uint32_t v) {
  v = ((v >> 1) & 0x55555555U) | ((v & 0x55555555U) << 1);
  v = ((v >> 2) & 0x33333333U) | ((v & 0x33333333U) << 2);
  v = ((v >> 4) & 0x0F0F0F0FU) | ((v & 0x0F0F0F0FU) << 4);
  return __builtin_bswap32(v);
}

// Ids first..last (inclusive, within the set's bitmap) a word at a time: a range entry can
// span all 65535 vendor ids.
void setBits(VendorSet& s, uint32_t first, uint32_t last) {
  while (first <= last) {
    const uint32_t word = first >> 6;
    const unsigned lo = first & 63;
    const unsigned hi = (last >> 6) == word ? (last & 63) : 63;
    const uint64_t mask =
        (hi - lo == 63) ? ~uint64_t{0} : ((uint64_t{1} << (hi - lo + 1)) - 1) << lo;
    s.bits[word] |= mask;
    if (hi != 63) break;
    first = (word + 1) << 6;
  }
}

// MaxVendorId, IsRangeEncoding, then a bitfield or NumEntries and range entries.
bool readVendorSet(BitReader& r, VendorSet& s, std::string& error, const char* what) {
  s.clear();
  uint64_t max = 0, is_range = 0;
  if (!r.read(16, max, error, what) || !r.read(1, is_range, error, what)) return false;
  s.max_vendor_id = static_cast<uint32_t>(max);
  s.range = is_range != 0;
  s.bits.assign((s.max_vendor_id >> 6) + 1, 0);
  if (!s.range) {
    if (max > r.remaining()) {
      error = std::string(what) + ": bitfield overrun: need " + std::to_string(max) + " bits at " +
              std::to_string(r.position()) + ", have " + std::to_string(r.remaining());
      return false;
    }
    // 32 bits at a time (bit i of the field is vendor i + 1, most significant first).
    for (uint32_t id = 1; id <= s.max_vendor_id;) {
      const unsigned take = std::min<uint32_t>(32, s.max_vendor_id - id + 1);
      uint64_t v = 0;
      if (!r.read(take, v, error, what)) return false;
      // The first bit read is vendor `id`: reversed, bit k is vendor id + k, and the chunk is
      // OR-ed into the bitmap at bit `id` (spilling into the next word).
      const uint64_t ids = reverse32(static_cast<uint32_t>(v)) >> (32 - take);
      const unsigned shift = id & 63;
      s.bits[id >> 6] |= ids << shift;
      if (shift + take > 64) s.bits[(id >> 6) + 1] |= ids >> (64 - shift);
      id += take;
    }
    return true;
  }
  uint64_t entries = 0;
  if (!r.read(12, entries, error, what)) return false;
  for (uint64_t i = 0; i < entries; ++i) {
    uint64_t is_a_range = 0, first = 0, last = 0;
    if (!r.read(1, is_a_range, error, what) || !r.read(16, first, error, what)) return false;
    last = first;
    if (is_a_range != 0 && !r.read(16, last, error, what)) return false;
    if (first == 0 || last < first || last > max) {
      error = std::string(what) + ": range entry " + std::to_string(i + 1) + " (" +
              std::to_string(first) + "-" + std::to_string(last) +
              ") is empty or outside 1..MaxVendorId " + std::to_string(max);
      return false;
    }
    setBits(s, static_cast<uint32_t>(first), static_cast<uint32_t>(last));
  }
  return true;
}

bool readLetters(BitReader& r, char (&out)[3], std::string& error, const char* what) {
  for (int i = 0; i < 2; ++i) {
    uint64_t v = 0;
    if (!r.read(6, v, error, what)) return false;
    if (v > 25) {
      error = std::string(what) + ": letter value " + std::to_string(v) + " is not A-Z";
      return false;
    }
    out[i] = static_cast<char>('A' + v);
  }
  out[2] = '\0';
  return true;
}

bool readCore(BitReader& r, TcString& t, std::string& error) {
  const char* w = "core segment";
  if (!readInto(r, 6, t.version, error, w)) return false;
  if (t.version == 1) {
    error = "version 1 (TCF v1.1) string: only TCF v2 is supported";
    return false;
  }
  if (t.version != 2) {
    error = "unsupported version " + std::to_string(t.version) + ": only TCF v2 is supported";
    return false;
  }
  if (!readInto(r, 36, t.created_ds, error, w) || !readInto(r, 36, t.last_updated_ds, error, w) ||
      !readInto(r, 12, t.cmp_id, error, w) || !readInto(r, 12, t.cmp_version, error, w) ||
      !readInto(r, 6, t.consent_screen, error, w) ||
      !readLetters(r, t.consent_language, error, w) ||
      !readInto(r, 12, t.vendor_list_version, error, w) ||
      !readInto(r, 6, t.tcf_policy_version, error, w) ||
      !readInto(r, 1, t.is_service_specific, error, w) ||
      !readInto(r, 1, t.use_non_standard_texts, error, w) ||
      !readInto(r, 12, t.special_feature_opt_ins, error, w)) {
    return false;
  }
  uint64_t consent = 0, li = 0;
  if (!r.read(24, consent, error, w) || !r.read(24, li, error, w)) return false;
  // On the wire purpose 1 is the first (most significant) bit; store bit i-1 = purpose i.
  t.purposes_consent = 0;
  t.purposes_li = 0;
  for (unsigned i = 0; i < 24; ++i) {
    if ((consent >> (23 - i)) & 1U) t.purposes_consent |= 1U << i;
    if ((li >> (23 - i)) & 1U) t.purposes_li |= 1U << i;
  }
  uint16_t sf = t.special_feature_opt_ins;
  t.special_feature_opt_ins = 0;
  for (unsigned i = 0; i < 12; ++i) {
    if ((sf >> (11 - i)) & 1U) t.special_feature_opt_ins |= static_cast<uint16_t>(1U << i);
  }
  if (!readInto(r, 1, t.purpose_one_treatment, error, w) ||
      !readLetters(r, t.publisher_cc, error, w)) {
    return false;
  }
  if (!readVendorSet(r, t.vendor_consents, error, "vendor consent section") ||
      !readVendorSet(r, t.vendor_li, error, "vendor legitimate interest section")) {
    return false;
  }
  uint64_t restrictions = 0;
  const char* pr = "publisher restrictions";
  if (!r.read(12, restrictions, error, pr)) return false;
  // Grow only (shrinking would free the vendor lists a later string reuses).
  if (t.pub_restrictions.size() < restrictions) t.pub_restrictions.resize(restrictions);
  t.pub_restriction_count = restrictions;
  for (uint64_t i = 0; i < restrictions; ++i) {
    PubRestriction& p = t.pub_restrictions[i];
    p.vendors.clear();
    uint64_t entries = 0;
    if (!readInto(r, 6, p.purpose_id, error, pr) ||
        !readInto(r, 2, p.restriction_type, error, pr) || !r.read(12, entries, error, pr)) {
      return false;
    }
    for (uint64_t e = 0; e < entries; ++e) {
      uint64_t is_a_range = 0, first = 0, last = 0;
      if (!r.read(1, is_a_range, error, pr) || !r.read(16, first, error, pr)) return false;
      last = first;
      if (is_a_range != 0 && !r.read(16, last, error, pr)) return false;
      if (first == 0 || last < first) {
        error = std::string(pr) + ": range entry (" + std::to_string(first) + "-" +
                std::to_string(last) + ") is empty or starts at 0";
        return false;
      }
      p.vendors.push_back({static_cast<uint32_t>(first), static_cast<uint32_t>(last)});
    }
  }
  return true;
}

uint64_t reverseBits(uint64_t v, unsigned n) {
  uint64_t out = 0;
  for (unsigned i = 0; i < n; ++i) {
    if ((v >> (n - 1 - i)) & 1U) out |= uint64_t{1} << i;
  }
  return out;
}

bool readSegment(BitReader& r, Segment& s, std::string& error) {
  if (!readInto(r, 3, s.type, error, "segment")) return false;
  switch (s.type) {
    case 1:
      return readVendorSet(r, s.vendors, error, "disclosed vendors segment");
    case 2:
      return readVendorSet(r, s.vendors, error, "allowed vendors segment");
    case 3: {
      const char* w = "publisher TC segment";
      uint64_t c = 0, li = 0;
      if (!r.read(24, c, error, w) || !r.read(24, li, error, w) ||
          !readInto(r, 6, s.num_custom_purposes, error, w)) {
        return false;
      }
      s.pub_purposes_consent = static_cast<uint32_t>(reverseBits(c, 24));
      s.pub_purposes_li = static_cast<uint32_t>(reverseBits(li, 24));
      uint64_t cc = 0, cli = 0;
      if (!r.read(s.num_custom_purposes, cc, error, w) ||
          !r.read(s.num_custom_purposes, cli, error, w)) {
        return false;
      }
      s.custom_purposes_consent = reverseBits(cc, s.num_custom_purposes);
      s.custom_purposes_li = reverseBits(cli, s.num_custom_purposes);
      return true;
    }
    default:
      error = "unknown segment type " + std::to_string(s.type);
      return false;
  }
}

// The segment's characters without trailing '=' padding; false when nothing is left.
bool segmentChars(std::string_view seg, std::string_view& chars, size_t index, std::string& error) {
  size_t n = seg.size();
  while (n > 0 && seg[n - 1] == '=') --n;
  if (n == 0) {
    error = "segment " + std::to_string(index + 1) + " is empty";
    return false;
  }
  chars = seg.substr(0, n);
  return true;
}

void appendBits(std::string& out, uint64_t bits, unsigned n) {
  out += '[';
  bool first = true;
  for (unsigned i = 0; i < n; ++i) {
    if ((bits >> i) & 1U) {
      if (!first) out += ", ";
      out += std::to_string(i + 1);
      first = false;
    }
  }
  out += ']';
}

void appendIds(std::string& out, const VendorSet& s, std::vector<uint32_t>& scratch) {
  s.ids(scratch);
  out += '[';
  for (size_t i = 0; i < scratch.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(scratch[i]);
  }
  out += ']';
}

void appendVendorSet(std::string& out, const VendorSet& s, std::vector<uint32_t>& scratch) {
  out += "\"MaxVendorId\": " + std::to_string(s.max_vendor_id) + ", \"encoding\": \"";
  out += s.range ? "range" : "bitfield";
  out += "\", \"ids\": ";
  appendIds(out, s, scratch);
}

}  // namespace

void VendorSet::clear() {
  max_vendor_id = 0;
  range = false;
  bits.clear();
}

void VendorSet::ids(std::vector<uint32_t>& out) const {
  out.clear();
  for (size_t w = 0; w < bits.size(); ++w) {
    uint64_t word = bits[w];
    while (word != 0) {
      const int b = __builtin_ctzll(word);
      out.push_back(static_cast<uint32_t>(w * 64 + static_cast<size_t>(b)));
      word &= word - 1;
    }
  }
}

bool decode(std::string_view text, TcString& out, std::string& error) {
  error.clear();
  out.segment_count = 0;
  out.pub_restriction_count = 0;
  if (text.empty()) {
    error = "empty TC string";
    return false;
  }
  size_t index = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t dot = text.find('.', start);
    if (dot == std::string_view::npos) dot = text.size();
    std::string_view chars;
    if (!segmentChars(text.substr(start, dot - start), chars, index, error)) return false;
    BitReader r(chars, out.scratch);
    if (!r.base64()) {
      size_t bad = 0;
      while (kAlphabet.v[static_cast<unsigned char>(chars[bad])] != 0xFF) ++bad;
      error = "segment " + std::to_string(index + 1) + ": character " + std::to_string(bad + 1) +
              " is not base64url";
      return false;
    }
    if (index == 0) {
      if (!readCore(r, out, error)) return false;
    } else {
      if (out.segments.size() <= out.segment_count) out.segments.emplace_back();
      if (!readSegment(r, out.segments[out.segment_count], error)) return false;
      ++out.segment_count;
    }
    ++index;
    start = dot + 1;
    if (dot == text.size()) break;
  }
  return true;
}

std::string formatDeciseconds(int64_t ds) {
  const int64_t ms = ds * 100;
  const time_t secs = static_cast<time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

std::string toJson(const TcString& t) {
  std::vector<uint32_t> scratch;
  std::string o = "{\"core\": {\"Version\": " + std::to_string(t.version);
  o += ", \"Created\": \"" + formatDeciseconds(t.created_ds) + "\"";
  o += ", \"LastUpdated\": \"" + formatDeciseconds(t.last_updated_ds) + "\"";
  o += ", \"CmpId\": " + std::to_string(t.cmp_id);
  o += ", \"CmpVersion\": " + std::to_string(t.cmp_version);
  o += ", \"ConsentScreen\": " + std::to_string(t.consent_screen);
  o += ", \"ConsentLanguage\": \"" + std::string(t.consent_language) + "\"";
  o += ", \"VendorListVersion\": " + std::to_string(t.vendor_list_version);
  o += ", \"TcfPolicyVersion\": " + std::to_string(t.tcf_policy_version);
  o += ", \"IsServiceSpecific\": " + std::to_string(t.is_service_specific ? 1 : 0);
  o += ", \"UseNonStandardTexts\": " + std::to_string(t.use_non_standard_texts ? 1 : 0);
  o += ", \"SpecialFeatureOptIns\": ";
  appendBits(o, t.special_feature_opt_ins, 12);
  o += ", \"PurposesConsent\": ";
  appendBits(o, t.purposes_consent, 24);
  o += ", \"PurposesLITransparency\": ";
  appendBits(o, t.purposes_li, 24);
  o += ", \"PurposeOneTreatment\": " + std::to_string(t.purpose_one_treatment ? 1 : 0);
  o += ", \"PublisherCC\": \"" + std::string(t.publisher_cc) + "\"";
  o += ", \"VendorConsents\": {";
  appendVendorSet(o, t.vendor_consents, scratch);
  o += "}, \"VendorLegitimateInterests\": {";
  appendVendorSet(o, t.vendor_li, scratch);
  o += "}, \"PubRestrictions\": [";
  for (size_t i = 0; i < t.pub_restriction_count; ++i) {
    const PubRestriction& p = t.pub_restrictions[i];
    if (i) o += ", ";
    o += "{\"PurposeId\": " + std::to_string(p.purpose_id) +
         ", \"RestrictionType\": " + std::to_string(p.restriction_type) + ", \"Vendors\": [";
    bool first = true;
    for (const VendorRange& v : p.vendors) {
      for (uint32_t id = v.first; id <= v.last; ++id) {
        if (!first) o += ", ";
        o += std::to_string(id);
        first = false;
      }
    }
    o += "]}";
  }
  o += "]}, \"segments\": [";
  for (size_t i = 0; i < t.segment_count; ++i) {
    const Segment& s = t.segments[i];
    if (i) o += ", ";
    o += "{\"SegmentType\": " + std::to_string(s.type) + ", \"name\": \"";
    if (s.type == 3) {
      o += "PublisherTC\", \"PubPurposesConsent\": ";
      appendBits(o, s.pub_purposes_consent, 24);
      o += ", \"PubPurposesLITransparency\": ";
      appendBits(o, s.pub_purposes_li, 24);
      o += ", \"NumCustomPurposes\": " + std::to_string(s.num_custom_purposes);
      o += ", \"CustomPurposesConsent\": ";
      appendBits(o, s.custom_purposes_consent, s.num_custom_purposes);
      o += ", \"CustomPurposesLITransparency\": ";
      appendBits(o, s.custom_purposes_li, s.num_custom_purposes);
    } else {
      o += s.type == 1 ? "DisclosedVendors\", " : "AllowedVendors(deprecated)\", ";
      appendVendorSet(o, s.vendors, scratch);
    }
    o += '}';
  }
  o += "]}";
  return o;
}

std::string toText(const TcString& t) {
  std::vector<uint32_t> scratch;
  std::string o;
  auto line = [&](const char* k, const std::string& v) {
    o += k;
    o += v;
    o += '\n';
  };
  auto bits = [](uint64_t b, unsigned n) {
    std::string s;
    appendBits(s, b, n);
    return s;
  };
  auto vendors = [&](const VendorSet& s) {
    std::string v =
        "max " + std::to_string(s.max_vendor_id) + " (" + (s.range ? "range" : "bitfield") + ") ";
    appendIds(v, s, scratch);
    return v;
  };
  line("version                 ", std::to_string(t.version));
  line("created                 ", formatDeciseconds(t.created_ds));
  line("last updated            ", formatDeciseconds(t.last_updated_ds));
  line("cmp                     ", std::to_string(t.cmp_id) + " version " +
                                       std::to_string(t.cmp_version) + ", screen " +
                                       std::to_string(t.consent_screen));
  line("consent language        ", t.consent_language);
  line("vendor list version     ", std::to_string(t.vendor_list_version));
  line("tcf policy version      ", std::to_string(t.tcf_policy_version));
  line("service specific        ", t.is_service_specific ? "yes" : "no");
  line("non-standard texts      ", t.use_non_standard_texts ? "yes" : "no");
  line("special feature opt-ins ", bits(t.special_feature_opt_ins, 12));
  line("purposes consent        ", bits(t.purposes_consent, 24));
  line("purposes LI             ", bits(t.purposes_li, 24));
  line("purpose one treatment   ", t.purpose_one_treatment ? "yes" : "no");
  line("publisher country       ", t.publisher_cc);
  line("vendor consents         ", vendors(t.vendor_consents));
  line("vendor LI               ", vendors(t.vendor_li));
  for (size_t i = 0; i < t.pub_restriction_count; ++i) {
    const PubRestriction& p = t.pub_restrictions[i];
    std::string v = "purpose " + std::to_string(p.purpose_id) + " type " +
                    std::to_string(p.restriction_type) + " vendors";
    for (const VendorRange& r : p.vendors) {
      v += ' ' + std::to_string(r.first);
      if (r.last != r.first) v += '-' + std::to_string(r.last);
    }
    line("publisher restriction   ", v);
  }
  for (size_t i = 0; i < t.segment_count; ++i) {
    const Segment& s = t.segments[i];
    if (s.type == 3) {
      line("publisher TC            ",
           "consent " + bits(s.pub_purposes_consent, 24) + ", LI " + bits(s.pub_purposes_li, 24) +
               ", custom consent " + bits(s.custom_purposes_consent, s.num_custom_purposes) +
               ", custom LI " + bits(s.custom_purposes_li, s.num_custom_purposes));
    } else {
      line(s.type == 1 ? "disclosed vendors       " : "allowed vendors         ",
           vendors(s.vendors));
    }
  }
  return o;
}

}  // namespace omniloop::privacy::tcf
