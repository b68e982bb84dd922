#pragma once
// omniloop.files' plugin tests drive the plugin as built through the SDK's stand-in host
// (plugins/sdk/testing/test_host.h, the one every connector's tests use), named omniloop.files,
// plus what reads this plugin's default natural keys.
#include <string>

#include "test_host.h"

namespace filestest {

using namespace plugintest;  // Plugin, Ev, scratchDir, ... as the tests have always named them

// The offset in a default natural key "<16 hex fingerprint>:<offset>" (with `prefix` before
// it, e.g. "offset:" for a missing key field); "<not an offset key: ...>" otherwise.
std::string offsetOf(const std::string& key, const std::string& prefix = "");
// The fingerprint part of such a key.
std::string fingerprintOf(const std::string& key, const std::string& prefix = "");

}  // namespace filestest
