#include "privacy/phone_validity.h"

#include <phonenumbers/phonemetadata.pb.h>
#include <phonenumbers/phonenumberutil.h>
#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

// libphonenumber's compiled-in metadata: defined and exported by the library (its metadata.h is
// not installed). The same bytes PhoneNumberUtil itself is built from.
namespace i18n::phonenumbers {
int metadata_size();
const void* metadata_get();
}  // namespace i18n::phonenumbers

namespace omniloop::privacy {

namespace {

using i18n::phonenumbers::PhoneMetadata;
using i18n::phonenumbers::PhoneMetadataCollection;
using i18n::phonenumbers::PhoneNumberDesc;

std::unique_ptr<RE2> compile(const std::string& pattern) {
  if (pattern.empty()) return nullptr;
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_unique<RE2>(pattern, options);
  return re->ok() ? std::move(re) : nullptr;
}

// IsNumberMatchingDesc: the possible lengths first (when listed), then a full match of the
// national number pattern; an empty pattern matches nothing.
struct Desc {
  std::vector<int> lengths;
  std::unique_ptr<RE2> pattern;
  bool broken = false;  // a pattern RE2 could not compile: defer to libphonenumber

  void load(const PhoneNumberDesc& desc) {
    lengths.assign(desc.possible_length().begin(), desc.possible_length().end());
    pattern = compile(desc.national_number_pattern());
    broken = !desc.national_number_pattern().empty() && pattern == nullptr;
  }
  bool matches(std::string_view nsn) const {
    if (!lengths.empty() &&
        std::find(lengths.begin(), lengths.end(), static_cast<int>(nsn.size())) == lengths.end()) {
      return false;
    }
    return pattern != nullptr && RE2::FullMatch(nsn, *pattern);
  }
};

// One region's numbering plan (GetNumberTypeHelper's order of descriptions).
struct Plan {
  std::unique_ptr<RE2> leading_digits;  // null when the region has none
  Desc general;
  std::array<Desc, 8> special;  // premium, toll free, shared cost, VoIP, personal, pager, UAN,
                                // voicemail
  Desc fixed_line;
  Desc mobile;
  bool same_mobile_and_fixed_line = false;
  bool leading_digits_broken = false;

  void load(const PhoneMetadata& m) {
    if (m.has_leading_digits()) {
      leading_digits = compile(m.leading_digits());
      leading_digits_broken = leading_digits == nullptr;
    }
    general.load(m.general_desc());
    const PhoneNumberDesc* specials[] = {&m.premium_rate(), &m.toll_free(),       &m.shared_cost(),
                                         &m.voip(),         &m.personal_number(), &m.pager(),
                                         &m.uan(),          &m.voicemail()};
    for (size_t i = 0; i < special.size(); ++i) special[i].load(*specials[i]);
    fixed_line.load(m.fixed_line());
    mobile.load(m.mobile());
    same_mobile_and_fixed_line = m.same_mobile_and_fixed_line_pattern();
  }
  bool broken() const {
    bool any = leading_digits_broken || general.broken || fixed_line.broken || mobile.broken;
    for (const Desc& d : special) any = any || d.broken;
    return any;
  }
  // GetNumberTypeHelper(...) != UNKNOWN
  bool knownType(std::string_view nsn) const {
    if (!general.matches(nsn)) return false;
    for (const Desc& d : special) {
      if (d.matches(nsn)) return true;
    }
    if (fixed_line.matches(nsn)) return true;
    return !same_mobile_and_fixed_line && mobile.matches(nsn);
  }
};

// The regions of one calling code, in libphonenumber's order (its main region first).
struct CodePlans {
  std::vector<Plan> regions;
  bool broken = false;
};

class Registry {
 public:
  Registry() {
    ok_ = collection_.ParseFromArray(i18n::phonenumbers::metadata_get(),
                                     i18n::phonenumbers::metadata_size());
    if (!ok_) return;
    for (const PhoneMetadata& m : collection_.metadata()) {
      if (m.id() == "001") {
        non_geographic_[m.country_code()] = &m;
      } else {
        by_region_[m.id()] = &m;
      }
    }
  }

  bool ok() const { return ok_; }

  // Compiled on first use of a calling code; later lookups are one atomic load.
  const CodePlans* plans(int code) {
    if (code <= 0 || code >= static_cast<int>(plans_.size())) return nullptr;
    std::atomic<const CodePlans*>& slot = plans_[static_cast<size_t>(code)];
    if (const CodePlans* p = slot.load(std::memory_order_acquire)) return p;
    std::lock_guard<std::mutex> lock(mutex_);
    if (const CodePlans* p = slot.load(std::memory_order_acquire)) return p;
    auto built = std::make_unique<CodePlans>();
    std::list<std::string> regions;
    i18n::phonenumbers::PhoneNumberUtil::GetInstance()->GetRegionCodesForCountryCallingCode(
        code, &regions);
    for (const std::string& region : regions) {
      const PhoneMetadata* m = nullptr;
      if (region == "001") {
        const auto it = non_geographic_.find(code);
        if (it != non_geographic_.end()) m = it->second;
      } else {
        const auto it = by_region_.find(region);
        if (it != by_region_.end()) m = it->second;
      }
      if (m == nullptr) {  // a region libphonenumber lists without metadata: not ours to judge
        built->broken = true;
        continue;
      }
      built->regions.emplace_back().load(*m);
      built->broken = built->broken || built->regions.back().broken();
    }
    const CodePlans* raw = built.get();
    owned_.push_back(std::move(built));
    slot.store(raw, std::memory_order_release);
    return raw;
  }

 private:
  bool ok_ = false;
  PhoneMetadataCollection collection_;
  std::map<std::string, const PhoneMetadata*> by_region_;
  std::map<int, const PhoneMetadata*> non_geographic_;
  std::array<std::atomic<const CodePlans*>, 1000> plans_{};  // calling codes have 1-3 digits
  std::mutex mutex_;
  std::vector<std::unique_ptr<CodePlans>> owned_;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

const PhoneValidity& PhoneValidity::instance() {
  static const PhoneValidity v;
  return v;
}

PhoneValidity::PhoneValidity() : available_(registry().ok()) {}

bool PhoneValidity::isValid(int country_code, std::string_view national) const {
  const CodePlans* plans = registry().plans(country_code);
  if (plans == nullptr || plans->regions.empty()) return false;
  if (plans->broken) {  // cannot decide here: ask libphonenumber
    i18n::phonenumbers::PhoneNumber number;
    number.set_country_code(country_code);
    uint64_t value = 0;
    for (char c : national) value = value * 10 + static_cast<uint64_t>(c - '0');
    number.set_national_number(value);
    return i18n::phonenumbers::PhoneNumberUtil::GetInstance()->IsValidNumber(number);
  }
  // GetRegionCodeForNumber: the only region, or the first whose leading digits start the
  // number (regions with leading digits) or that knows its type (regions without).
  if (plans->regions.size() == 1) return plans->regions.front().knownType(national);
  for (const Plan& plan : plans->regions) {
    if (plan.leading_digits != nullptr) {
      if (plan.leading_digits->Match(national, 0, national.size(), RE2::ANCHOR_START, nullptr, 0)) {
        return plan.knownType(national);
      }
    } else if (plan.knownType(national)) {
      return true;
    }
  }
  return false;
}

}  // namespace omniloop::privacy
