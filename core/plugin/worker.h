#pragma once
// The worker side of plugin isolation (plugin/isolation.h): `omniloop-plugin-worker --fd N`
// runs this over the socket it inherited. It loads one plugin, creates one source, stage or
// sink instance and runs the calls the host sends (read, process, write + flush) until the
// host closes the socket. Whatever the plugin
// does to this process (a crash, an abort, a hang, a runaway allocation) the host sees as this
// process dying or not answering, and the host survives it.
#include <cstddef>

namespace omniloop::plugin {

// Returns the process exit code (0 after the host closed the socket). `shared_fd` (-1: none)
// is the memfd of the host's SharedChannel, `shared_bytes` its size per direction.
int runPluginWorker(int fd, int shared_fd = -1, size_t shared_bytes = 0);

}  // namespace omniloop::plugin
