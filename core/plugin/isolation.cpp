#include "plugin/isolation.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>

#include "plugin/batch_codec.h"
#include "plugin/worker_protocol.h"

extern char** environ;

#if defined(__SANITIZE_ADDRESS__)
#define OMNILOOP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OMNILOOP_ASAN 1
#endif
#endif

namespace omniloop::plugin {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// One worker process and the host's end of its socket.
class WorkerProcess {
 public:
  WorkerProcess(pid_t pid, int fd, uint64_t memory_limit_mb,
                std::unique_ptr<wire::SharedChannel> shared)
      : pid_(pid), fd_(fd), memory_limit_mb_(memory_limit_mb), shared_(std::move(shared)) {}
  ~WorkerProcess() {
    if (fd_ >= 0) ::close(fd_);  // the worker destroys its instance and exits
    if (pid_ <= 0) return;
    // A plugin whose destroy hangs gets two seconds.
    const auto until = Clock::now() + std::chrono::seconds(2);
    while (Clock::now() < until) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_ || (r < 0 && errno != EINTR)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  // keep_stdout: the worker's standard output is the host's (a sink may write there);
  // otherwise it goes to standard error.
  static std::unique_ptr<WorkerProcess> spawn(const std::string& exe, uint64_t memory_limit_mb,
                                              bool keep_stdout, std::string& error);

  int fd() const { return fd_; }
  // The shared channel once the worker said it mapped it (Ready), else null: the socket.
  const wire::SharedChannel* channel() const { return shared_ready_ ? shared_.get() : nullptr; }
  void sharedReady(bool ready) { shared_ready_ = ready && shared_ != nullptr; }

  // Ends the worker (killing it when `kill_first`, or when it does not exit by itself within a
  // second) and says why it is gone.
  WorkerFailure reap(bool kill_first, bool timed_out, std::chrono::milliseconds timeout) {
    ::close(fd_);
    fd_ = -1;
    if (kill_first) ::kill(pid_, SIGKILL);
    int status = 0;
    rusage ru{};
    const auto until = Clock::now() + std::chrono::seconds(1);
    for (;;) {
      const pid_t r = ::wait4(pid_, &status, WNOHANG, &ru);
      if (r == pid_) break;
      if (r < 0 && errno != EINTR) {
        status = 0;
        break;
      }
      if (Clock::now() >= until) {
        ::kill(pid_, SIGKILL);
        while (::wait4(pid_, &status, 0, &ru) < 0 && errno == EINTR) {
        }
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    pid_ = -1;
    WorkerFailure f;
    if (timed_out) {
      f.kind = WorkerFailure::Kind::Timeout;
      f.reason = "plugin timed out (no answer within " + std::to_string(timeout.count()) + " ms)";
      f.label = "timeout";
      return f;
    }
    // ru_maxrss is in KiB. Near the limit, the signal or exit is the allocation failing.
    const bool near_limit = memory_limit_mb_ > 0 &&
                            static_cast<uint64_t>(ru.ru_maxrss) >= memory_limit_mb_ * 1024 * 3 / 4;
    if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0)) {
      if (near_limit) {
        f.kind = WorkerFailure::Kind::MemoryLimit;
        f.code = WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status);
        f.reason =
            "plugin exceeded its memory limit (" + std::to_string(memory_limit_mb_) + " MiB)";
        f.label = "memory_limit";
        return f;
      }
    }
    if (WIFSIGNALED(status)) {
      f.kind = WorkerFailure::Kind::Signal;
      f.code = WTERMSIG(status);
      f.reason = "plugin crashed (signal " + std::to_string(f.code) + ")";
      f.label = "signal " + std::to_string(f.code);
    } else if (WIFEXITED(status) && !kill_first) {
      f.kind = WorkerFailure::Kind::Exit;
      f.code = WEXITSTATUS(status);
      f.reason = "plugin worker exited (status " + std::to_string(f.code) + ")";
      f.label = "exit " + std::to_string(f.code);
    } else {
      f.kind = WorkerFailure::Kind::Protocol;
      f.reason = "plugin worker sent a malformed answer";
      f.label = "protocol";
    }
    return f;
  }

 private:
  pid_t pid_;
  int fd_;
  uint64_t memory_limit_mb_;
  std::unique_ptr<wire::SharedChannel> shared_;
  bool shared_ready_ = false;
};

namespace {

std::string exeDir() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : self.parent_path().string();
}

std::string signalName(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : std::string("unknown signal");
}

// The environment a worker starts with: ours, and under AddressSanitizer the options that let
// the worker die of its signals (so the host sees "signal 11", not ASan's exit 1) and enforce
// the memory limit (ASan reserves terabytes of address space: RLIMIT_AS cannot work there).
std::vector<std::string> workerEnvironment(uint64_t memory_limit_mb) {
  std::vector<std::string> env;
  std::string asan;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.rfind("ASAN_OPTIONS=", 0) == 0) {
      asan = std::string(kv.substr(13));
      continue;
    }
    env.emplace_back(kv);
  }
#ifdef OMNILOOP_ASAN
  if (!asan.empty()) asan += ':';
  asan += "handle_segv=0:handle_sigbus=0:handle_sigfpe=0:handle_abort=0:detect_leaks=0";
  if (memory_limit_mb > 0) asan += ":hard_rss_limit_mb=" + std::to_string(memory_limit_mb);
#else
  (void)memory_limit_mb;
#endif
  if (!asan.empty()) env.push_back("ASAN_OPTIONS=" + asan);
  return env;
}

}  // namespace

std::unique_ptr<WorkerProcess> WorkerProcess::spawn(const std::string& exe,
                                                    uint64_t memory_limit_mb, bool keep_stdout,
                                                    std::string& error) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    error = std::string("socketpair failed: ") + std::strerror(errno);
    return nullptr;
  }
  // Batches are megabytes: large socket buffers mean few wake-ups per batch.
  const int buffer = 4 << 20;
  for (int fd : sv) {
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);
  }
  // Large payloads go through shared memory (wire::SharedChannel); without one (memfd or mmap
  // refused) everything goes over the socket, only slower.
  std::string shared_error;
  std::unique_ptr<wire::SharedChannel> shared =
      wire::SharedChannel::create(wire::SharedChannel::kDefaultBytes, shared_error);
  if (!shared) spdlog::debug("plugin worker without shared memory: {}", shared_error);
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  const std::vector<std::string> env = workerEnvironment(memory_limit_mb);
  std::vector<char*> envp;
  for (const std::string& kv : env) envp.push_back(const_cast<char*>(kv.c_str()));
  envp.push_back(nullptr);
  std::string arg0 = exe, arg1 = "--fd", arg2 = "3", arg3 = "--shared-fd", arg4 = "4",
              arg5 = "--shared-bytes", arg6 = std::to_string(wire::SharedChannel::kDefaultBytes);
  char* argv[] = {arg0.data(), arg1.data(), arg2.data(), arg3.data(),
                  arg4.data(), arg5.data(), arg6.data(), nullptr};
  if (!shared) argv[3] = nullptr;
  const int shared_fd = shared ? shared->fd() : -1;  // >= 5 (SharedChannel::create)
#ifdef OMNILOOP_ASAN
  const bool limit_address_space = false;
#else
  const bool limit_address_space = memory_limit_mb > 0;
#endif
  rlimit limit{};
  // The shared channel is the host's, not the plugin's: the limit grows by its mapping.
  limit.rlim_cur = limit.rlim_max = static_cast<rlim_t>(memory_limit_mb) * 1024 * 1024 +
                                    (shared ? 2 * static_cast<rlim_t>(shared->bytes()) : 0);

  const pid_t pid = ::fork();
  if (pid < 0) {
    error = std::string("fork failed: ") + std::strerror(errno);
    ::close(sv[0]);
    ::close(sv[1]);
    return nullptr;
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // Ctrl-C and systemd's SIGTERM to the whole group are for the host, which drains and then
    // closes our socket; the worker ends then.
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGTERM, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    ::signal(SIGPIPE, SIG_DFL);
    if (sv[1] == 3) {
      ::fcntl(3, F_SETFD, 0);
    } else if (::dup2(sv[1], 3) < 0) {
      ::_exit(126);
    }
    if (shared_fd >= 0 && ::dup2(shared_fd, 4) < 0) ::_exit(126);
    if (!keep_stdout) ::dup2(2, 1);  // a stage's printf must not land in the host's stdout
    ::close_range(shared_fd >= 0 ? 5 : 4, ~0U, 0);
    if (limit_address_space) ::setrlimit(RLIMIT_AS, &limit);
    ::execve(exe.c_str(), argv, envp.data());
    ::_exit(127);
  }
  ::close(sv[1]);
  ::fcntl(sv[0], F_SETFL, ::fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  return std::make_unique<WorkerProcess>(pid, sv[0], memory_limit_mb, std::move(shared));
}

std::string findWorkerExecutable() {
  if (const char* env = std::getenv("OMNILOOP_PLUGIN_WORKER"); env && *env) return env;
  const std::string dir = exeDir();
  if (dir.empty()) return {};
  for (const fs::path& p : {fs::path(dir) / ".." / "lib" / "omniloop" / "omniloop-plugin-worker",
                            fs::path(dir) / "omniloop-plugin-worker"}) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return fs::weakly_canonical(p, ec).string();
  }
  return {};
}

namespace {

const char* kindName(IsolatedKind kind) {
  switch (kind) {
    case IsolatedKind::Source:
      return "source";
    case IsolatedKind::Sink:
      return "sink";
    case IsolatedKind::Stage:
      break;
  }
  return "stage";
}

}  // namespace

IsolatedComponent::IsolatedComponent(IsolatedKind kind, IsolatedPlugin plugin, InstanceContext ctx,
                                     IsolationOptions options)
    : kind_(kind),
      op_(static_cast<uint32_t>(kind == IsolatedKind::Sink ? wire::Frame::Write
                                                           : wire::Frame::Process)),
      plugin_(std::move(plugin)),
      context_(std::move(ctx), plugin_.type),
      options_(std::move(options)) {
  worker_path_ = options_.worker_path.empty() ? findWorkerExecutable() : options_.worker_path;
  if (worker_path_.empty()) {
    throw std::runtime_error(
        std::string("cannot run plugin ") + kindName(kind_) + " '" + plugin_.type +
        "' isolated: omniloop-plugin-worker not found in " + exeDir() +
        "/../lib/omniloop (reinstall omniloop, set OMNILOOP_PLUGIN_WORKER, or set "
        "'isolation: in_process' in the pipeline)");
  }
  std::string error;
  if (!ensureWorker(error)) throw std::runtime_error(error);
}

IsolatedComponent::~IsolatedComponent() = default;

std::string IsolatedComponent::who() const {
  return "pipeline '" + context_.instance().pipeline + "': plugin " + plugin_.name + ", " +
         kindName(kind_) + " type '" + plugin_.type + "' (" + context_.instance().component + ")";
}

bool IsolatedComponent::ensureWorker(std::string& error) {
  if (worker_) return true;
  if (crash_streak_ > 1) {
    // Keeps dying: back off (50 ms, doubling, at most 2 s) before the next start.
    const int shift = std::min(crash_streak_ - 2, 6);
    std::this_thread::sleep_for(
        std::min(std::chrono::milliseconds(50 << shift), std::chrono::milliseconds(2000)));
  }
  worker_ = WorkerProcess::spawn(worker_path_, options_.memory_limit_mb,
                                 /*keep_stdout=*/kind_ == IsolatedKind::Sink, error);
  if (!worker_) {
    error = who() + ": cannot start " + worker_path_ + ": " + error;
    return false;
  }
  ++starts_;
  std::string init;
  WireWriter w(init);
  w.str(plugin_.path);
  w.str(plugin_.type);
  w.str(context_.instance().pipeline);
  w.str(context_.instance().component);
  w.str(plugin_.config_json);
  w.i32(static_cast<int32_t>(spdlog::get_level()));
  w.i32(static_cast<int32_t>(kind_));
  // Starting includes loading the plugin and its create: the call timeout plus some slack.
  const wire::Deadline deadline = Clock::now() + options_.call_timeout + std::chrono::seconds(10);
  wire::IoStatus s = wire::writeFrame(worker_->fd(), wire::Frame::Init, init, deadline);
  wire::Frame type{};
  while (s == wire::IoStatus::Ok) {
    s = wire::readFrame(worker_->fd(), type, answer_, deadline);
    if (s != wire::IoStatus::Ok) break;
    if (type == wire::Frame::Log) {
      WireReader r(answer_);
      int32_t level = 0;
      std::string_view text;
      if (r.i32(level) && r.str(text) && level >= 0 && level <= SPDLOG_LEVEL_OFF) {
        spdlog::log(static_cast<spdlog::level::level_enum>(level), "{}", text);
      }
      continue;
    }
    if (type == wire::Frame::Ready) {
      worker_->sharedReady(answer_.size() == 1 && answer_[0] == 1);
      return true;
    }
    if (type == wire::Frame::InitFailed) {
      WireReader r(answer_);
      std::string_view reason;
      error = r.str(reason) ? std::string(reason) : std::string("the worker failed to start");
      worker_.reset();
      return false;
    }
    s = wire::IoStatus::Failed;
  }
  const WorkerFailure f = worker_->reap(s != wire::IoStatus::Closed, s == wire::IoStatus::Timeout,
                                        options_.call_timeout);
  worker_.reset();
  error = who() + ": the plugin worker failed while starting: " + f.reason;
  return false;
}

void IsolatedComponent::noteCrash(event::Batch* batch, const WorkerFailure& f, size_t records) {
  ++crash_streak_;
  std::string what = f.reason;
  if (f.kind == WorkerFailure::Kind::Signal) {
    what = "plugin crashed (signal " + std::to_string(f.code) + ", " + signalName(f.code) + ")";
  }
  if (kind_ == IsolatedKind::Source) {
    spdlog::error(
        "{}: {} while reading; restarting its worker and resuming it from the last "
        "position delivered",
        who(), what);
  } else {
    spdlog::error("{}: {} on a batch of {} record(s); restarting its worker{}", who(), what,
                  records, records > 1 ? " and bisecting the batch to find the record" : "");
  }
  if (batch) batch->count("plugin_crashes", f.label);
}

void IsolatedComponent::deadLetter(event::Batch& batch, uint32_t index, const std::string& reason) {
  event::Event& e = batch[index];
  e.disposition = event::Disposition::DeadLetter;
  e.reason = batch.intern(reason);
  spdlog::warn("{}: event {} dead-lettered: {}", who(), e.id.empty() ? e.key : e.id, reason);
}

WorkerFailure IsolatedComponent::discardWorker(bool kill, bool timed_out) {
  WorkerFailure f = worker_->reap(kill, timed_out, options_.call_timeout);
  worker_.reset();
  return f;
}

bool IsolatedComponent::exchange(uint32_t frame, std::string_view payload, WorkerFailure& failure,
                                 std::string* answer) {
  const wire::Deadline deadline = Clock::now() + options_.call_timeout;
  wire::IoStatus s = wire::writeFrame(worker_->fd(), static_cast<wire::Frame>(frame), payload,
                                      deadline, worker_->channel());
  if (s == wire::IoStatus::Ok) s = awaitResult(answer ? *answer : answer_, deadline);
  if (s == wire::IoStatus::Ok) return true;
  failure = discardWorker(/*kill=*/s != wire::IoStatus::Closed, s == wire::IoStatus::Timeout);
  return false;
}

wire::IoStatus IsolatedComponent::awaitResult(std::string& in, const wire::Deadline& deadline) {
  wire::Frame type{};
  for (;;) {
    const wire::IoStatus s = wire::readFrame(worker_->fd(), type, in, deadline, worker_->channel());
    if (s != wire::IoStatus::Ok) return s;
    if (type == wire::Frame::Result) return s;
    if (type != wire::Frame::Log) return wire::IoStatus::Failed;
    WireReader r(in);
    int32_t level = 0;
    std::string_view text;
    if (r.i32(level) && r.str(text) && level >= 0 && level <= SPDLOG_LEVEL_OFF) {
      spdlog::log(static_cast<spdlog::level::level_enum>(level), "{}", text);
    }
  }
}

namespace {

// The head of every Result: status, message, the plugin's counter deltas.
bool readAnswerHead(WireReader& r, int32_t& status, std::string_view& message,
                    std::vector<std::pair<std::string_view, int64_t>>& deltas) {
  uint32_t counters = 0;
  bool valid = r.i32(status) && status >= 0 &&
               status <= static_cast<int32_t>(pipeline::Status::Idle) && r.str(message) &&
               r.u32(counters);
  for (uint32_t k = 0; valid && k < counters; ++k) {
    std::string_view name;
    int64_t delta = 0;
    valid = r.str(name) && r.i64(delta);
    if (valid) deltas.emplace_back(name, delta);
  }
  return valid;
}

}  // namespace

void IsolatedComponent::encode(const event::Batch& batch, const std::vector<uint32_t>& indices,
                               std::string& request) const {
  request.clear();
  WireWriter w(request);
  w.u32(static_cast<uint32_t>(std::max(batch.capacity(), indices.size())));
  w.u32(static_cast<uint32_t>(indices.size()));
  for (uint32_t i : indices) w.event(batch[i]);
}

IsolatedComponent::CallResult IsolatedComponent::call(event::Batch& batch,
                                                      const std::vector<uint32_t>& indices,
                                                      bool whole) {
  CallResult out;
  std::string error;
  if (!ensureWorker(error)) {
    out.outcome = Outcome::Failed;
    out.result = pipeline::Result::error(error);
    return out;
  }
  // One request buffer for every call (its pages stay mapped from batch to batch). What the
  // plugin left unchanged comes back as references into it; the answer carries nothing for an
  // untouched event and only the new attributes for one the plugin added to, so only an event
  // the plugin rewrote has its strings copied into the batch's arena (the buffer is
  // overwritten by the next call).
  encode(batch, indices, request_);
  if (!exchange(op_, request_, out.failure)) {
    out.outcome = Outcome::Crashed;
    return out;
  }
  return apply(batch, indices, whole, request_);
}

IsolatedComponent::CallResult IsolatedComponent::apply(event::Batch& batch,
                                                       const std::vector<uint32_t>& indices,
                                                       bool whole, std::string_view origin) {
  CallResult out;
  // Check the whole answer before the batch changes.
  WireReader r(answer_);
  r.setOrigin(origin, /*outlives_events=*/false);
  int32_t status = 0;
  std::string_view message;
  uint32_t n = 0;
  std::vector<std::pair<std::string_view, int64_t>> deltas;
  bool valid = readAnswerHead(r, status, message, deltas);
  valid = valid && r.u32(n) && (whole ? n <= batch.capacity() : n == indices.size());
  WireReader events = r;
  for (uint32_t k = 0; valid && k < n; ++k) {
    scratch_.clear();
    valid = r.delta(scratch_, nullptr);
  }
  valid = valid && r.atEnd();
  if (!valid) {
    out.outcome = Outcome::Crashed;
    out.failure = discardWorker(/*kill=*/true, /*timed_out=*/false);
    return out;
  }

  for (const auto& [name, delta] : deltas) context_.addCounter(name, delta);
  if (whole) {
    for (uint32_t k = 0; k < n; ++k) {
      event::Event* e = k < batch.size() ? &batch[k] : batch.append();
      events.delta(*e, &batch.arena());
    }
    while (batch.size() > n) batch.discardLast();
  } else {
    for (uint32_t k = 0; k < n; ++k) events.delta(batch[indices[k]], &batch.arena());
  }
  out.result.status = static_cast<pipeline::Status>(status);
  out.result.message = std::string(message);
  out.outcome = out.result.isOk() ? Outcome::Done : Outcome::Failed;
  crash_streak_ = 0;
  return out;
}

std::string* IsolatedComponent::requestBuffer(const event::Batch& batch) {
  for (auto& [owner, buffer] : buffers_) {
    if (owner == &batch) return buffer.get();
  }
  // The executor recycles a small pool of batches; anything beyond goes through the arena.
  if (buffers_.size() >= kMaxBuffers) return nullptr;
  buffers_.emplace_back(&batch, std::make_unique<std::string>());
  return buffers_.back().second.get();
}

pipeline::Result IsolatedComponent::callBisecting(event::Batch& batch, std::vector<uint32_t> all,
                                                  bool whole) {
  CallResult first = call(batch, all, whole);
  if (first.outcome != Outcome::Crashed) return first.result;
  return bisect(batch, std::move(all), whole, first.failure);
}

pipeline::Result IsolatedComponent::bisect(event::Batch& batch, std::vector<uint32_t> all,
                                           bool whole, const WorkerFailure& failure) {
  (void)whole;  // parts are answered event by event
  // The worker died on this batch: bisect it on fresh workers until the record it dies on is
  // alone, and dead-letter that record. Every other record is processed exactly once.
  noteCrash(&batch, failure, all.size());
  int crashes = 1;
  WorkerFailure last = failure;
  std::vector<std::vector<uint32_t>> work;
  auto split = [&work](const std::vector<uint32_t>& s) {
    const size_t half = s.size() / 2;
    work.emplace_back(s.begin() + static_cast<ptrdiff_t>(half), s.end());  // second half later
    work.emplace_back(s.begin(), s.begin() + static_cast<ptrdiff_t>(half));
  };
  if (all.size() == 1) {
    deadLetter(batch, all[0], last.reason + " on this record");
    return pipeline::Result::ok();
  }
  split(all);
  while (!work.empty()) {
    std::vector<uint32_t> part = std::move(work.back());
    work.pop_back();
    if (part.empty()) continue;
    if (crashes > options_.max_restarts) {
      for (uint32_t i : part) {
        deadLetter(batch, i,
                   last.reason + "; the restart budget (" + std::to_string(options_.max_restarts) +
                       " per batch) was spent before this record was isolated");
      }
      continue;
    }
    CallResult c = call(batch, part, /*whole=*/false);
    if (c.outcome == Outcome::Done) continue;
    if (c.outcome == Outcome::Failed) {
      // As the executor treats a failed stage or sink: its live records become dead letters
      // (a sink's other parts are written already: failing the batch would write them twice).
      const std::string reason = context_.instance().component + ": " + c.result.message;
      for (uint32_t i : part) {
        if (batch[i].live()) {
          batch[i].disposition = event::Disposition::DeadLetter;
          batch[i].reason = batch.intern(reason);
        }
      }
      continue;
    }
    ++crashes;
    last = c.failure;
    noteCrash(&batch, c.failure, part.size());
    if (part.size() == 1) {
      deadLetter(batch, part[0], c.failure.reason + " on this record");
    } else {
      split(part);
    }
  }
  return pipeline::Result::ok();
}

// ---- stages ----

IsolatedStage::IsolatedStage(IsolatedPlugin plugin, InstanceContext ctx, IsolationOptions options)
    : IsolatedComponent(IsolatedKind::Stage, std::move(plugin), std::move(ctx),
                        std::move(options)) {}

namespace {

std::vector<uint32_t> allOf(const event::Batch& batch) {
  std::vector<uint32_t> all(batch.size());
  for (uint32_t i = 0; i < all.size(); ++i) all[i] = i;
  return all;
}

}  // namespace

pipeline::Result IsolatedStage::process(event::Batch& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  return callBisecting(batch, allOf(batch), /*whole=*/true);
}

void IsolatedStage::begin(event::Batch& batch) {
  std::unique_lock<std::mutex> lock(mu_);
  window_.wait(lock, [&] { return in_flight_.size() < 2; });
  InFlight f;
  f.batch = &batch;
  // Sent now only when every batch before it was (the answers come in order) and the request
  // travels in the shared channel or is small (the send never waits on a worker busy with the
  // previous batch).
  const bool all_sent =
      std::all_of(in_flight_.begin(), in_flight_.end(), [](const InFlight& g) { return g.sent; });
  if (worker_ && all_sent) {
    f.buffer = in_flight_.empty() ? 0 : 1 - in_flight_.front().buffer;
    std::string& request = requests_[f.buffer];
    encode(batch, allOf(batch), request);
    const wire::SharedChannel* channel = worker_->channel();
    if (request.size() < wire::SharedChannel::kMinPayload ||
        (channel && request.size() <= channel->slotBytes())) {
      const wire::Deadline deadline = Clock::now() + options_.call_timeout;
      // A send that fails finds the worker gone: finish() learns it from the previous
      // batch's answer, or processes this one itself.
      f.sent = wire::writeFrame(worker_->fd(), static_cast<wire::Frame>(op_), request, deadline,
                                channel) == wire::IoStatus::Ok;
    }
  }
  in_flight_.push_back(f);
}

pipeline::Result IsolatedStage::finish(event::Batch& batch) {
  std::unique_lock<std::mutex> lock(mu_);
  if (in_flight_.empty() || in_flight_.front().batch != &batch) {
    // Not begun (a caller's mistake): processed as a whole here.
    return callBisecting(batch, allOf(batch), /*whole=*/true);
  }
  const InFlight f = in_flight_.front();
  auto done = [&] {
    in_flight_.pop_front();
    window_.notify_all();
  };
  if (!f.sent) {
    done();
    return callBisecting(batch, allOf(batch), /*whole=*/true);
  }
  // The answer is read without the lock, so begin() can send the next batch meanwhile; the
  // worker is replaced only under the lock, by this thread.
  lock.unlock();
  const wire::IoStatus s =
      awaitResult(answer_, wire::Deadline(Clock::now() + options_.call_timeout));
  lock.lock();
  done();
  WorkerFailure failure;
  bool crashed = s != wire::IoStatus::Ok;
  if (crashed) {
    failure = discardWorker(/*kill=*/s != wire::IoStatus::Closed, s == wire::IoStatus::Timeout);
  } else {
    CallResult r = apply(batch, allOf(batch), /*whole=*/true, requests_[f.buffer]);
    if (r.outcome != Outcome::Crashed) return r.result;
    crashed = true;
    failure = r.failure;
  }
  // The batches sent after this one went to the worker that died: finish() processes them.
  for (InFlight& g : in_flight_) g.sent = false;
  return bisect(batch, allOf(batch), /*whole=*/true, failure);
}

// ---- sinks ----

IsolatedSink::IsolatedSink(IsolatedPlugin plugin, InstanceContext ctx, IsolationOptions options)
    : IsolatedComponent(IsolatedKind::Sink, std::move(plugin), std::move(ctx), std::move(options)) {
}

pipeline::Result IsolatedSink::write(event::Batch& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  // Only the live events: the plugin writes nothing else, and they are what a crash is
  // bisected over. The worker runs write and then flush; a part counts as written when both
  // answered.
  std::vector<uint32_t> live;
  live.reserve(batch.size());
  for (uint32_t i = 0; i < batch.size(); ++i) {
    if (batch[i].live()) live.push_back(i);
  }
  if (live.empty()) return pipeline::Result::ok();
  return callBisecting(batch, std::move(live), /*whole=*/false);
}

// ---- sources ----

IsolatedSource::IsolatedSource(IsolatedPlugin plugin, InstanceContext ctx, IsolationOptions options)
    : IsolatedComponent(IsolatedKind::Source, std::move(plugin), std::move(ctx),
                        std::move(options)) {
  positioned_start_ = starts_;  // a new instance is at the start
}

bool IsolatedSource::crashed(const WorkerFailure& f, pipeline::Result& error, event::Batch* batch) {
  noteCrash(nullptr, f, 0);
  pending_crashes_.push_back(f.label);
  ++restarts_;
  if (restarts_ <= options_.max_restarts) return false;
  if (batch) {
    for (const std::string& label : pending_crashes_) batch->count("plugin_crashes", label);
    pending_crashes_.clear();
  }
  std::string what = f.reason;
  if (f.kind == WorkerFailure::Kind::Signal) {
    what = "plugin crashed (signal " + std::to_string(f.code) + ", " + signalName(f.code) + ")";
  }
  error = pipeline::Result::error(
      who() + ": " + what + " " + std::to_string(restarts_) +
      " times in a row reading at the same position (plugin_isolation.max_restarts: " +
      std::to_string(options_.max_restarts) +
      "); the pipeline stops there. Fix the plugin (or the data it stops at) and start the "
      "pipeline again: it resumes from its checkpoint, nothing is lost");
  return true;
}

bool IsolatedSource::position(WorkerFailure& failure, pipeline::Result& error) {
  std::string message;
  if (!ensureWorker(message)) {
    error = pipeline::Result::error(message);
    return false;
  }
  if (positioned_start_ == starts_) return true;
  if (!cursor_.empty()) {
    std::string payload;
    WireWriter(payload).str(cursor_);
    if (!exchange(static_cast<uint32_t>(wire::Frame::Resume), payload, failure)) return false;
    WireReader r(answer_);
    int32_t status = 0;
    std::string_view text;
    std::vector<std::pair<std::string_view, int64_t>> deltas;
    if (!readAnswerHead(r, status, text, deltas) || !r.atEnd()) {
      failure = discardWorker(/*kill=*/true, /*timed_out=*/false);
      return false;
    }
    for (const auto& [name, delta] : deltas) context_.addCounter(name, delta);
    if (status != static_cast<int32_t>(pipeline::Status::Ok)) {
      error.status = static_cast<pipeline::Status>(status);
      error.message = std::string(text);
      if (error.status != pipeline::Status::Retry && error.status != pipeline::Status::Error) {
        error = pipeline::Result::error("plugin component '" + plugin_.type + "' resume returned " +
                                        std::string(pipeline::toString(error.status)) +
                                        ", which only a source's read may return");
      }
      return false;
    }
  }
  positioned_start_ = starts_;
  return true;
}

pipeline::Result IsolatedSource::resume(std::string_view cursor) {
  std::lock_guard<std::mutex> lock(mu_);
  cursor_ = std::string(cursor);
  positioned_start_ = 0;
  for (;;) {
    WorkerFailure failure;
    pipeline::Result error;
    if (position(failure, error)) {
      restarts_ = 0;
      return pipeline::Result::ok();
    }
    if (worker_ || !error.message.empty()) return error;  // the plugin's error, not a crash
    if (crashed(failure, error, nullptr)) return error;
  }
}

pipeline::Result IsolatedSource::read(event::Batch& batch, size_t max_events) {
  std::lock_guard<std::mutex> lock(mu_);
  for (;;) {
    WorkerFailure failure;
    pipeline::Result error;
    bool gone = false;
    if (!position(failure, error)) {
      if (worker_ || !error.message.empty()) return error;
      gone = true;
    }
    if (!gone) {
      std::string request;
      WireWriter w(request);
      w.u32(static_cast<uint32_t>(batch.capacity()));
      w.u32(static_cast<uint32_t>(std::min(max_events, batch.capacity() - batch.size())));
      // The answer goes to a buffer kept for this batch object, and its events' strings stay
      // there (no copy) until the executor refills the batch.
      std::string* kept = requestBuffer(batch);
      if (exchange(static_cast<uint32_t>(wire::Frame::Read), request, failure, kept)) {
        // Check the whole answer before the batch changes.
        WireReader r(kept ? *kept : answer_);
        int32_t status = 0;
        std::string_view message, cursor;
        std::vector<std::pair<std::string_view, int64_t>> deltas;
        uint32_t n = 0;
        bool valid = readAnswerHead(r, status, message, deltas) && r.str(cursor) && r.u32(n) &&
                     n <= batch.capacity() - batch.size() && n <= max_events;
        WireReader events = r;
        for (uint32_t k = 0; valid && k < n; ++k) valid = r.skipEvent();
        valid = valid && r.atEnd();
        if (valid) {
          for (const auto& [name, delta] : deltas) context_.addCounter(name, delta);
          event::Arena* arena = kept ? nullptr : &batch.arena();
          for (uint32_t k = 0; k < n; ++k) events.event(*batch.append(), arena);
          if (!cursor.empty()) {
            batch.cursor = std::string(cursor);
          }
          pipeline::Result result;
          result.status = static_cast<pipeline::Status>(status);
          result.message = std::string(message);
          if (result.status == pipeline::Status::Ok || result.status == pipeline::Status::End ||
              result.status == pipeline::Status::Idle) {
            if (!batch.cursor.empty()) cursor_ = batch.cursor;  // the host has this batch now
            // Crashes are counted with a batch the pipeline commits: this one, when it holds
            // anything.
            if (!batch.empty() || !batch.cursor.empty()) {
              for (const std::string& label : pending_crashes_)
                batch.count("plugin_crashes", label);
              pending_crashes_.clear();
            }
          }
          crash_streak_ = 0;
          restarts_ = 0;
          return result;
        }
        failure = discardWorker(/*kill=*/true, /*timed_out=*/false);
      }
    }
    if (crashed(failure, error, &batch)) return error;
  }
}

}  // namespace omniloop::plugin
