#pragma once
// Bearer-token authentication of the admin API.
#include <optional>
#include <string>
#include <string_view>

namespace omniloop::admin {

// Compares two byte strings in time that depends only on their lengths, never on where they
// differ (so a caller cannot find a token byte by byte by timing the answers).
bool constantTimeEquals(std::string_view a, std::string_view b);

// The token of an `Authorization: Bearer <token>` header value; nullopt for any other scheme
// or an empty token. The scheme name is case-insensitive (RFC 7235).
std::optional<std::string_view> bearerToken(std::string_view authorization);

// Reads the token file: its content with surrounding whitespace removed. Throws
// std::runtime_error naming the file when it is missing, unreadable, empty or longer than 4 KiB.
// `warning` receives a sentence when every user may read the file (mode & 007); group access
// is fine (the package shares the token with the group omniloop).
std::string loadTokenFile(const std::string& path, std::string* warning = nullptr);

}  // namespace omniloop::admin
