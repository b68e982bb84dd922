#pragma once
// Small text helpers the call-center connectors share: UTF-8 checks, Latin-1 conversion, stable
// hashes for natural keys, and PBX timestamps.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace omniloop::filetail {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool isValidUtf8(std::string_view s);
// Each byte as the Latin-1 (ISO 8859-1) character it stands for, in UTF-8.
std::string latin1ToUtf8(std::string_view s);

// FNV-1a 64 of `s` as 16 lower-case hex digits (natural keys that survive rotation).
std::string hashHex(std::string_view s);

// "+hh:mm", "-hh:mm", "+hhmm", "Z" or "UTC" -> seconds east of UTC.
std::optional<int64_t> parseUtcOffset(std::string_view text);
// "YYYY-MM-DD hh:mm:ss" (or with 'T') local time at `offset_seconds` -> µs since the epoch.
std::optional<int64_t> parseLocalTimestamp(std::string_view text, int64_t offset_seconds);
// ISO 8601 / RFC 3339 with a zone (Z, ±hh:mm) or none (UTC); fractions allowed -> µs.
std::optional<int64_t> parseIsoTimestamp(std::string_view text);
// µs since the epoch -> "YYYY-MM-DDThh:mm:ssZ" (UTC).
std::string formatIsoUtc(int64_t micros);

}  // namespace omniloop::filetail
