#include "event/arena.h"

#include <algorithm>

namespace omniloop::event {

void Arena::grow(size_t min) {
  size_t size = std::max(block_size_, min);
  // Not value-initialised: every byte is written before it is read (no memset of the block).
  blocks_.push_back(std::unique_ptr<char[]>(new char[size]));
  sizes_.push_back(size);
  cursor_ = blocks_.back().get();
  remaining_ = size;
}

void Arena::reset() {
  if (blocks_.empty()) return;
  // Keep the largest block: a recycled batch of similar records then allocates nothing.
  size_t largest = 0;
  for (size_t i = 1; i < sizes_.size(); ++i) {
    if (sizes_[i] > sizes_[largest]) largest = i;
  }
  std::swap(blocks_[0], blocks_[largest]);
  std::swap(sizes_[0], sizes_[largest]);
  blocks_.resize(1);
  sizes_.resize(1);
  cursor_ = blocks_.front().get();
  remaining_ = sizes_.front();
}

size_t Arena::bytesReserved() const {
  size_t total = 0;
  for (size_t s : sizes_) total += s;
  return total;
}

}  // namespace omniloop::event
