// The condition language of filter and route (pipeline/expr/expr.h) over arbitrary text: parsing
// either succeeds or throws ExprSyntaxError with an offset inside the text; a parsed expression
// is evaluated against events holding typical values, the digits "42", and the input itself in
// every field it reads (long strings for `matches`).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "event/event.h"
#include "pipeline/expr/expr.h"

namespace {

using omniloop::event::Batch;
using omniloop::event::Event;
using omniloop::event::Value;

void setAll(Event& e, const omniloop::pipeline::Expression& expr, const Value& v, Batch& batch) {
  std::string error;
  for (std::string_view path : expr.paths()) {
    (void)omniloop::event::setPath(e, path, v, batch.arena(), &error);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const omniloop::pipeline::Expression expr = omniloop::pipeline::Expression::parse(text);
    Batch batch(4);
    Event& typical = *batch.append();
    typical.channel = "crm";
    typical.type = "contact.updated";
    typical.occurred_at_us = 1700000000000000;
    typical.set("age", Value::integer(42));
    typical.set("score", Value::real(-0.5));
    typical.set("country", Value::string("DE"));
    typical.set("customer.email", Value::string("jane@example.com"));
    typical.set("vip", Value::boolean(true));
    typical.set("tags", Value::json(R"(["a","b"])"));
    typical.set("gone", Value::null());
    typical.setIdentity("email", "jane@example.com");
    (void)expr.evaluate(typical);

    Event& digits = *batch.append();
    setAll(digits, expr, Value::string("42"), batch);
    (void)expr.evaluate(digits);

    Event& itself = *batch.append();
    setAll(itself, expr, Value::string(batch.intern(text)), batch);
    (void)expr.evaluate(itself);
  } catch (const omniloop::pipeline::ExprSyntaxError& e) {
    if (e.offset() > size) __builtin_trap();  // the offset must point into the text
  }
  return 0;
}
