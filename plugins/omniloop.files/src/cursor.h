#pragma once
// The position both file sources commit with each batch:
//   "offset=<bytes>;inode=<ino>;fp=<16 hex>;path=<path>"
// offset is the byte position after the batch's last complete record in the file whose
// fingerprint is fp (FileReader::fingerprint: the file's identity across rename, restart and
// copytruncate; 0 = not known yet, e.g. an empty file); inode is that file's inode when the
// cursor was taken. path comes last so it may itself contain ';' or '='. Cursors written before
// fingerprints existed ("offset=..;inode=..;path=..") still parse, with fp 0.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace omniloop::files {

struct Cursor {
  uint64_t offset = 0;
  uint64_t inode = 0;
  uint64_t fingerprint = 0;
  bool has_fingerprint = false;  // false: a cursor from before fingerprints
  std::string path;
};

std::string formatCursor(uint64_t offset, uint64_t inode, uint64_t fingerprint,
                         std::string_view path);
// nullopt when the text is not a cursor this plugin wrote.
std::optional<Cursor> parseCursor(std::string_view text);

// 16 lowercase hex digits into `out` (which must hold 16 chars).
void formatFingerprint(uint64_t fingerprint, char* out);

}  // namespace omniloop::files
