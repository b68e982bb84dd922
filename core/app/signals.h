#pragma once
// SIGINT/SIGTERM (and SIGHUP for the daemon) are blocked in every thread and received by one
// watcher thread with sigwait, so handlers never run async-signal-unsafe code.
#include <csignal>
#include <functional>
#include <thread>

namespace omniloop::app {

class SignalWatcher {
 public:
  // Blocks the signals in the calling thread (call before starting other threads).
  SignalWatcher();
  ~SignalWatcher();
  // on_signal runs on the watcher thread for each signal received. A second SIGINT/SIGTERM
  // while stopping exits at once with 130.
  void start(std::function<void(int)> on_signal);
  void stop();

 private:
  sigset_t set_;
  std::thread thread_;
  bool running_ = false;
};

}  // namespace omniloop::app
