// omniloop-plugin-worker: runs one plugin source, stage or sink out of the host's process
// (plugin/isolation.h).
// Started by omniloop and omniloopd with the socket to talk over as file descriptor 3 and the
// shared channel's memfd as 4 (plugin/worker_protocol.h); not a command for people.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "plugin/worker.h"

int main(int argc, char** argv) {
  int fd = -1, shared_fd = -1;
  size_t shared_bytes = 0;
  for (int i = 1; i + 1 < argc; ++i) {
    const std::string_view arg(argv[i]);
    if (arg == "--fd") fd = std::atoi(argv[i + 1]);
    if (arg == "--shared-fd") shared_fd = std::atoi(argv[i + 1]);
    if (arg == "--shared-bytes") shared_bytes = std::strtoull(argv[i + 1], nullptr, 10);
  }
  if (fd < 0) {
    std::fputs(
        "omniloop-plugin-worker runs one plugin source, stage or sink for omniloop/omniloopd in a "
        "process of its own (see 'Plugin isolation' in docs/operations.md); it is started by them, "
        "not by "
        "hand.\n",
        stderr);
    return 2;
  }
  const int rc = omniloop::plugin::runPluginWorker(fd, shared_fd, shared_bytes);
  // No atexit handlers, no static destructors: a plugin's leftovers are not our business.
  ::_exit(rc);
}
