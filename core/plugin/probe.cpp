#include "plugin/probe.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>
#include <string_view>
#include <thread>

#include "privacy/file_access.h"

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

// The loader's message about `load_path` (/proc/self/fd/N) with the file's own path in its place.
std::string loaderError(const std::string& load_path, const std::string& path) {
  const char* e = ::dlerror();
  std::string text = e ? e : "unknown dlopen error";
  for (size_t at = text.find(load_path); at != std::string::npos;
       at = text.find(load_path, at + path.size())) {
    text.replace(at, load_path.size(), path);
  }
  return text;
}

// In the child: 'K' + plugin name, or 'E' + reason. Returns the exit code.
int childProbe(const PluginFile& file, int fd) {
  const std::string load_path = file.loadPath();
  void* handle = ::dlopen(load_path.c_str(), RTLD_LAZY | RTLD_LOCAL);
  if (!handle) {
    writeAll(fd, "Ecannot load: " + loaderError(load_path, file.path));
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

// sha256 of the whole file behind `fd`, read with pread (the file offset is left alone).
bool digestFile(int fd, std::string* hex, std::string* error) {
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    *error = "cannot compute its sha256 (OpenSSL failed)";
    return false;
  }
  std::vector<unsigned char> buf(1 << 16);
  off_t at = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = std::string("cannot read it: ") + std::strerror(errno);
      return false;
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(n));
    at += n;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1) {
    *error = "cannot compute its sha256 (OpenSSL failed)";
    return false;
  }
  static const char* kHex = "0123456789abcdef";
  hex->clear();
  for (unsigned int i = 0; i < len; ++i) {
    hex->push_back(kHex[md[i] >> 4]);
    hex->push_back(kHex[md[i] & 0xf]);
  }
  return true;
}

// A child started by probeFiles.
struct Running {
  size_t index = 0;
  pid_t pid = -1;
  int pipe = -1;
  bool eof = false;  // the child closed its end (it is exiting)
  std::string message;
};

// Forks the probe child of `file`. False (and `failure`) when the child cannot be started.
bool startProbe(const PluginFile& file, Running* r, ProbeResult* failure) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    *failure = refused(std::string("cannot probe: pipe failed: ") + std::strerror(errno));
    return false;
  }
  std::fflush(stdout);  // or the child would flush the parent's buffered output twice
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int e = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    *failure = refused(std::string("cannot probe: fork failed: ") + std::strerror(e));
    return false;
  }
  if (pid == 0) {
    ::close(fds[0]);
    // Let a crash kill the child with its signal, even under a sanitizer's or the daemon's
    // own handlers, so it is reported as a crash.
    for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT}) ::signal(sig, SIG_DFL);
    const int code = childProbe(file, fds[1]);
    ::_exit(code);
  }
  ::close(fds[1]);
  r->pid = pid;
  r->pipe = fds[0];
  return true;
}

// The verdict of a child that exited (or was killed at the deadline).
ProbeResult verdict(int status, const std::string& message, bool timed_out, int budget_ms) {
  if (timed_out && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
    return refused("timed out while loading (no answer after " + std::to_string(budget_ms) +
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

int waitChild(pid_t pid, int options, int* status) {
  for (;;) {
    const pid_t r = ::waitpid(pid, status, options);
    if (r < 0 && errno == EINTR) continue;
    return r;
  }
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

std::string untrustedDirectory(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return {};  // reported where it is read
  const uid_t me = ::geteuid();
  const privacy::OtherWriters who = privacy::otherWriters(st, me);
  if (who == privacy::OtherWriters::kNone) return {};
  return "refused: the plugin directory is " + privacy::describe(who, st, me) +
         ", so others than root and the service user could place or replace plugins; " +
         (who == privacy::OtherWriters::kOtherOwner ? "chown root " : "chmod go-w ") + dir;
}

bool openPluginFile(const std::string& path, PluginFile* out, std::string* reason) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    *reason = std::string("cannot open: ") + std::strerror(errno);
    return false;
  }
  auto refuse = [&](std::string why) {
    ::close(fd);
    *reason = std::move(why);
    return false;
  };
  struct stat st {};
  if (::fstat(fd, &st) != 0) return refuse(std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return refuse("not a regular file");
  const uid_t me = ::geteuid();
  // The descriptor's own inode: what is checked here is what is probed and loaded below.
  const privacy::OtherWriters who = privacy::otherWriters(st, me);
  if (who != privacy::OtherWriters::kNone) {
    return refuse("refused: the file is " + privacy::describe(who, st, me) +
                  (who == privacy::OtherWriters::kOtherOwner ? ", who"
                                                             : ", so others than root "
                                                               "and the service user") +
                  " could change the code omniloop runs; " +
                  (who == privacy::OtherWriters::kOtherOwner ? "chown root " : "chmod go-w ") +
                  path);
  }
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash ? slash : 1);
  struct stat dst {};
  if (::stat(dir.c_str(), &dst) == 0) {
    const privacy::OtherWriters dir_who = privacy::otherWriters(dst, me);
    if (dir_who != privacy::OtherWriters::kNone) {
      return refuse(
          "refused: its directory " + dir + " is " + privacy::describe(dir_who, dst, me) +
          ", so others than root and the service user could replace it; " +
          (dir_who == privacy::OtherWriters::kOtherOwner ? "chown root " : "chmod go-w ") + dir);
    }
  }
  std::string error;
  PluginFile file;
  file.path = path;
  file.fd = fd;
  if (!digestFile(fd, &file.sha256, &error)) return refuse(error);
  *out = std::move(file);
  return true;
}

std::vector<ProbeResult> probeFiles(const std::vector<const PluginFile*>& files, int budget_ms) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(budget_ms);
  auto remainingMs = [&] {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return left.count() > 0 ? static_cast<int>(left.count()) : 0;
  };
  std::vector<ProbeResult> results(files.size());
  std::vector<Running> running;
  size_t next = 0;
  char buf[512];
  for (;;) {
    while (running.size() < kMaxParallelProbes && next < files.size() && remainingMs() > 0) {
      Running r;
      r.index = next;
      if (startProbe(*files[next], &r, &results[next])) running.push_back(std::move(r));
      ++next;
    }
    if (running.empty()) break;
    // Children that closed their pipe are exiting: collect their verdicts.
    bool lingering = false;
    for (size_t i = 0; i < running.size();) {
      Running& r = running[i];
      int status = 0;
      // (ECHILD: SIGCHLD is ignored, so the child was reaped already; its message tells.)
      const pid_t reaped = r.eof ? waitChild(r.pid, WNOHANG, &status) : 0;
      if (reaped == r.pid || (reaped < 0 && errno == ECHILD)) {
        results[r.index] = verdict(status, r.message, false, budget_ms);
        running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      lingering = lingering || r.eof;
      ++i;
    }
    if (running.empty()) continue;
    const int left = remainingMs();
    if (left == 0) {  // the budget is spent: whatever still runs hangs
      for (Running& r : running) {
        ::kill(r.pid, SIGKILL);
        int status = 0;
        waitChild(r.pid, 0, &status);
        if (r.pipe >= 0) ::close(r.pipe);
        results[r.index] = verdict(status, r.message, true, budget_ms);
      }
      running.clear();
      continue;
    }
    std::vector<pollfd> polls;
    std::vector<size_t> owners;
    for (size_t i = 0; i < running.size(); ++i) {
      if (running[i].eof) continue;
      polls.push_back(pollfd{running[i].pipe, POLLIN, 0});
      owners.push_back(i);
    }
    // A lingering child (pipe closed, not exited yet) is looked at again shortly.
    const int wait = lingering ? std::min(left, 2) : left;
    if (polls.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(wait));
      continue;
    }
    const int ready = ::poll(polls.data(), polls.size(), wait);
    if (ready <= 0) continue;  // timeout or EINTR: look again
    for (size_t k = 0; k < polls.size(); ++k) {
      if (polls[k].revents == 0) continue;
      Running& r = running[owners[k]];
      const ssize_t n = ::read(r.pipe, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {  // EOF: the child exited (or closed the pipe)
        ::close(r.pipe);
        r.pipe = -1;
        r.eof = true;
        continue;
      }
      if (r.message.size() < kMaxMessage) r.message.append(buf, static_cast<size_t>(n));
    }
  }
  for (size_t i = next; i < files.size(); ++i) {
    results[i] = refused("not probed: the plugin probe budget of " + std::to_string(budget_ms) +
                         " ms was spent on other plugins (remove the ones that hang)");
  }
  return results;
}

ProbeResult probeFile(const std::string& path, int timeout_ms) {
  PluginFile file;
  std::string reason;
  if (!openPluginFile(path, &file, &reason)) return refused(reason);
  ProbeResult r = probeFiles({&file}, timeout_ms).front();
  ::close(file.fd);
  return r;
}

}  // namespace omniloop::plugin
