#include "files_test_host.h"

namespace filestest {

namespace {

// Every test of this binary loads omniloop.files: named before main runs.
[[maybe_unused]] const bool kNamed = (Plugin::setPluginName("omniloop.files"), true);

bool isOffsetKey(const std::string& key, const std::string& prefix) {
  if (key.size() < prefix.size() + 18 || key.compare(0, prefix.size(), prefix) != 0) return false;
  for (size_t i = prefix.size(); i < prefix.size() + 16; ++i) {
    const char c = key[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return key[prefix.size() + 16] == ':';
}

}  // namespace

std::string offsetOf(const std::string& key, const std::string& prefix) {
  if (!isOffsetKey(key, prefix)) return "<not an offset key: " + key + ">";
  return key.substr(prefix.size() + 17);
}

std::string fingerprintOf(const std::string& key, const std::string& prefix) {
  if (!isOffsetKey(key, prefix)) return "<not an offset key: " + key + ">";
  return key.substr(prefix.size(), 16);
}

}  // namespace filestest
