#pragma once
// How the SQLite dialect stores keys (schemas/cdp/sqlite/0002_identity.sql): a canonical
// profile or event id (32 lowercase hex) as 16 bytes, a pseudonym "h1:<8 hex>:<64 hex>" as
// 36 bytes (key id, then HMAC); any other value stays text, unchanged. Shared by SqliteStore
// and OdbcStore on a SQLite database, so both read and write the same rows.
#include <cstddef>
#include <string>
#include <string_view>

namespace omniloop::store::sqlite_keys {

inline constexpr size_t kIdBytes = 16;
inline constexpr size_t kHashBytes = 36;

// A key ready to bind: `size` bytes when `blob`, else `text` as is.
struct BoundKey {
  unsigned char bytes[kHashBytes];
  size_t size = 0;
  bool blob = false;
  std::string_view text;
};

// The bytes of a canonical id / pseudonym; false for any other value (`out` is then scratch).
bool idBytes(std::string_view id, unsigned char* out);
bool hashBytes(std::string_view hash, unsigned char* out);

// `text` as the dialect binds it (`out.text` views `text`: keep it alive while bound).
void encodeId(std::string_view id, BoundKey& out);
void encodeHash(std::string_view hash, BoundKey& out);
// The key as text, bound as is (a dialect that stores text).
void keepText(std::string_view text, BoundKey& out);

// The text forms of stored BLOBs: an id's hex; a 36-byte hash's pseudonym (other lengths: hex).
std::string idText(std::string_view bytes);
std::string hashText(std::string_view bytes);

}  // namespace omniloop::store::sqlite_keys
