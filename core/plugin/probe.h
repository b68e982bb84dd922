#pragma once
// Checks a candidate plugin file before the host loads it into its own process: the ABI
// handshake rules (validateDescriptor) and a disposable child process that dlopens the file,
// calls its entry point and validates the descriptor (probeFile), so a plugin that crashes or
// hangs while loading costs a report, not the daemon.
#include <cstddef>
#include <string>
#include <vector>

#include "omniloop/plugin.h"

namespace omniloop::plugin {

// The ABI 1.0 sizes: the smallest descriptor and component a 1.x host accepts.
inline constexpr size_t kDescriptorSize10 = sizeof(ol_plugin_descriptor);
inline constexpr size_t kComponentSize10 = OL_COMPONENT_SIZE_1_0;

// A plugin's structs are read by the sizes the plugin declares, never by this host's sizeof:
// the component table is stepped through by the size of its first entry (componentStride) and
// each entry is copied into a zeroed host-sized struct (readComponent), so a field of a later
// minor reads as 0/NULL from a plugin built before it. Call these on a validated descriptor.
size_t componentStride(const ol_plugin_descriptor* d);
ol_component readComponent(const ol_plugin_descriptor* d, size_t index);
ol_plugin_descriptor readDescriptor(const ol_plugin_descriptor* d);
// The component's declared personal fields (ABI 1.1; empty for older plugins).
std::vector<std::string> personalFields(const ol_component& c);

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
