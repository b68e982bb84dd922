// A plugin (built with plugin.hpp) whose constructor rejects its configuration: create()
// returns OL_ERROR with the message, which the host reports as "create failed: <message>".
#include <omniloop/plugin.hpp>

namespace sdk = omniloop::sdk;

namespace {

class Strict : public sdk::SourceBase {
 public:
  explicit Strict(const sdk::Config& config)
      : path_(config.str("path")), count_(config.integer("count", 1)) {
    if (count_ < 1) {
      throw sdk::Error("option 'count' must be at least 1, got " + std::to_string(count_));
    }
  }
  ol_status read(sdk::BatchWriter&, size_t) override { return OL_END; }

 private:
  std::string path_;
  int64_t count_;
};

}  // namespace

OMNILOOP_PLUGIN("test.bad_config", "1.0.0",
                OMNILOOP_SOURCE(Strict, "test.strict", "Rejects a bad configuration",
                                R"({"type":"object","required":["path"],
                                    "properties":{"path":{"type":"string"},
                                                  "count":{"type":"integer"}}})"))
