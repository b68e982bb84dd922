// A plugin built against the current SDK whose source declares the personal fields it emits
// (ABI 1.1): `omniloop validate` must hold a pipeline reading it to account for each of them.
#include <omniloop/plugin.hpp>

#include <string>

namespace sdk = omniloop::sdk;

namespace {

class Contacts : public sdk::SourceBase {
 public:
  explicit Contacts(const sdk::Config& config) : count_(config.integer("count", 2)) {}
  void resume(std::string_view cursor) override { next_ = std::stoll(std::string(cursor)); }
  ol_status read(sdk::BatchWriter& out, size_t) override {
    static const char* const kFirst[] = {"Amelia", "Bruno"};
    static const char* const kLast[] = {"Quartermaine", "Vasconcelos"};
    for (; next_ < count_; ++next_) {
      sdk::EventBuilder ev = out.append();
      if (!ev) break;
      const std::string n = std::to_string(next_);
      ev.key(n)
          .type("crm.contact")
          .str("first_name", kFirst[next_ % 2])
          .str("last_name", kLast[next_ % 2])
          .str("customer.email", "contact" + n + "@personal-plugin.example")
          .str("customer.tier", next_ % 2 ? "gold" : "silver");
    }
    out.cursor(std::to_string(next_));
    return next_ < count_ ? OL_OK : OL_END;
  }

 private:
  int64_t count_;
  int64_t next_ = 0;
};

constexpr const char* kPersonal[] = {"first_name", "last_name", "customer.email"};

}  // namespace

OMNILOOP_PLUGIN(
    "test.personal", "1.1.0",
    omniloop::sdk::withPersonalFields(
        OMNILOOP_SOURCE(Contacts, "test.contacts",
                        "Emits CRM contacts (declares its personal fields)",
                        R"({"type":"object","properties":{"count":{"type":"integer"}}})"),
        kPersonal))
