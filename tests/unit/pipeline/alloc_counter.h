#pragma once
// Counts heap allocations (global operator new) between start() and stop(), so tests can prove
// a hot path allocates nothing. Link alloc_counter.cpp into the test binary.
#include <cstddef>

namespace omniloop::test_support {

void startCountingAllocations();
// Allocations since startCountingAllocations().
size_t stopCountingAllocations();

}  // namespace omniloop::test_support
