#include "app/pseudonymising_sink.h"

#include "identity/keyer.h"

namespace omniloop::app {

namespace {

class PseudonymisingSink final : public pipeline::Sink {
 public:
  PseudonymisingSink(std::unique_ptr<pipeline::Sink> inner, const privacy::KeyedHasher& hasher,
                     privacy::NormalizeOptions normalize)
      : inner_(std::move(inner)), keyer_(&hasher, std::move(normalize)) {}

  pipeline::Result write(event::Batch& batch) override {
    for (event::Event& e : batch) {
      if (!e.live() || e.identities.empty()) continue;
      size_t kept = 0;
      for (size_t i = 0; i < e.identities.size(); ++i) {
        event::Identity id = e.identities[i];
        // A pseudonym is kept as it is (also when write() is retried on this batch).
        if (!privacy::KeyedHasher::isPseudonym(id.value)) {
          if (!keyer_.pseudonymize(id.type, id.value, hashed_)) {
            // Left out, as the store leaves it out; counted, never silent.
            label_.assign(id.type).append("_invalid");
            batch.count("identity_rejected", label_);
            continue;
          }
          id.value = batch.intern(hashed_);
        }
        e.identities[kept++] = id;
      }
      e.identities.resize(kept);
    }
    return inner_->write(batch);
  }
  pipeline::Result flush() override { return inner_->flush(); }
  bool commitsCursor() const override { return inner_->commitsCursor(); }

 private:
  std::unique_ptr<pipeline::Sink> inner_;
  identity::Keyer keyer_;
  std::string hashed_;  // reused
  std::string label_;   // reused
};

}  // namespace

std::unique_ptr<pipeline::Sink> makePseudonymisingSink(std::unique_ptr<pipeline::Sink> inner,
                                                       const privacy::KeyedHasher& hasher,
                                                       privacy::NormalizeOptions normalize) {
  return std::make_unique<PseudonymisingSink>(std::move(inner), hasher, std::move(normalize));
}

}  // namespace omniloop::app
