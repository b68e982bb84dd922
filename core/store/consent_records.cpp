#include "store/consent_records.h"

namespace omniloop::store {

void appendConsentRecords(const event::Event& e, std::span<const identity::Key> keys, int64_t now,
                          std::vector<ConsentRecord>& out) {
  if (e.consents.empty() || keys.empty()) return;
  std::string_view notice, tc;
  if (const event::Value* v = e.find(kConsentNoticeAttribute);
      v != nullptr && v->type == event::ValueType::String) {
    notice = v->s;
  }
  if (const event::Value* v = e.find(kTcStringAttribute);
      v != nullptr && v->type == event::ValueType::String) {
    tc = v->s;
  }
  const int64_t at = e.occurred_at_us != 0 ? e.occurred_at_us : now;
  for (const event::Consent& c : e.consents) {
    if (c.status == event::ConsentStatus::Unknown || c.purpose.empty()) continue;
    for (const identity::Key& k : keys) {
      out.push_back(
          ConsentRecord{k.type, k.hash, c.purpose, c.status, at, notice, tc,
                        tc.empty() ? std::string_view("event") : std::string_view("tcf")});
    }
  }
}

}  // namespace omniloop::store
