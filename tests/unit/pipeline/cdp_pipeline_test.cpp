// The cdp sink under the real executor: events, dead letters and cursor land together, and a
// second run resumes where the first committed.
#include "../store/store_test_util.h"
#include "pipeline/executor.h"
#include "pipeline/sinks/cdp_sink.h"

namespace omniloop::store::testing {
namespace {

// Emits contacts 0..count-1; the cursor is the next index. Every 4th one has a malformed
// record and is dead-lettered at the source.
class ContactSource final : public pipeline::Source {
 public:
  explicit ContactSource(int count) : count_(count) {}
  pipeline::Result resume(std::string_view cursor) override {
    resumed_from_ = std::string(cursor);
    next_ = cursor.empty() ? 0 : std::stoi(std::string(cursor));
    return pipeline::Result::ok();
  }
  pipeline::Result read(event::Batch& batch, size_t max_events) override {
    if (next_ >= count_) return {pipeline::Status::End, ""};
    for (size_t n = 0; n < max_events && next_ < count_; ++n, ++next_) {
      event::Event* e = batch.append();
      if (e == nullptr) break;
      const std::string key = std::to_string(next_);
      e->key = batch.intern(key);
      e->channel = "crm";
      e->type = "contact.updated";
      if (next_ % 4 == 3) {
        e->raw = batch.intern("broken row " + key);
        e->disposition = event::Disposition::DeadLetter;
        e->reason = "source: malformed row";
      } else {
        // Two rows per person: 0 and 1 share an email, 2 and 3 another one, ...
        e->setIdentity("email",
                       batch.intern("person" + std::to_string(next_ / 2) + "@example.com"));
      }
      event::assignId(*e, "crm", batch);
    }
    batch.cursor = std::to_string(next_);
    return pipeline::Result::ok();
  }
  std::string resumed_from_;

 private:
  int count_;
  int next_ = 0;
};

pipeline::Result runPipeline(Store& store, int count, std::string* resumed_from) {
  pipeline::ExecutorOptions options;
  options.pipeline = "crm-contacts";
  options.source_id = "crm";
  options.batch_size = 7;
  options.queue_depth = 2;
  auto source = std::make_unique<ContactSource>(count);
  ContactSource* raw_source = source.get();
  std::vector<pipeline::NamedSink> sinks;
  sinks.push_back({"cdp", pipeline::makeCdpSink(store, "crm-contacts", "crm")});
  pipeline::StoreCheckpoints checkpoints(store);
  pipeline::Executor executor(options, std::move(source), {}, std::move(sinks), &checkpoints);
  pipeline::Result r = executor.run();
  if (resumed_from != nullptr) *resumed_from = raw_source->resumed_from_;
  return r;
}

TEST_F(StoreTest, PipelineCommitsEventsDeadLettersAndCursorAndResumes) {
  auto store = open();
  std::string resumed;
  ASSERT_TRUE(runPipeline(*store, 40, &resumed).isOk());
  EXPECT_EQ(resumed, "");
  StoreCounts c = store->counts();
  EXPECT_EQ(c.events, 30u);
  EXPECT_EQ(c.dead_letters, 10u);
  EXPECT_EQ(c.profiles, 20u);  // rows 0..39 name persons 0..19; each keeps one good row at least
  EXPECT_EQ(c.identities, 20u);
  EXPECT_EQ(store->loadCursor("crm-contacts", "crm"), "40");

  // A second run over more input resumes after the committed cursor.
  ASSERT_TRUE(runPipeline(*store, 48, &resumed).isOk());
  EXPECT_EQ(resumed, "40");
  c = store->counts();
  EXPECT_EQ(c.events, 36u);
  EXPECT_EQ(c.dead_letters, 12u);
  EXPECT_EQ(store->loadCursor("crm-contacts", "crm"), "48");
}

}  // namespace
}  // namespace omniloop::store::testing
