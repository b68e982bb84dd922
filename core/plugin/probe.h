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

// The time all plugin probes of one discovery share (they run in parallel): a plugin that hangs
// while loading costs start-up this much at most, however many there are. The systemd unit's
// TimeoutStartSec= leaves room for it (packaging/omniloop.service).
inline constexpr int kProbeBudgetMs = 10000;
// Probe children running at the same time at most.
inline constexpr size_t kMaxParallelProbes = 16;

// A plugin file opened once: the descriptor is probed, digested and loaded (as
// /proc/self/fd/<fd>), so what runs is the file that was checked even when the path is replaced
// meanwhile. The descriptor stays open for the life of the process once the plugin is loaded.
struct PluginFile {
  std::string path;  // canonical path, for messages
  int fd = -1;
  std::string sha256;  // lower-case hex digest of the content, read through fd
  std::string loadPath() const { return "/proc/self/fd/" + std::to_string(fd); }
};

// Opens `path` (canonical) read-only and checks it: a regular file that only root and the
// service user (this process's effective uid) can change, in a directory only they can change;
// computes its sha256 from the descriptor. False with the reason (one line, says what to do).
bool openPluginFile(const std::string& path, PluginFile* out, std::string* reason);
// Why only root and the service user may change `dir`, or "" when that holds: the refusal of a
// plugin directory.
std::string untrustedDirectory(const std::string& dir);

// Probes the files in forked children, kMaxParallelProbes at a time, all within `budget_ms` of
// the call: one result per file, in order. A child still running at the deadline is killed
// ("timed out while loading"); a file not started by then is refused too.
std::vector<ProbeResult> probeFiles(const std::vector<const PluginFile*>& files, int budget_ms);

// Opens and probes one file; waits at most `timeout_ms`.
ProbeResult probeFile(const std::string& path, int timeout_ms = kProbeBudgetMs);

}  // namespace omniloop::plugin
