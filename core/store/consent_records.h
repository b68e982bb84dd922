#pragma once
// Backend-neutral: the consent ledger rows an event yields (docs/privacy.md "Consent ledger").
// Every explicit $consent.<purpose> (granted or denied) of a stored event is recorded once per
// pseudonymised identity of the event, with its evidence.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "event/event.h"
#include "identity/resolver.h"
#include "privacy/consent_ledger.h"

namespace omniloop::store {

// Attributes a pipeline sets to give a decision its evidence (a map stage's `set:` / `copy:`).
inline constexpr std::string_view kConsentNoticeAttribute = "consent_notice";
inline constexpr std::string_view kTcStringAttribute = "tc_string";

struct ConsentRecord {
  std::string_view identity_type, identity_hash, purpose;
  event::ConsentStatus status = event::ConsentStatus::Unknown;
  int64_t captured_at = 0;          // the event's occurred_at (else its ingestion time)
  std::string_view notice_version;  // "" when unknown
  std::string_view tc_string;       // "" when none
  std::string_view evidence;        // "tcf" (a TC string came with it) or "event"
};

// Appends e's records (views into e and `keys`) to `out`.
void appendConsentRecords(const event::Event& e, std::span<const identity::Key> keys, int64_t now,
                          std::vector<ConsentRecord>& out);

// A committed record kept until its transaction commits, then applied to the ledger view.
struct LedgerUpdate {
  std::string hash, purpose;
  event::ConsentStatus status = event::ConsentStatus::Unknown;
  int64_t captured_at = 0;
};

inline void applyAll(privacy::ConsentLedger& ledger, std::vector<LedgerUpdate>& updates) {
  for (const LedgerUpdate& u : updates) ledger.apply(u.hash, u.purpose, u.status, u.captured_at);
  updates.clear();
}

}  // namespace omniloop::store
