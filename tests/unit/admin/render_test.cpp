#include <gtest/gtest.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "admin/render.h"

using namespace omniloop::admin;

namespace {

Poco::JSON::Object::Ptr parse(const std::string& text) {
  return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

}  // namespace

TEST(RenderJson, ErrorBodyHasErrorAndHint) {
  auto o = parse(errorJson("bad \"thing\"\n", "do this"));
  EXPECT_EQ(o->getValue<std::string>("error"), "bad \"thing\"\n");
  EXPECT_EQ(o->getValue<std::string>("hint"), "do this");
  EXPECT_FALSE(parse(errorJson("only")).get()->has("hint"));
}

TEST(RenderJson, PipelineHasStateCursorCountersAndNullsForMissingValues) {
  PipelineSnapshot p;
  p.name = "pos";
  p.file = "/etc/omniloop/pipelines.d/pos.yaml";
  p.source_type = "file.jsonl";
  p.state = "backoff";
  p.retry_in_seconds = 1.5;
  p.cursor = "offset=10;inode=3;path=/x";
  p.restarts = 2;
  p.read = 7;
  p.written = 5;
  p.stages.push_back({"1:filter", 6, 1, 0, 0.25});
  p.sinks.push_back({"default", "cdp", 5, 0, 0});
  auto o = parse(pipelineJson(p));
  EXPECT_EQ(o->getValue<std::string>("name"), "pos");
  EXPECT_EQ(o->getValue<std::string>("state"), "backoff");
  EXPECT_EQ(o->getValue<std::string>("cursor"), "offset=10;inode=3;path=/x");
  EXPECT_TRUE(o->isNull("last_error"));
  EXPECT_EQ(o->getValue<int>("restarts"), 2);
  EXPECT_DOUBLE_EQ(o->getValue<double>("retry_in_seconds"), 1.5);
  EXPECT_EQ(o->getObject("counters")->getValue<int>("read"), 7);
  EXPECT_EQ(o->getObject("counters")->getValue<int>("written"), 5);
  EXPECT_EQ(o->getArray("stages")->getObject(0)->getValue<int>("in"), 6);
  EXPECT_EQ(o->getArray("sinks")->getObject(0)->getValue<std::string>("type"), "cdp");
}

TEST(Readiness, ReadyWhenEveryValidPipelineRunsOrIsDone) {
  DaemonSnapshot s;
  PipelineSnapshot a;
  a.name = "a";
  a.state = "running";
  PipelineSnapshot b;
  b.name = "b";
  b.state = "done";
  PipelineSnapshot bad;
  bad.name = "bad";
  bad.state = "invalid";
  s.pipelines = {a, b, bad};
  Readiness r = readiness(s);
  EXPECT_TRUE(r.ready);
  auto o = parse(r.json);
  EXPECT_EQ(o->getValue<std::string>("status"), "ready");
  EXPECT_EQ(o->getArray("warnings")->size(), 1u);

  s.pipelines[1].state = "backoff";
  s.pipelines[1].last_error = "cannot start: no such file";
  r = readiness(s);
  EXPECT_FALSE(r.ready);
  o = parse(r.json);
  EXPECT_EQ(o->getValue<std::string>("status"), "not ready");
  ASSERT_EQ(o->getArray("reasons")->size(), 1u);
  EXPECT_NE(o->getArray("reasons")->getElement<std::string>(0).find("b is backoff: cannot start"),
            std::string::npos);

  s.pipelines[1].state = "running";
  s.stopping = true;
  EXPECT_FALSE(readiness(s).ready);
}

TEST(RenderJson, CountedReasonsAppearUnderCountersGroupedByFamily) {
  PipelineSnapshot p;
  p.name = "crm";
  p.state = "running";
  p.counts[{"consent_denied", "marketing"}] = 3;
  p.counts[{"consent_denied", "analytics"}] = 1;
  p.counts[{"suppressed", "email"}] = 2;
  auto counters = parse(pipelineJson(p))->getObject("counters");
  EXPECT_EQ(counters->getObject("consent_denied")->getValue<int>("marketing"), 3);
  EXPECT_EQ(counters->getObject("consent_denied")->getValue<int>("analytics"), 1);
  EXPECT_EQ(counters->getObject("suppressed")->getValue<int>("email"), 2);
}
