#pragma once
// Pure helpers of the Mastodon source (no I/O): Link headers, id order, rate-limit headers, URLs.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace omniloop::mastodon {

// RFC 8288 Link header -> rel -> URL ("next", "prev"). Unparseable parts are skipped.
std::map<std::string, std::string> parseLinkHeader(std::string_view header);

// Mastodon ids are decimal strings (snowflake-like): numeric order, compared without overflow.
// Returns <0, 0, >0. Non-numeric ids compare as text after numeric ones of the same length.
int compareIds(std::string_view a, std::string_view b);
bool isNumericId(std::string_view id);

// X-RateLimit-Reset (ISO 8601 timestamp, as Mastodon sends it; epoch seconds accepted too) or
// Retry-After (delta seconds) -> µs since the epoch; nullopt when absent or unparseable.
std::optional<int64_t> parseResetTime(std::string_view reset, int64_t now_micros);
std::optional<int64_t> parseRetryAfter(std::string_view retry_after, int64_t now_micros);

struct Url {
  std::string scheme;  // lower case
  std::string host;    // lower case, without brackets
  int port = 0;        // explicit or the scheme's default
  std::string path;    // without a trailing '/'
};
// "https://host[:port][/prefix]" -> parts; nullopt when it is not such a URL.
std::optional<Url> parseBaseUrl(std::string_view url);
// The URL as it may appear in messages: user:password@ and access_token=... removed.
std::string redactUrl(std::string_view url);
// True when `url` has the same scheme, host and port as `base` (the token goes nowhere else).
bool sameOrigin(std::string_view url, const Url& base);
bool isLoopbackHost(std::string_view host);

// Percent-encodes a query value (RFC 3986 unreserved characters kept).
std::string urlEncode(std::string_view s);
// Text of an HTML fragment (tags removed, the common entities decoded, trimmed).
std::string htmlText(std::string_view html);

}  // namespace omniloop::mastodon
