#include "config/suggest.h"

#include <algorithm>

#include "config/loader.h"

namespace omniloop::config {

namespace {
char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}
}  // namespace

size_t editDistance(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  const size_t m = b.size();
  // Three rows: two back (for transpositions), previous, current.
  std::vector<size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (size_t j = 0; j <= m; ++j) prev[j] = j;
  for (size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1])) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

std::string closestMatch(const std::string& word, const std::vector<std::string>& candidates) {
  // Close enough: at most 2 edits, or a third of the word for long words; and never as many
  // edits as either word has characters ("id" is not a typo of "to").
  const size_t limit = std::max<size_t>(2, word.size() / 3);
  std::string best;
  size_t best_distance = limit + 1;
  for (const std::string& c : candidates) {
    const size_t d = editDistance(word, c);
    if (d < best_distance && d < word.size() && d < c.size()) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

std::string didYouMeanOrKnown(const std::string& word, const std::vector<std::string>& known,
                              std::string_view what) {
  if (known.empty()) return {};
  const std::string close = closestMatch(word, known);
  if (!close.empty()) return "did you mean '" + close + "'?";
  return "known " + std::string(what) + ": " + joinNames(known);
}

std::string didYouMeanAndKnown(const std::string& word, const std::vector<std::string>& known,
                               std::string_view what) {
  if (known.empty()) return {};
  const std::string close = closestMatch(word, known);
  std::vector<std::string> ordered;
  std::string out;
  if (!close.empty()) {
    out = "did you mean '" + close + "'? ";
    ordered.push_back(close);
  }
  for (const std::string& k : known) {
    if (k != close) ordered.push_back(k);
  }
  return out + "known " + std::string(what) + ": " + joinNames(ordered);
}

}  // namespace omniloop::config
