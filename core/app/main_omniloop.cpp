// omniloop: the command line. Thin: everything lives in app/cli.cpp.
#include "app/cli.h"

int main(int argc, char** argv) {
  return omniloop::app::runCli(std::vector<std::string>(argv, argv + argc));
}
