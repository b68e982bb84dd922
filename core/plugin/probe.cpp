#include "plugin/probe.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <set>
#include <string_view>
#include <thread>

namespace omniloop::plugin {

namespace {

constexpr size_t kMaxComponents = 4096;
constexpr size_t kMaxMessage = 4096;
constexpr size_t kMaxPersonalFields = 4096;

std::string version(unsigned major, unsigned minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

const char* kindName(uint32_t kind) {
  switch (kind) {
    case OL_SOURCE:
      return "source";
    case OL_STAGE:
      return "stage";
    case OL_SINK:
      return "sink";
    default:
      return nullptr;
  }
}

bool validTypeName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string validateComponent(const ol_component& c, size_t index) {
  if (!c.type || !*c.type) return "component #" + std::to_string(index) + " has no type name";
  const std::string type = c.type;
  if (!validTypeName(type)) {
    return "component type '" + type +
           "' is not a valid type name (use letters, digits, '.', '_', '-')";
  }
  const char* kind = kindName(c.kind);
  if (!kind) return "component '" + type + "' has unknown kind " + std::to_string(c.kind);
  const std::string named = "component '" + type + "' (" + kind + ")";
  if (!c.create) return named + " has no create callback";
  if (!c.destroy) return named + " has no destroy callback";
  if (c.kind == OL_SOURCE && !c.read) return named + " has no read callback";
  if (c.kind == OL_STAGE && !c.process) return named + " has no process callback";
  if (c.kind == OL_SINK && !c.write) return named + " has no write callback";
  if (c.personal_field_count > kMaxPersonalFields) {
    return named + " declares an implausible " + std::to_string(c.personal_field_count) +
           " personal fields";
  }
  if (c.personal_field_count > 0 && !c.personal_fields) {
    return named + " declares " + std::to_string(c.personal_field_count) +
           " personal fields but no array";
  }
  for (size_t i = 0; i < c.personal_field_count; ++i) {
    const char* f = c.personal_fields[i];
    if (!f || !*f) {
      return named + ": personal field #" + std::to_string(i) + " is empty";
    }
  }
  return {};
}

ProbeResult refused(std::string reason) {
  ProbeResult r;
  r.reason = std::move(reason);
  return r;
}

void writeAll(int fd, std::string_view s) {
  if (s.size() > kMaxMessage) s = s.substr(0, kMaxMessage);
  while (!s.empty()) {
    const ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<size_t>(n));
  }
}

// In the child: 'K' + plugin name, or 'E' + reason. Returns the exit code.
int childProbe(const std::string& path, int fd) {
  void* handle = ::dlopen(path.c_str(), RTLD_LAZY | RTLD_LOCAL);
  if (!handle) {
    const char* e = ::dlerror();
    writeAll(fd, std::string("Ecannot load: ") + (e ? e : "unknown dlopen error"));
    return 2;
  }
  void* sym = ::dlsym(handle, OMNILOOP_PLUGIN_ENTRY_SYMBOL);
  if (!sym) {
    writeAll(fd, "Emissing entry point '" OMNILOOP_PLUGIN_ENTRY_SYMBOL
                 "' (build the plugin with OMNILOOP_PLUGIN or export the symbol with "
                 "OMNILOOP_EXPORT)");
    return 3;
  }
  auto entry = reinterpret_cast<ol_plugin_entry_fn>(sym);
  const ol_plugin_descriptor* d = entry(OMNILOOP_ABI_MAJOR, OMNILOOP_ABI_MINOR);
  const std::string reason = validateDescriptor(d);
  if (!reason.empty()) {
    writeAll(fd, "E" + reason);
    return 4;
  }
  writeAll(fd, std::string("K") + d->name);
  return 0;
}

}  // namespace

size_t componentStride(const ol_plugin_descriptor* d) {
  uint32_t size = 0;
  std::memcpy(&size, d->components, sizeof size);  // `size` leads every ABI version's struct
  return size;
}

ol_component readComponent(const ol_plugin_descriptor* d, size_t index) {
  const size_t stride = componentStride(d);
  ol_component c{};
  const auto* at = reinterpret_cast<const unsigned char*>(d->components) + index * stride;
  // The prefix this host and the plugin share; newer-minor fields the plugin lacks stay zero,
  // fields of a newer plugin this host does not know are not read.
  std::memcpy(&c, at, std::min(stride, sizeof c));
  return c;
}

ol_plugin_descriptor readDescriptor(const ol_plugin_descriptor* d) {
  ol_plugin_descriptor copy{};
  std::memcpy(&copy, d, std::min<size_t>(d->size, sizeof copy));
  return copy;
}

std::vector<std::string> personalFields(const ol_component& c) {
  std::vector<std::string> out;
  if (!c.personal_fields) return out;
  for (size_t i = 0; i < c.personal_field_count; ++i) {
    if (c.personal_fields[i] && *c.personal_fields[i]) out.emplace_back(c.personal_fields[i]);
  }
  return out;
}

std::string validateDescriptor(const ol_plugin_descriptor* d) {
  const std::string host = version(OMNILOOP_ABI_MAJOR, OMNILOOP_ABI_MINOR);
  if (!d) return "entry point returned no descriptor (the plugin refuses host ABI " + host + ")";
  constexpr size_t kVersionEnd = offsetof(ol_plugin_descriptor, abi_minor) + sizeof(uint16_t);
  if (d->size < kVersionEnd) {
    return "descriptor size " + std::to_string(d->size) + " is too small to hold an ABI version";
  }
  const std::string plugin = version(d->abi_major, d->abi_minor);
  if (d->abi_major != OMNILOOP_ABI_MAJOR) {
    return "plugin ABI " + plugin + ", host ABI " + host +
           ": rebuild the plugin against omniloop SDK " + std::to_string(OMNILOOP_ABI_MAJOR) + ".x";
  }
  if (d->abi_minor > OMNILOOP_ABI_MINOR) {
    return "plugin ABI " + plugin + ", host ABI " + host +
           ": rebuild the plugin against omniloop SDK " + host + " or upgrade omniloop";
  }
  if (d->size < kDescriptorSize10) {
    return "descriptor size " + std::to_string(d->size) + " is smaller than the ABI " +
           version(OMNILOOP_ABI_MAJOR, 0) + " descriptor (" + std::to_string(kDescriptorSize10) +
           " bytes)";
  }
  if (!d->name || !*d->name) return "descriptor has no plugin name";
  const std::string name = d->name;
  if (!validTypeName(name)) {
    return "plugin name '" + name + "' is not valid (use letters, digits, '.', '_', '-')";
  }
  if (!d->version || !*d->version) return "plugin '" + name + "' has no version";
  if (d->component_count == 0) return "plugin '" + name + "' provides no components";
  if (!d->components) {
    return "plugin '" + name + "' lists " + std::to_string(d->component_count) +
           " components but no component table";
  }
  if (d->component_count > kMaxComponents) {
    return "plugin '" + name + "' lists an implausible " + std::to_string(d->component_count) +
           " components";
  }
  // The table is stepped through by the component size the plugin was built with (a plugin
  // built against an older minor has smaller components than this host's).
  const size_t stride = componentStride(d);
  if (stride < kComponentSize10) {
    return "plugin '" + name + "': component #0: size " + std::to_string(stride) +
           " is smaller than the ABI " + version(OMNILOOP_ABI_MAJOR, 0) + " component (" +
           std::to_string(kComponentSize10) + " bytes)";
  }
  if (stride % alignof(ol_component) != 0) {
    return "plugin '" + name + "': component size " + std::to_string(stride) +
           " is not a multiple of " + std::to_string(alignof(ol_component)) +
           " (set each component's size to sizeof(ol_component))";
  }
  std::set<std::pair<uint32_t, std::string>> seen;
  for (size_t i = 0; i < d->component_count; ++i) {
    const ol_component c = readComponent(d, i);
    if (c.size != stride) {
      return "plugin '" + name + "': component #" + std::to_string(i) + " has size " +
             std::to_string(c.size) + " but component #0 has size " + std::to_string(stride) +
             " (every entry of the table must be a sizeof(ol_component))";
    }
    std::string reason = validateComponent(c, i);
    if (!reason.empty()) return "plugin '" + name + "': " + reason;
    if (!seen.emplace(c.kind, c.type).second) {
      return "plugin '" + name + "': " + kindName(c.kind) + " type '" + c.type +
             "' is listed twice";
    }
  }
  return {};
}

ProbeResult probeFile(const std::string& path, int timeout_ms) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return refused(std::string("cannot probe: pipe failed: ") + std::strerror(errno));
  }
  std::fflush(stdout);  // or the child would flush the parent's buffered output twice
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return refused(std::string("cannot probe: fork failed: ") + std::strerror(e));
  }
  if (pid == 0) {
    ::close(fds[0]);
    // Let a crash kill the child with its signal, even under a sanitizer's or the daemon's
    // own handlers, so it is reported as a crash.
    for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) ::signal(sig, SIG_DFL);
    const int code = childProbe(path, fds[1]);
    ::_exit(code);
  }
  ::close(fds[1]);

  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  auto remainingMs = [&] {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
  };

  std::string message;
  bool timed_out = false;
  char buf[512];
  for (;;) {
    pollfd p{fds[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, remainingMs());
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      timed_out = true;
      break;
    }
    const ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child exited (or closed the pipe)
    if (message.size() < kMaxMessage) message.append(buf, static_cast<size_t>(n));
  }
  ::close(fds[0]);

  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, timed_out ? 0 : WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return refused(std::string("cannot probe: waitpid failed: ") + std::strerror(errno));
    if (remainingMs() == 0) {  // the pipe closed but the child lingers
      timed_out = true;
      ::kill(pid, SIGKILL);
      continue;  // now wait blocking
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (timed_out && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
    return refused("timed out while loading (no answer after " + std::to_string(timeout_ms) +
                   " ms)");
  }
  if (WIFSIGNALED(status)) {
    return refused("crashed while loading (signal " + std::to_string(WTERMSIG(status)) + ")");
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !message.empty() && message[0] == 'K') {
    ProbeResult r;
    r.ok = true;
    r.name = message.substr(1);
    return r;
  }
  if (!message.empty() && message[0] == 'E') return refused(message.substr(1));
  return refused("probe exited with status " +
                 std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                 " without a verdict");
}

}  // namespace omniloop::plugin
