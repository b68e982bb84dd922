// The streaming POSLog parser of pos.poslog over arbitrary bytes, fed in chunks whose sizes the
// first two bytes choose (as the source feeds what each read returned). Checks what the source
// relies on: every byte is counted, transactions come out in file order inside the bytes fed,
// dead-letter raw bytes stay capped, and the chunking invents or alters no good transaction.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "poslog_parser.h"

namespace {

struct Found {
  uint64_t start, end, line;
  bool dead;
  bool operator==(const Found&) const = default;
};

std::vector<Found> run(std::string_view doc, size_t chunk_a, size_t chunk_b) {
  omniloop::poslog::PoslogParser parser;
  std::vector<Found> out;
  size_t at = 0;
  bool flip = false;
  uint64_t last_end = 0;
  auto collect = [&] {
    auto& ready = parser.ready();
    while (!ready.empty()) {
      const omniloop::poslog::Transaction& t = ready.front();
      if (t.start_offset > t.end_offset || t.end_offset > parser.consumed()) __builtin_trap();
      if (t.start_offset < last_end) __builtin_trap();
      if (t.raw.size() > omniloop::poslog::PoslogParser::kMaxRawBytes + 64) __builtin_trap();
      last_end = t.end_offset;
      // Good transactions must not depend on the chunking.
      if (t.error.empty()) out.push_back({t.start_offset, t.end_offset, t.line, false});
      ready.pop_front();
    }
  };
  for (;;) {
    while (at < doc.size()) {
      const size_t n = std::min(doc.size() - at, flip ? chunk_b : chunk_a);
      flip = !flip;
      parser.feed(doc.substr(at, n), false);
      at += n;
      collect();
      if (const auto back = parser.takeRewind()) {  // as the source re-reads its file
        if (*back >= at) __builtin_trap();
        parser.rewound(*back);
        at = static_cast<size_t>(*back);
      }
    }
    parser.feed({}, true);
    collect();
    const auto back = parser.takeRewind();
    if (!back) break;
    if (*back >= at) __builtin_trap();
    parser.rewound(*back);
    at = static_cast<size_t>(*back);
  }
  if (parser.consumed() != doc.size()) __builtin_trap();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t chunk_a = 1 + data[0] % 64;
  const size_t chunk_b = 1 + data[1] * 16;
  const std::string_view doc(reinterpret_cast<const char*>(data) + 2, size - 2);
  const std::vector<Found> chunked = run(doc, chunk_a, chunk_b);
  const std::vector<Found> whole = run(doc, doc.size() + 1, doc.size() + 1);
  // Every good transaction read in chunks is one the whole read finds, the same. After an
  // error whose token began reads earlier, the parser asks to be fed again from right after
  // its start (as the whole read resyncs there), so the converse should hold too:
  // OMNILOOP_FUZZ_POSLOG_STRICT=1 checks it (bench/fuzz.sh runs; the suite's short runs stay
  // on the one-way check while longer runs look for chunkings that still differ).
  static const bool strict = std::getenv("OMNILOOP_FUZZ_POSLOG_STRICT") != nullptr;
  if (strict && chunked != whole) __builtin_trap();
  size_t w = 0;
  for (const Found& f : chunked) {
    while (w < whole.size() && whole[w].start < f.start) ++w;
    if (w == whole.size() || !(whole[w] == f)) __builtin_trap();
  }
  return 0;
}
