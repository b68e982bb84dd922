#pragma once
// The worker side of plugin isolation (plugin/isolation.h): `omniloop-plugin-worker --fd N`
// runs this over the socket it inherited. It loads one plugin, creates one source, stage or
// sink instance and runs the calls the host sends (read, process, write + flush) until the
// host closes the socket. Whatever the plugin
// does to this process (a crash, an abort, a hang, a runaway allocation) the host sees as this
// process dying or not answering, and the host survives it.
namespace omniloop::plugin {

// Returns the process exit code (0 after the host closed the socket).
int runPluginWorker(int fd);

}  // namespace omniloop::plugin
