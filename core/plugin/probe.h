#pragma once
// Checks a candidate plugin file before the host loads it into its own process: the ABI
// handshake rules (validateDescriptor) and a disposable child process that dlopens the file,
// calls its entry point and validates the descriptor (probeFile), so a plugin that crashes or
// hangs while loading costs a report, not the daemon.
#include <string>

#include "omniloop/plugin.h"

namespace omniloop::plugin {

// Empty when the descriptor is usable by this host, else the reason (one line, no path).
std::string validateDescriptor(const ol_plugin_descriptor* d);

struct ProbeResult {
  bool ok = false;
  std::string reason;  // when !ok
  std::string name;    // the plugin's name when ok
};

// Runs the load in a forked child; waits at most `timeout_ms`.
ProbeResult probeFile(const std::string& path, int timeout_ms = 10000);

}  // namespace omniloop::plugin
