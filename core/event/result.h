#pragma once
// What a data-path call returns (a component, a store write): status and message, never an
// exception. Shared vocabulary of every layer, so it lives with the event: the store returns it
// without knowing the pipeline, and pipeline::Result is this type (pipeline/component.h).
#include <string>
#include <string_view>

namespace omniloop::event {

enum class Status { Ok, End, Retry, Error, Idle };
std::string_view toString(Status s);

struct Result {
  Status status = Status::Ok;
  std::string message;
  static Result ok() { return {}; }
  static Result error(std::string m) { return {Status::Error, std::move(m)}; }
  static Result retry(std::string m) { return {Status::Retry, std::move(m)}; }
  bool isOk() const { return status == Status::Ok; }
};

}  // namespace omniloop::event
