#pragma once
// `omniloop audit`: lists the audit log (erasures, exports, purges, detokenisations, key
// rotations): who, when, what, why and how many rows; never a clear personal value.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace omniloop::app {

// Exit status: 0 listed, 1 the store failed, 2 bad usage.
int runAuditCommand(const std::vector<std::string>& args);

// "2026-01-31", "2026-01-31T12:00:00Z" (UTC) -> µs; nullopt when malformed.
std::optional<int64_t> parseAuditDate(const std::string& text);

}  // namespace omniloop::app
