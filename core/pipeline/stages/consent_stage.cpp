// The `consent` stage: keeps an event only when every required purpose is allowed for its
// subject (reference: docs/stages.md "consent", decision rules: docs/privacy.md).
#include <optional>

#include "config/loader.h"
#include "config/suggest.h"
#include "pipeline/stages/stage_build.h"
#include "pipeline/stages/yaml_position.h"
#include "privacy/consent_ledger.h"
#include "privacy/keyed_hasher.h"
#include "privacy/normalize.h"
#include "privacy/tcf.h"

namespace omniloop::pipeline {

namespace {

using event::ConsentStatus;

enum class Basis : uint8_t { Consent, LegitimateInterest, Contract, LegalObligation };
enum class Missing : uint8_t { Drop, Keep, DeadLetter };

Basis parseBasis(std::string_view b) {
  if (b == "legitimate_interest") return Basis::LegitimateInterest;
  if (b == "contract") return Basis::Contract;
  if (b == "legal_obligation") return Basis::LegalObligation;
  return Basis::Consent;
}

struct Required {
  std::string name;
  Basis basis = Basis::Consent;
  std::vector<unsigned> tcf;   // TCF purpose ids that must all be granted
  std::string denied_reason;   // "consent: 'marketing' denied"
  std::string missing_reason;  // "consent: no consent recorded for 'marketing'"
};

class ConsentStage final : public Stage {
 public:
  ConsentStage(std::vector<Required> required, std::string tcf_field, Missing missing,
               uint32_t vendor_id, const StageContext* ctx)
      : required_(std::move(required)),
        tcf_field_(std::move(tcf_field)),
        missing_(missing),
        vendor_id_(vendor_id) {
    if (ctx != nullptr) {
      hasher_ = ctx->hasher;
      normalize_ = ctx->normalize;
      ledger_ = ctx->ledger;
    }
  }

  Result process(event::Batch& batch) override {
    if (ledger_ != nullptr) ledger_->maybeRefresh();
    for (event::Event& e : batch) {
      if (e.live()) decide(e, batch);
    }
    return Result::ok();
  }

 private:
  enum class Tc : uint8_t { None, Ok, Bad };

  void decide(event::Event& e, event::Batch& batch) {
    Tc tc = Tc::None;
    bool tc_checked = false;
    bool keys_made = false;
    for (const Required& r : required_) {
      if (r.basis == Basis::Contract || r.basis == Basis::LegalObligation) continue;
      ConsentStatus s = e.consent(r.name);
      if (s == ConsentStatus::Unknown && !r.tcf.empty()) {
        if (!tc_checked) {
          tc = decodeTc(e);
          tc_checked = true;
        }
        if (tc == Tc::Bad) {
          e.disposition = event::Disposition::DeadLetter;
          e.reason = batch.intern("tcf: " + error_);
          batch.count("consent_tcf_invalid", r.name);
          return;
        }
        if (tc == Tc::Ok) {
          s = tcfGrants(r) ? ConsentStatus::Granted : ConsentStatus::Denied;
          e.setConsent(r.name, s);  // recorded in the ledger with the TC string as evidence
        }
      }
      if (s == ConsentStatus::Unknown && ledger_ != nullptr) {
        if (!keys_made) {
          makeKeys(e, batch);
          keys_made = true;
        }
        s = fromLedger(r.name);
      }
      if (s == ConsentStatus::Granted) continue;
      if (s == ConsentStatus::Denied) {
        e.disposition = event::Disposition::Drop;
        e.reason = r.denied_reason;
        batch.count("consent_denied", r.name);
        return;
      }
      // Unknown: a legitimate interest needs no consent (only an objection stops it).
      if (r.basis == Basis::LegitimateInterest) continue;
      batch.count("consent_missing", r.name);
      if (missing_ == Missing::Keep) continue;
      if (missing_ == Missing::DeadLetter) {
        e.disposition = event::Disposition::DeadLetter;
        e.reason = r.missing_reason;
      } else {
        e.disposition = event::Disposition::Drop;
        e.reason = r.missing_reason;
        batch.count("consent_denied", r.name);
      }
      return;
    }
  }

  // Decodes the event's TC string, reusing the last decode when the string repeats.
  Tc decodeTc(const event::Event& e) {
    if (tcf_field_.empty()) return Tc::None;
    const event::Value* v = e.find(tcf_field_);
    if (v == nullptr || v->type != event::ValueType::String || v->s.empty()) return Tc::None;
    if (!last_tc_.empty() && v->s == last_tc_) return last_ok_ ? Tc::Ok : Tc::Bad;
    last_tc_.assign(v->s);
    last_ok_ = privacy::tcf::decode(v->s, tc_, error_);
    if (!last_ok_) error_.insert(0, tcf_field_ + ": ");
    return last_ok_ ? Tc::Ok : Tc::Bad;
  }

  bool tcfGrants(const Required& r) const {
    const bool li = r.basis == Basis::LegitimateInterest;
    for (unsigned id : r.tcf) {
      if (li ? !tc_.purposeLi(id) : !tc_.purposeConsent(id)) return false;
    }
    return li ? tc_.vendor_li.has(vendor_id_) : tc_.vendor_consents.has(vendor_id_);
  }

  // The event's identities pseudonymised like the store keys them (normalised, keyed hash).
  // A value is normalised once per event: one an earlier component normalised is used as it
  // is, and one normalised here rides on the identity to the store's keying (identity/keyer.h)
  // when the result cannot depend on a default region (none is set: a phone then only
  // normalises when written internationally), so it is the store's normalisation too.
  void makeKeys(event::Event& e, event::Batch& batch) {
    key_count_ = 0;
    for (event::Identity& id : e.identities) {
      if (id.type.empty() || id.value.empty()) continue;
      if (keys_.size() <= key_count_) keys_.emplace_back();
      std::string& out = keys_[key_count_];
      if (privacy::KeyedHasher::isPseudonym(id.value)) {
        out.assign(id.value);
      } else {
        if (hasher_ == nullptr) continue;
        std::string_view normalized = id.normalizedValue();
        if (normalized.empty()) {
          if (!privacy::normalizeIdentity(id.type, id.value, normalized_, normalize_)) continue;
          normalized = normalized_;
          if (normalize_.default_region.empty()) {
            id.setNormalized(normalized == id.value ? id.value : batch.intern(normalized));
          }
        }
        hasher_->pseudonymizeInto(out, id.type, normalized);
      }
      ++key_count_;
    }
  }

  // The newest ledger decision among the event's identities (a denial wins a tie).
  ConsentStatus fromLedger(std::string_view purpose) const {
    ConsentStatus best = ConsentStatus::Unknown;
    int64_t best_at = 0;
    privacy::ConsentLedger::Entry entry;
    for (size_t i = 0; i < key_count_; ++i) {
      if (!ledger_->lookup(keys_[i], purpose, entry)) continue;
      if (best == ConsentStatus::Unknown || entry.captured_at > best_at ||
          (entry.captured_at == best_at && entry.status == ConsentStatus::Denied)) {
        best = entry.status;
        best_at = entry.captured_at;
      }
    }
    return best;
  }

  std::vector<Required> required_;
  std::string tcf_field_;
  Missing missing_;
  uint32_t vendor_id_;
  const privacy::KeyedHasher* hasher_ = nullptr;
  privacy::NormalizeOptions normalize_;
  privacy::ConsentLedger* ledger_ = nullptr;

  // Per-event working storage, reused (no heap traffic once warmed up).
  std::string last_tc_;
  bool last_ok_ = false;
  privacy::tcf::TcString tc_;
  std::string error_;
  std::vector<std::string> keys_;
  size_t key_count_ = 0;
  std::string normalized_;
};

constexpr const char* kExample =
    "consent: { require: [marketing], tcf_field: tc_string, missing: drop }";

}  // namespace

std::unique_ptr<Stage> buildConsentStage(const YAML::Node& body, BuildScope& scope,
                                         const StageContext* ctx) {
  if (!body.IsMap()) {
    scope.error(body, "consent takes a mapping { require: [purpose, ...], tcf_field, missing }",
                kExample);
    return nullptr;
  }
  const config::PrivacyConfig* privacy = scope.privacy;
  std::vector<std::string> known;
  if (privacy != nullptr) known = privacy->names();
  std::vector<Required> required;
  std::string tcf_field;
  Missing missing = Missing::Drop;
  bool ok = true;
  bool has_require = false;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string();
    const YAML::Node value = it->second;
    if (key == "require") {
      has_require = true;
      std::vector<YAML::Node> items;
      if (value.IsScalar()) {
        items.push_back(value);
      } else if (value.IsSequence() && value.size() > 0) {
        for (const YAML::Node& n : value) items.push_back(n);
      } else {
        scope.error(value, "require takes a purpose name or a list of them", kExample);
        ok = false;
        continue;
      }
      for (const YAML::Node& n : items) {
        const std::string name = n.IsScalar() ? n.Scalar() : std::string();
        const config::PurposeConfig* p = privacy != nullptr ? privacy->find(name) : nullptr;
        if (p == nullptr) {
          std::string hint = config::didYouMeanOrKnown(name, known, "purposes");
          if (hint.empty()) {
            hint = "declare purposes once in omniloop.yaml: privacy: { purposes: { " +
                   (name.empty() ? std::string("marketing") : name) + ": { basis: consent } } }";
          }
          scope.error(n, "unknown purpose '" + name + "'", hint);
          ok = false;
          continue;
        }
        Required r;
        r.name = p->name;
        r.basis = parseBasis(p->basis);
        for (int id : p->tcf) r.tcf.push_back(static_cast<unsigned>(id));
        r.denied_reason = "consent: '" + r.name + "' denied";
        r.missing_reason = "consent: no consent recorded for '" + r.name + "'";
        required.push_back(std::move(r));
      }
    } else if (key == "tcf_field") {
      if (!value.IsScalar() || value.Scalar().empty() || value.Scalar()[0] == '$') {
        scope.error(value, "tcf_field takes the attribute holding the TC string",
                    "for example: tcf_field: tc_string");
        ok = false;
      } else {
        tcf_field = value.Scalar();
      }
    } else if (key == "missing") {
      const std::string m = value.IsScalar() ? value.Scalar() : std::string();
      if (m == "drop") {
        missing = Missing::Drop;
      } else if (m == "keep") {
        missing = Missing::Keep;
      } else if (m == "dead_letter") {
        missing = Missing::DeadLetter;
      } else {
        scope.error(value, "missing is drop, keep or dead_letter, not '" + m + "'",
                    config::didYouMeanOrKnown(m, {"drop", "keep", "dead_letter"}, "values"));
        ok = false;
      }
    } else {
      scope.error(it->first, "unknown consent key '" + key + "'",
                  config::didYouMeanOrKnown(key, {"require", "tcf_field", "missing"}, "keys"));
      ok = false;
    }
  }
  if (!has_require) {
    scope.error(body, "consent needs `require`: the purposes an event must be allowed for",
                kExample);
    ok = false;
  }
  if (!ok) return nullptr;
  const uint32_t vendor = privacy != nullptr ? privacy->tcf_vendor_id : 0;
  return std::make_unique<ConsentStage>(std::move(required), std::move(tcf_field), missing, vendor,
                                        ctx);
}

}  // namespace omniloop::pipeline
