// The IAB TCF v2 TC string decoder (privacy/tcf.h) over arbitrary text, reusing one TcString as
// the consent stage does; a decoded string is rendered as JSON and as text, and must render the
// same as a fresh decode (nothing of an earlier string may survive in the reused one).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "privacy/tcf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace tcf = omniloop::privacy::tcf;
  static tcf::TcString reused;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  const bool ok = tcf::decode(text, reused, error);
  if (!ok && error.empty()) __builtin_trap();  // a refusal always says why
  tcf::TcString fresh;
  std::string fresh_error;
  if (tcf::decode(text, fresh, fresh_error) != ok) __builtin_trap();
  if (ok) {
    const std::string json = tcf::toJson(reused);
    if (json != tcf::toJson(fresh)) __builtin_trap();
    (void)tcf::toText(reused);
    for (unsigned id = 0; id <= 25; ++id) {
      (void)reused.purposeConsent(id);
      (void)reused.purposeLi(id);
    }
    (void)reused.vendor_consents.has(755);
  }
  return 0;
}
