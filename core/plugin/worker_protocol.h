#pragma once
// Frames between the host and an `omniloop-plugin-worker` process over a Unix stream socket:
// a 16-byte header (u32 type, u32 zero, u64 payload length) and the payload (batch_codec.h).
//
//   host -> worker  Init     plugin path, component type, pipeline, component, config JSON,
//                            log level, i32 kind (0 source, 1 stage, 2 sink)
//   worker -> host  Ready    (empty) | InitFailed: the reason
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
#include <cstdint>
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

// Sends one frame (MSG_NOSIGNAL: a dead peer is an error, never SIGPIPE).
IoStatus writeFrame(int fd, Frame type, std::string_view payload, Deadline deadline);
// Receives one frame into `payload` (its capacity is reused).
IoStatus readFrame(int fd, Frame& type, std::string& payload, Deadline deadline);

}  // namespace omniloop::plugin::wire
