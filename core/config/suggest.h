#pragma once
// Suggestions for misspelt names (internal to config/). closestMatch() is in config/loader.h.
#include <string>
#include <string_view>
#include <vector>

namespace omniloop::config {

// Optimal-string-alignment edit distance (Levenshtein plus adjacent transpositions), ASCII
// case-insensitive.
size_t editDistance(std::string_view a, std::string_view b);

// "a, b, c".
std::string joinNames(const std::vector<std::string>& names);

// For an unknown name among `known`: "did you mean 'x'?" when one is close, else
// "known <what>: a, b, c" ("" when `known` is empty).
std::string didYouMeanOrKnown(const std::string& word, const std::vector<std::string>& known,
                              std::string_view what);
// Always lists `known` (closest first): "did you mean 'x'? known <what>: x, a, b".
std::string didYouMeanAndKnown(const std::string& word, const std::vector<std::string>& known,
                               std::string_view what);

}  // namespace omniloop::config
