#pragma once
// Sink `file.jsonl`: every live event as one JSON line (the host's event JSON).
#include <omniloop/plugin.hpp>

#include <string>

namespace omniloop::files {

namespace sdk = omniloop::sdk;

class JsonlSink final : public sdk::SinkBase {
 public:
  explicit JsonlSink(const sdk::Config& config);
  ~JsonlSink() override;
  void write(sdk::BatchView& batch) override;
  void flush() override;

 private:
  void drain();  // writes buf_ out

  std::string path_;
  bool fsync_;
  int fd_ = -1;
  std::string buf_;   // pending lines, reused
  std::string line_;  // one event's JSON, reused
};

}  // namespace omniloop::files
