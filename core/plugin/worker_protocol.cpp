#include "plugin/worker_protocol.h"

#include <poll.h>
#include <sys/socket.h>

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
  uint32_t zero;
  uint64_t length;
};
static_assert(sizeof(Header) == 16);

}  // namespace

IoStatus writeFrame(int fd, Frame type, std::string_view payload, Deadline deadline) {
  const Header h{static_cast<uint32_t>(type), 0, payload.size()};
  if (IoStatus s = sendAll(fd, reinterpret_cast<const char*>(&h), sizeof h, deadline);
      s != IoStatus::Ok) {
    return s;
  }
  return sendAll(fd, payload.data(), payload.size(), deadline);
}

IoStatus readFrame(int fd, Frame& type, std::string& payload, Deadline deadline) {
  Header h{};
  if (IoStatus s = recvAll(fd, reinterpret_cast<char*>(&h), sizeof h, deadline);
      s != IoStatus::Ok) {
    return s;
  }
  if (h.zero != 0 || h.length > kMaxFrame || h.type < 1 || h.type > 9) return IoStatus::Failed;
  type = static_cast<Frame>(h.type);
  // resize() zero-fills only what grows; shrinking keeps the capacity for the next frame.
  payload.resize(h.length);
  return recvAll(fd, payload.data(), payload.size(), deadline);
}

}  // namespace omniloop::plugin::wire
