#include "privacy/file_access.h"

#include <cstdio>

namespace omniloop::privacy {

OtherWriters otherWriters(const struct stat& st, uid_t trusted_uid) {
  if (st.st_uid != 0 && st.st_uid != trusted_uid) return OtherWriters::kOtherOwner;
  if ((st.st_mode & S_IWOTH) != 0) return OtherWriters::kEveryone;
  if ((st.st_mode & S_IWGRP) != 0) return OtherWriters::kGroup;
  return OtherWriters::kNone;
}

std::string describe(OtherWriters who, const struct stat& st, uid_t trusted_uid) {
  switch (who) {
    case OtherWriters::kNone:
      return {};
    case OtherWriters::kOtherOwner:
      return "owned by uid " + std::to_string(st.st_uid) +
             ", neither root nor the service user (uid " + std::to_string(trusted_uid) + ")";
    case OtherWriters::kGroup:
      return "writable by its group (mode " + modeText(st) + ")";
    case OtherWriters::kEveryone:
      return "writable by every user (mode " + modeText(st) + ")";
  }
  return {};
}

bool accessibleByEveryone(const struct stat& st) {
  return (st.st_mode & 007) != 0;
}

std::string modeText(const struct stat& st) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return buf;
}

}  // namespace omniloop::privacy
