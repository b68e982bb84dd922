#pragma once
// The store's timestamps: microseconds since the Unix epoch (UTC), as every table keeps them.
#include <chrono>
#include <cstdint>

namespace omniloop::store {

inline int64_t nowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace omniloop::store
