#include "event/result.h"

namespace omniloop::event {

std::string_view toString(Status s) {
  switch (s) {
    case Status::Ok:
      return "ok";
    case Status::End:
      return "end";
    case Status::Retry:
      return "retry";
    case Status::Error:
      return "error";
    case Status::Idle:
      return "idle";
  }
  return "?";
}

}  // namespace omniloop::event
