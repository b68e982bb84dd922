#pragma once
// systemd readiness protocol (Type=notify): one datagram to $NOTIFY_SOCKET, no libsystemd.
#include <string_view>

namespace omniloop::app {

// Sends e.g. "READY=1", "RELOADING=1", "STOPPING=1". Returns false (and does nothing) when not
// started by systemd with NotifyAccess, or when the socket cannot be reached.
bool sdNotify(std::string_view state);

}  // namespace omniloop::app
