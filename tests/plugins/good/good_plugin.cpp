// A small, well-behaved plugin built with plugin.hpp, used by the host tests end to end:
//   test.numbers (source) emits `count` numbered events, resumable from its cursor
//   test.tag     (stage)  tags every event, optionally drops odd numbers
//   test.count   (sink)   counts and serialises the live events it receives
#include <omniloop/plugin.hpp>

#include <string>

namespace sdk = omniloop::sdk;

namespace {

constexpr int64_t kBaseMicros = 1700000000000000;  // 2023-11-14T22:13:20Z

class Numbers : public sdk::SourceBase {
 public:
  explicit Numbers(const sdk::Config& config)
      : count_(config.integer("count", 10)), channel_(config.str("channel", "test")) {
    if (count_ < 0) throw sdk::Error("option 'count' must not be negative");
  }

  void resume(std::string_view cursor) override {
    next_ = std::stoll(std::string(cursor));
    host().info("resuming at " + std::to_string(next_));
  }

  ol_status read(sdk::BatchWriter& out, size_t) override {
    std::string scratch;
    for (; next_ < count_; ++next_) {
      sdk::EventBuilder ev = out.append();
      if (!ev) break;
      scratch = std::to_string(next_);
      ev.key(scratch)
          .type("test.number")
          .channel(channel_)
          .time(kBaseMicros + next_)
          .identity("email", "user" + scratch + "@example.com")
          .consent("analytics", sdk::Consent::Granted)
          .i64("n", next_)
          .boolean("even", next_ % 2 == 0)
          .f64("half", static_cast<double>(next_) / 2)
          .str("label", "number " + scratch)
          .str("meta.parity", next_ % 2 == 0 ? "even" : "odd")
          .json("digits", "[" + scratch + "]");
      host().counter("emitted");
    }
    out.cursor(std::to_string(next_));
    return next_ < count_ ? OL_OK : OL_END;
  }

 private:
  int64_t count_;
  std::string channel_;
  int64_t next_ = 0;
};

class Tag : public sdk::StageBase {
 public:
  explicit Tag(const sdk::Config& config)
      : tag_(config.str("tag", "seen")), drop_odd_(config.boolean("drop_odd", false)) {}

  void process(sdk::BatchView& batch) override {
    for (sdk::EventView ev : batch) {
      if (!ev.live()) continue;
      ev.str("tag", tag_);
      const auto n = ev.get("n");
      if (drop_odd_ && n && n->asInt() % 2 != 0) ev.drop("odd number");
    }
  }

 private:
  std::string tag_;
  bool drop_odd_;
};

class Count : public sdk::SinkBase {
 public:
  explicit Count(const sdk::Config&) {}

  void write(sdk::BatchView& batch) override {
    int64_t written = 0;
    for (sdk::EventView ev : batch) {
      if (!ev.live()) continue;
      ev.toJson(json_);
      if (json_.empty() || json_.front() != '{') throw sdk::Error("event JSON is not an object");
      host().counter("bytes", static_cast<int64_t>(json_.size()));
      ++written;
    }
    host().counter("written", written);
  }

  void flush() override { host().counter("flushes"); }

 private:
  std::string json_;  // reused across events and batches
};

}  // namespace

OMNILOOP_PLUGIN("test.good", "1.2.3",
                OMNILOOP_SOURCE(Numbers, "test.numbers", "Emits numbered events",
                                R"({"type":"object","properties":{
                                    "count":{"type":"integer","minimum":0},
                                    "channel":{"type":"string"}}})"),
                OMNILOOP_STAGE(Tag, "test.tag", "Tags events, optionally drops odd ones",
                               R"({"type":"object","properties":{
                                   "tag":{"type":"string"},"drop_odd":{"type":"boolean"}}})"),
                OMNILOOP_SINK(Count, "test.count", "Counts the live events it receives",
                              R"({"type":"object"})"))
