#pragma once
// Frames between the host and an `omniloop-plugin-worker` process over a Unix stream socket:
// a 16-byte header (u32 type, u32 flags, u64 payload length) and the payload (batch_codec.h).
// With flags bit 0 (kInShared) the payload is not on the socket but in the sender's half of a
// SharedChannel (below), in the slot that flags bit 1 names: the header alone goes over the
// socket, and the receiver copies the payload out of the mapping as soon as the header arrived.
//
//   host -> worker  Init     plugin path, component type, pipeline, component, config JSON,
//                            log level, i32 kind (0 source, 1 stage, 2 sink)
//   worker -> host  Ready    u8 1 when the worker mapped the shared channel (empty or 0: it did
//                            not, and payloads go over the socket) | InitFailed: the reason
//   host -> worker  Process  u32 batch capacity, u32 n, n events
//   worker -> host  Log*     i32 spdlog level, text: any number, before the answer
//   worker -> host  Result   i32 pipeline::Status, message, counters (u32 n, name + i64 delta),
//                            u32 n, n events (the batch after the plugin's process)
//   host -> worker  Write    as Process, for a sink: the worker runs write, then flush
//   worker -> host  Result   as for Process (the sink may dead-letter events)
//   host -> worker  Resume   a source's cursor
//   worker -> host  Result   status, message, counters
//   host -> worker  Read     u32 batch capacity, u32 max events
//   worker -> host  Result   status, message, counters, the cursor, u32 n, n events (whole)
// The host closing its end tells the worker to destroy the instance and exit.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace omniloop::plugin::wire {

enum class Frame : uint32_t {
  Init = 1,
  Ready = 2,
  InitFailed = 3,
  Process = 4,
  Result = 5,
  Log = 6,
  Write = 7,
  Resume = 8,
  Read = 9
};

// Larger frames are refused (a worker gone mad cannot make the host allocate without bound).
inline constexpr uint64_t kMaxFrame = uint64_t{1} << 31;

using Deadline = std::optional<std::chrono::steady_clock::time_point>;  // nullopt: no limit

enum class IoStatus { Ok, Closed, Timeout, Failed };

// A batch is megabytes; through the socket the kernel copied it twice per direction, in pieces,
// and that was most of what isolating a stage cost (bench/README.md, plugin isolation). So
// large payloads travel in a shared memory file (memfd) instead, mapped by both processes: the
// first half carries host -> worker payloads, the second worker -> host. Each side writes only
// its own half and only while the other side waits for its frame (a call is one request, one
// answer), and the receiver copies the payload out at once: the host never reads bytes the
// worker can still change (a plugin thread scribbling over the mapping corrupts at most a
// payload the host then validates like any other).
class SharedChannel {
 public:
  static constexpr size_t kDefaultBytes = size_t{32} << 20;  // per direction: two slots
  // Payloads below this go over the socket: a copy through it costs no more there.
  static constexpr size_t kMinPayload = 16 << 10;
  // The host: a new memfd of 2 * bytes. Null (and `error`) when memfd_create or mmap fails.
  static std::unique_ptr<SharedChannel> create(size_t bytes, std::string& error);
  // The worker: maps the memfd it inherited. Null when that fails (address space limit).
  static std::unique_ptr<SharedChannel> attach(int fd, size_t bytes);
  ~SharedChannel();
  SharedChannel(const SharedChannel&) = delete;
  SharedChannel& operator=(const SharedChannel&) = delete;

  int fd() const { return fd_; }
  size_t bytes() const { return bytes_; }
  // Each half has two slots, used in turn: a host overlapping batches (IsolatedStage) has up
  // to two requests with the worker, and the worker up to two answers not yet read, and a slot
  // is written again only once the payload it held was read (the one before it answered).
  size_t slotBytes() const { return bytes_ / 2; }
  // The slot the next payload from this side goes to, and the turn to the other one. Called
  // by one thread at a time (the host writes under its component's lock).
  uint32_t takeOutboundSlot() const {
    const uint32_t slot = next_slot_;
    next_slot_ ^= 1;
    return slot;
  }
  char* outbound(uint32_t slot) const { return outbound_ + slot * slotBytes(); }
  const char* inbound(uint32_t slot) const { return inbound_ + slot * slotBytes(); }

 private:
  SharedChannel(int fd, char* base, size_t bytes, bool host);
  int fd_;
  char* base_;
  size_t bytes_;
  char* outbound_;
  const char* inbound_;
  mutable uint32_t next_slot_ = 0;
};

// Sends one frame (MSG_NOSIGNAL: a dead peer is an error, never SIGPIPE), its payload through
// `shared` when one is given and the payload is large and fits.
IoStatus writeFrame(int fd, Frame type, std::string_view payload, Deadline deadline,
                    const SharedChannel* shared = nullptr);
// Receives one frame into `payload` (its capacity is reused). A frame whose payload is in the
// shared channel is refused (Failed) without `shared` or when its length exceeds the channel.
IoStatus readFrame(int fd, Frame& type, std::string& payload, Deadline deadline,
                   const SharedChannel* shared = nullptr);

}  // namespace omniloop::plugin::wire
