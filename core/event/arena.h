#pragma once
// Monotonic arena: one per batch. Strings of a batch's events live here; reset() keeps the
// largest block so a recycled batch allocates nothing in the steady state.
#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace omniloop::event {

class Arena {
 public:
  explicit Arena(size_t block_size = 64 * 1024) : block_size_(block_size) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  Arena(Arena&&) = default;
  Arena& operator=(Arena&&) = default;

  char* allocate(size_t n) {
    if (n > remaining_) grow(n);
    char* p = cursor_;
    cursor_ += n;
    remaining_ -= n;
    return p;
  }

  std::string_view copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = allocate(s.size());
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }

  // Frees everything but the largest block.
  void reset();
  size_t bytesReserved() const;

 private:
  void grow(size_t min);

  size_t block_size_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::vector<size_t> sizes_;
  char* cursor_ = nullptr;
  size_t remaining_ = 0;
};

}  // namespace omniloop::event
