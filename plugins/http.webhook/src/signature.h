#pragma once
// HMAC-SHA256 request signatures as SaaS senders write them: "sha256=<hex>" (GitHub, and
// Shopify-style senders) or bare hex; compared in constant time.
#include <string>
#include <string_view>

namespace omniloop::webhook {

// Lower-case hex HMAC-SHA256 of `message` under `secret`.
std::string hmacSha256Hex(std::string_view secret, std::string_view message);

// True when `header_value` ("sha256=<hex>" or "<hex>", hex in either case) is the HMAC-SHA256
// of `message` under `secret`. The comparison takes the same time wherever the first
// difference is.
bool signatureMatches(std::string_view secret, std::string_view message,
                      std::string_view header_value);

}  // namespace omniloop::webhook
