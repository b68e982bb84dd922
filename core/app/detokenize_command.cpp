#include "app/detokenize_command.h"

#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>

#include "app/runtime.h"
#include "config/loader.h"
#include "event/json.h"
#include "privacy/vault_cipher.h"
#include "store/store.h"
#include "store/vault.h"

namespace omniloop::app {

namespace {

constexpr const char* kHelp = R"(usage: omniloop detokenize TOKEN --reason TEXT [options]

Prints the clear value behind a token written by a mask stage's `tokenize` method (tk1:...).
The value is opened with the vault key (vault_key_file in omniloop.yaml, default
omniloop.vault.key beside the pseudonymisation key); the store alone cannot reverse a token.
Every call writes an audit_log row: actor (the OS user), time, action "detokenize", the token
and the reason; never the value.

options:
  --reason TEXT         why the value is needed (required; kept in the audit log)
  --store URI           CDP store (default: from omniloop.yaml)
  --config FILE         omniloop.yaml to use
Exit status: 0 printed, 1 unknown or expired token / unusable key, 2 usage.
)";

int64_t nowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string osUser() {
  const uid_t uid = ::getuid();
  for (const char* var : {"LOGNAME", "USER"}) {
    const char* name = std::getenv(var);
    if (name == nullptr || *name == '\0') continue;
    const passwd* pw = ::getpwnam(name);
    if (pw != nullptr && pw->pw_uid == uid) return name;
  }
  if (const passwd* pw = ::getpwuid(uid); pw != nullptr && pw->pw_name != nullptr) {
    return pw->pw_name;
  }
  return "uid:" + std::to_string(uid);
}

int runDetokenizeCommand(const std::vector<std::string>& args) {
  RuntimeOptions options;
  std::string token, reason;
  bool has_reason = false;
  for (size_t i = 2; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= args.size()) return false;
      out = args[++i];
      return true;
    };
    if (a == "--help" || a == "-h") {
      std::cout << kHelp;
      return 0;
    } else if (a == "--reason") {
      if (!value(reason)) break;
      has_reason = true;
    } else if (a == "--store") {
      if (!value(options.store_override)) break;
    } else if (a == "--config") {
      if (!value(options.config_path)) break;
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "omniloop detokenize: unknown option '" << a << "'\n" << kHelp;
      return 2;
    } else if (token.empty()) {
      token = a;
    } else {
      std::cerr << "omniloop detokenize: one token at a time\n" << kHelp;
      return 2;
    }
  }
  if (token.empty() || !has_reason || reason.empty()) {
    std::cerr << "omniloop detokenize: give a TOKEN and --reason TEXT (the reason is audited)\n"
              << kHelp;
    return 2;
  }
  if (!privacy::VaultCipher::isToken(token)) {
    std::cerr << "omniloop detokenize: '" << token
              << "' is not a vault token (tokens start with tk1:)\n";
    return 2;
  }
  options.read_only = true;  // a mistyped store path is an error, never a new store or key
  Runtime rt(options);
  store::Vault& vault = rt.vault(/*create=*/false);
  const std::string_view key_id = privacy::VaultCipher::tokenKeyId(token);
  if (key_id != vault.cipher().keyId()) {
    std::cerr << "omniloop detokenize: the token was made with vault key " << key_id
              << ", the configured vault key is " << vault.cipher().keyId()
              << ": set vault_key_file to that key\n";
    return 1;
  }
  const std::optional<std::string> clear = vault.reveal(token);
  store::AuditRow row;
  row.at = nowMicros();
  row.actor = osUser();
  row.action = "detokenize";
  row.subject = token;
  row.details.clear();
  {
    event::JsonObjectWriter o(row.details);
    o.text("reason", reason);
    o.text("found", clear ? "yes" : "no");
    o.text("vault_key_id", vault.cipher().keyId());
  }
  rt.store().appendAudit(row);  // also for a miss: the attempt is what is audited
  if (!clear) {
    std::cerr << "omniloop detokenize: no vault entry for " << token
              << " (unknown, erased or expired)\n";
    return 1;
  }
  std::cout << *clear << "\n";
  return 0;
}

}  // namespace omniloop::app
