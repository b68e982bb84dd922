#include "app/keys_command.h"

#include <chrono>
#include <filesystem>
#include <iostream>

#include "app/detokenize_command.h"
#include "app/runtime.h"
#include "event/json.h"
#include "privacy/keyed_hasher.h"
#include "store/store.h"

namespace fs = std::filesystem;

namespace omniloop::app {

namespace {

constexpr const char* kHelp = R"(usage: omniloop keys status|rotate|retire [options]

The pseudonymisation key (key_file in omniloop.yaml, default omniloop.key beside a SQLite store)
turns identities into pseudonyms h1:<key id>:<HMAC>. A pseudonym cannot be re-hashed without the
clear value, so rotation has a dual-hash period:
  status   the current key id, and the previous one during a rotation
  rotate   writes a new key (mode 0600) into key_file and keeps the old one as
           <key_file>.previous. From then on new pseudonyms use the new key; an identity stored
           under the old key is renamed to its new pseudonym the first time its clear value is
           ingested again (same profile), and `omniloop profile --identity` finds either.
           Restart every omniloopd using the key file afterwards.
  retire   ends the period: deletes <key_file>.previous. Identities not seen since the
           rotation keep their old pseudonym, which nothing can match any more.
rotate and retire write an audit_log row (actor = the OS user). A key given through
OMNILOOP_KEY cannot be rotated here.

options:
  --reason TEXT         why (kept in the audit log)
  --store URI           CDP store (default: from omniloop.yaml)
  --config FILE         omniloop.yaml to use
Exit status: 0 done, 1 refused or failed, 2 usage.
)";

int64_t nowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void audit(Runtime& rt, const std::string& action, const std::string& subject,
           const std::string& previous_id, const std::string& reason) {
  store::AuditRow row;
  row.at = nowMicros();
  row.actor = osUser();
  row.action = action;
  row.subject = subject;
  row.details.clear();
  {
    event::JsonObjectWriter o(row.details);
    o.text("previous_key_id", previous_id);
    if (!reason.empty()) o.text("reason", reason);
  }
  rt.store().appendAudit(row);
}

}  // namespace

int runKeysCommand(const std::vector<std::string>& args) {
  RuntimeOptions options;
  std::string action, reason;
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
      if (!value(reason)) return 2;
    } else if (a == "--store") {
      if (!value(options.store_override)) return 2;
    } else if (a == "--config") {
      if (!value(options.config_path)) return 2;
    } else if (action.empty() && (a == "status" || a == "rotate" || a == "retire")) {
      action = a;
    } else {
      std::cerr << "omniloop keys: unexpected '" << a << "'\n" << kHelp;
      return 2;
    }
  }
  if (action.empty()) {
    std::cerr << "omniloop keys: give status, rotate or retire\n" << kHelp;
    return 2;
  }
  Runtime rt(options);
  if (std::getenv(privacy::KeyedHasher::kEnvVar) != nullptr &&
      *std::getenv(privacy::KeyedHasher::kEnvVar) != '\0') {
    std::cerr << "omniloop keys: the key comes from OMNILOOP_KEY; rotate it where it is kept, "
                 "or use key_file\n";
    return 1;
  }
  const std::string key_file = rt.keyFilePath();
  if (key_file.empty()) {
    std::cerr << "omniloop keys: no key file: set key_file in omniloop.yaml\n";
    return 1;
  }
  const std::string previous_file = Runtime::previousKeyPath(key_file);
  if (action == "status") {
    const privacy::KeyedHasher& current = rt.hasher();
    std::cout << "key file       " << key_file << "\n"
              << "current key    " << current.keyId() << "\n";
    if (const privacy::KeyedHasher* previous = rt.previousHasher()) {
      std::cout << "previous key   " << previous->keyId()
                << "  (rotation in progress: finish with `omniloop keys retire`)\n";
    }
    return 0;
  }
  if (action == "rotate") {
    if (fs::exists(previous_file)) {
      std::cerr << "omniloop keys: a rotation is still in its dual-hash period (" << previous_file
                << " exists): finish it with `omniloop keys retire` before rotating again\n";
      return 1;
    }
    const std::string old_id = privacy::KeyedHasher::loadKey(key_file).keyId();
    const std::string fresh = key_file + ".new";
    fs::remove(fresh);
    privacy::KeyedHasher::generateKeyFile(fresh);  // 0600, never over an existing file
    fs::rename(key_file, previous_file);
    fs::rename(fresh, key_file);
    const std::string new_id = rt.hasher().keyId();
    audit(rt, "key_rotate", new_id, old_id, reason);
    std::cout << "rotated: key " << old_id << " -> " << new_id << " (previous key kept in "
              << previous_file << " until `omniloop keys retire`)\n"
              << "restart every omniloopd that uses " << key_file << "\n";
    return 0;
  }
  // retire
  if (!fs::exists(previous_file)) {
    std::cerr << "omniloop keys: no rotation in progress (" << previous_file
              << " does not exist)\n";
    return 1;
  }
  const std::string old_id = privacy::KeyedHasher::loadKey(previous_file).keyId();
  const std::string current_id = rt.hasher().keyId();
  audit(rt, "key_retire", old_id, old_id, reason);
  fs::remove(previous_file);
  std::cout << "retired key " << old_id << "; current key " << current_id << "\n";
  return 0;
}

}  // namespace omniloop::app
