#include "plugin/worker_protocol.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace omniloop::plugin::wire {

namespace {

// Waits until `fd` is ready for `events` or the deadline passes.
IoStatus waitFor(int fd, short events, const Deadline& deadline) {
  for (;;) {
    int timeout = -1;
    if (deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          *deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return IoStatus::Timeout;
      timeout = static_cast<int>(std::min<int64_t>(left.count() + 1, 1 << 30));
    }
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, timeout);
    if (r > 0) return IoStatus::Ok;  // ready, or hung up: the read/send says which
    if (r == 0) continue;            // re-check the deadline
    if (errno != EINTR) return IoStatus::Failed;
  }
}

IoStatus sendAll(int fd, const char* p, size_t n, const Deadline& deadline) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      p += w;
      n -= static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (IoStatus s = waitFor(fd, POLLOUT, deadline); s != IoStatus::Ok) return s;
      continue;
    }
    return (w < 0 && (errno == EPIPE || errno == ECONNRESET)) ? IoStatus::Closed : IoStatus::Failed;
  }
  return IoStatus::Ok;
}

IoStatus recvAll(int fd, char* p, size_t n, const Deadline& deadline) {
  while (n > 0) {
    const ssize_t r = ::recv(fd, p, n, MSG_DONTWAIT);
    if (r > 0) {
      p += r;
      n -= static_cast<size_t>(r);
      continue;
    }
    if (r == 0) return IoStatus::Closed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      if (IoStatus s = waitFor(fd, POLLIN, deadline); s != IoStatus::Ok) return s;
      continue;
    }
    return errno == ECONNRESET ? IoStatus::Closed : IoStatus::Failed;
  }
  return IoStatus::Ok;
}

struct Header {
  uint32_t type;
  uint32_t flags;
  uint64_t length;
};
static_assert(sizeof(Header) == 16);
constexpr uint32_t kInShared = 1;
constexpr uint32_t kSlotShift = 1;  // flags bit 1: the slot

}  // namespace

SharedChannel::SharedChannel(int fd, char* base, size_t bytes, bool host)
    : fd_(fd),
      base_(base),
      bytes_(bytes),
      outbound_(host ? base : base + bytes),
      inbound_(host ? base + bytes : base) {}

SharedChannel::~SharedChannel() {
  ::munmap(base_, 2 * bytes_);
  ::close(fd_);
}

std::unique_ptr<SharedChannel> SharedChannel::create(size_t bytes, std::string& error) {
  int fd = ::memfd_create("omniloop-plugin-channel", MFD_CLOEXEC);
  if (fd < 0) {
    error = std::string("memfd_create failed: ") + std::strerror(errno);
    return nullptr;
  }
  // Above the descriptors the worker's are moved to (3: socket, 4: this), so moving them
  // never overwrites this one in the child.
  if (fd < 5) {
    const int high = ::fcntl(fd, F_DUPFD_CLOEXEC, 5);
    ::close(fd);
    if (high < 0) {
      error = std::string("fcntl failed: ") + std::strerror(errno);
      return nullptr;
    }
    fd = high;
  }
  // Sparse: only the pages a payload touches take memory.
  if (::ftruncate(fd, static_cast<off_t>(2 * bytes)) != 0) {
    error = std::string("ftruncate failed: ") + std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  void* base = ::mmap(nullptr, 2 * bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    error = std::string("mmap failed: ") + std::strerror(errno);
    ::close(fd);
    return nullptr;
  }
  return std::unique_ptr<SharedChannel>(
      new SharedChannel(fd, static_cast<char*>(base), bytes, /*host=*/true));
}

std::unique_ptr<SharedChannel> SharedChannel::attach(int fd, size_t bytes) {
  struct stat st {};
  if (bytes == 0 || ::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) != 2 * bytes) {
    return nullptr;
  }
  void* base = ::mmap(nullptr, 2 * bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) return nullptr;
  return std::unique_ptr<SharedChannel>(
      new SharedChannel(fd, static_cast<char*>(base), bytes, /*host=*/false));
}

IoStatus writeFrame(int fd, Frame type, std::string_view payload, Deadline deadline,
                    const SharedChannel* shared) {
  const bool in_shared = shared && payload.size() >= SharedChannel::kMinPayload &&
                         payload.size() <= shared->slotBytes();
  const uint32_t slot = in_shared ? shared->takeOutboundSlot() : 0;
  const Header h{static_cast<uint32_t>(type), in_shared ? (kInShared | slot << kSlotShift) : 0,
                 payload.size()};
  // The copy into the mapping happens before the header is sent: the receiver reads it only
  // after the header arrived (the socket orders the two).
  if (in_shared) std::memcpy(shared->outbound(slot), payload.data(), payload.size());
  if (IoStatus s = sendAll(fd, reinterpret_cast<const char*>(&h), sizeof h, deadline);
      s != IoStatus::Ok) {
    return s;
  }
  if (in_shared) return IoStatus::Ok;
  return sendAll(fd, payload.data(), payload.size(), deadline);
}

IoStatus readFrame(int fd, Frame& type, std::string& payload, Deadline deadline,
                   const SharedChannel* shared) {
  Header h{};
  if (IoStatus s = recvAll(fd, reinterpret_cast<char*>(&h), sizeof h, deadline);
      s != IoStatus::Ok) {
    return s;
  }
  if ((h.flags & ~(kInShared | 1u << kSlotShift)) != 0 || h.length > kMaxFrame || h.type < 1 ||
      h.type > 9) {
    return IoStatus::Failed;
  }
  type = static_cast<Frame>(h.type);
  if (h.flags & kInShared) {
    if (!shared || h.length > shared->slotBytes()) return IoStatus::Failed;
    // Copied out at once: the sender may write the slot again once it has our next frame, and
    // the host must not read bytes a worker can still change.
    payload.resize(h.length);
    std::memcpy(payload.data(), shared->inbound(h.flags >> kSlotShift), h.length);
    return IoStatus::Ok;
  }
  // resize() zero-fills only what grows; shrinking keeps the capacity for the next frame.
  payload.resize(h.length);
  return recvAll(fd, payload.data(), payload.size(), deadline);
}

}  // namespace omniloop::plugin::wire
