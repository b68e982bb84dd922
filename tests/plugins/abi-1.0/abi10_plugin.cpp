// A plugin built against the frozen ABI 1.0 headers (this directory's omniloop/*.h*, found before
// the SDK's): its component table is laid out with the 1.0 sizeof(ol_component). Three
// components, so a host stepping through the table by its own (larger) sizeof would misread
// the second and third.
#include <omniloop/plugin.hpp>

#include <string>

static_assert(OMNILOOP_ABI_MINOR == 0, "abi10_plugin must be built against the frozen 1.0 header");

namespace sdk = omniloop::sdk;

namespace {

class Letters : public sdk::SourceBase {
 public:
  explicit Letters(const sdk::Config& config) : count_(config.integer("count", 3)) {}
  void resume(std::string_view cursor) override { next_ = std::stoll(std::string(cursor)); }
  ol_status read(sdk::BatchWriter& out, size_t) override {
    for (; next_ < count_; ++next_) {
      sdk::EventBuilder ev = out.append();
      if (!ev) break;
      const std::string n = std::to_string(next_);
      ev.key(n)
          .type("abi10.letter")
          .i64("n", next_)
          .str("letter", std::string(1, 'a' + next_ % 26));
    }
    out.cursor(std::to_string(next_));
    return next_ < count_ ? OL_OK : OL_END;
  }

 private:
  int64_t count_;
  int64_t next_ = 0;
};

class Upper : public sdk::StageBase {
 public:
  explicit Upper(const sdk::Config&) {}
  void process(sdk::BatchView& batch) override {
    for (sdk::EventView ev : batch) {
      if (!ev.live()) continue;
      const auto v = ev.get("letter");
      if (!v) continue;
      std::string s(v->asString());
      for (char& c : s) c = static_cast<char>(c - 'a' + 'A');
      ev.str("letter", s);
    }
  }
};

class Tally : public sdk::SinkBase {
 public:
  explicit Tally(const sdk::Config&) {}
  void write(sdk::BatchView& batch) override {
    int64_t n = 0;
    for (sdk::EventView ev : batch) n += ev.live() ? 1 : 0;
    host().counter("written", n);
  }
};

}  // namespace

OMNILOOP_PLUGIN("test.abi10", "1.0.0",
                OMNILOOP_SOURCE(Letters, "abi10.letters", "Emits letters (ABI 1.0 plugin)",
                                R"({"type":"object","properties":{"count":{"type":"integer"}}})"),
                OMNILOOP_STAGE(Upper, "abi10.upper", "Upper-cases 'letter' (ABI 1.0 plugin)",
                               R"({"type":"object"})"),
                OMNILOOP_SINK(Tally, "abi10.tally", "Counts events (ABI 1.0 plugin)",
                              R"({"type":"object"})"))
