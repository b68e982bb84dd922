#pragma once
// Identities never leave in clear text: every sink but the CDP store (which pseudonymises them
// itself) is wrapped in this sink, which replaces each live event's $identities.* values by
// the store's pseudonym of them, "h1:<key id>:<hex>" — the same normalisation, key and HMAC as
// the store, so a pseudonym in a file matches the one in the store. A value its type's rule
// rejects is dropped, as the store drops it, and counted (identity_rejected, "<type>_invalid").
// A pipeline lets one sink receive clear values with `clear_identities: <reason>` on that sink
// (the sink is then not wrapped).
#include <memory>
#include <string>

#include "pipeline/component.h"
#include "privacy/keyed_hasher.h"
#include "privacy/normalize.h"

namespace omniloop::app {

// `hasher` must outlive the sink.
std::unique_ptr<pipeline::Sink> makePseudonymisingSink(std::unique_ptr<pipeline::Sink> inner,
                                                       const privacy::KeyedHasher& hasher,
                                                       privacy::NormalizeOptions normalize);

}  // namespace omniloop::app
