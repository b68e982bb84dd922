#pragma once
// The position both file sources commit with each batch:
//   "offset=<bytes>;inode=<ino>;path=<path>"
// offset is the byte position after the batch's last complete record; path comes last so it
// may itself contain ';' or '='.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace omniloop::files {

struct Cursor {
  uint64_t offset = 0;
  uint64_t inode = 0;
  std::string path;
};

std::string formatCursor(uint64_t offset, uint64_t inode, std::string_view path);
// nullopt when the text is not a cursor this plugin wrote.
std::optional<Cursor> parseCursor(std::string_view text);

}  // namespace omniloop::files
