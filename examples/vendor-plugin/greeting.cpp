// com.example.greeting: a complete omniloop plugin in one file.
//   source com.example.greeting  emits `count` greeting events carrying the configured text
//   stage  com.example.upper     upper-cases one configured string field
// Build against the SDK alone: #include <omniloop/plugin.hpp> is all a plugin needs.
#include <omniloop/plugin.hpp>

#include <charconv>
#include <string>

namespace greeting {

namespace sdk = omniloop::sdk;

class GreetingSource final : public sdk::SourceBase {
 public:
  explicit GreetingSource(const sdk::Config& config)
      : greeting_(config.str("greeting")), count_(config.integer("count", 3)) {
    if (count_ < 0) throw sdk::Error("com.example.greeting: option 'count' must be >= 0");
  }

  // The cursor is the number of greetings already committed.
  void resume(std::string_view cursor) override {
    int64_t n = 0;
    auto [end, ec] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), n);
    if (ec != std::errc() || end != cursor.data() + cursor.size() || n < 0) {
      throw sdk::Error("com.example.greeting: unexpected checkpoint cursor");
    }
    next_ = n;
  }

  ol_status read(sdk::BatchWriter& out, size_t) override {
    while (next_ < count_) {
      sdk::EventBuilder ev = out.append();
      if (!ev) break;  // batch full: the host calls again
      ev.key(std::to_string(next_))
          .type("greeting.sent")
          .channel("demo")
          .str("greeting", greeting_)
          .i64("n", next_);
      ++next_;
    }
    out.cursor(std::to_string(next_));
    return next_ < count_ ? OL_OK : OL_END;
  }

 private:
  std::string greeting_;
  int64_t count_;
  int64_t next_ = 0;
};

class UpperStage final : public sdk::StageBase {
 public:
  explicit UpperStage(const sdk::Config& config) : field_(config.str("field")) {}

  void process(sdk::BatchView& batch) override {
    for (sdk::EventView ev : batch) {
      if (!ev.live()) continue;
      const auto value = ev.get(field_);
      if (!value || !value->isString()) continue;
      scratch_.assign(value->asString());
      for (char& c : scratch_) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');  // ASCII only
      }
      ev.str(field_, scratch_);
    }
  }

 private:
  std::string field_;
  std::string scratch_;  // reused across events
};

}  // namespace greeting

OMNILOOP_PLUGIN(
    "com.example.greeting", "1.0.0",
    OMNILOOP_SOURCE(greeting::GreetingSource, "com.example.greeting",
                    "Emits `count` greeting events with the configured text",
                    R"({"type": "object", "additionalProperties": false, "required": ["greeting"],
                        "properties": {
                          "greeting": {"type": "string", "description": "Text of every greeting."},
                          "count": {"type": "integer", "minimum": 0, "default": 3,
                                    "description": "How many greetings to emit."}}})"),
    OMNILOOP_STAGE(greeting::UpperStage, "com.example.upper",
                   "Upper-cases (ASCII) one string field",
                   R"({"type": "object", "additionalProperties": false, "required": ["field"],
                       "properties": {
                         "field": {"type": "string", "description": "Dotted path of the field."}}})"))
