#pragma once
// Who besides the owner could change or read a file: the checks omniloop applies to what it
// trusts with code or secrets (plugin files and their directories; key and token files).
#include <sys/stat.h>
#include <sys/types.h>

#include <string>

namespace omniloop::privacy {

enum class OtherWriters {
  kNone,        // only root and the trusted user can change it
  kOtherOwner,  // owned by someone else (who can chmod it at will)
  kGroup,       // group-writable
  kEveryone,    // world-writable
};

// Checks the owner first (root or `trusted_uid`, normally geteuid()), then the mode.
OtherWriters otherWriters(const struct stat& st, uid_t trusted_uid);

// The clause for a finding: "writable by its group (mode 0775)", "writable by every user (mode
// 0777)", "owned by uid 65534, neither root nor the service user (uid 0)"; "" for kNone.
std::string describe(OtherWriters who, const struct stat& st, uid_t trusted_uid);

// True when users other than the owner and the group may access the file (mode & 007): group
// access is how operators share a secret file (root:omniloop 0640); everyone is too many.
bool accessibleByEveryone(const struct stat& st);

// The permission bits as four octal digits: "0640".
std::string modeText(const struct stat& st);

}  // namespace omniloop::privacy
