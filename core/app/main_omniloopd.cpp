// omniloopd: the system service. Thin: everything lives in app/daemon/.
#include "app/daemon/daemon.h"

int main(int argc, char** argv) { return omniloop::app::runDaemonMain(argc, argv); }
