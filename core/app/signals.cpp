#include "app/signals.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>

namespace omniloop::app {

SignalWatcher::SignalWatcher() {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  sigaddset(&set_, SIGHUP);
  sigaddset(&set_, SIGUSR1);  // used internally to wake the watcher on stop()
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
}

SignalWatcher::~SignalWatcher() { stop(); }

void SignalWatcher::start(std::function<void(int)> on_signal) {
  running_ = true;
  thread_ = std::thread([this, on_signal = std::move(on_signal)] {
    int stops = 0;
    for (;;) {
      int sig = 0;
      if (sigwait(&set_, &sig) != 0) continue;
      if (sig == SIGUSR1) return;
      if (sig == SIGINT || sig == SIGTERM) {
        if (++stops > 1) _exit(130);
      }
      on_signal(sig);
    }
  });
}

void SignalWatcher::stop() {
  if (!running_) return;
  running_ = false;
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
}

}  // namespace omniloop::app
