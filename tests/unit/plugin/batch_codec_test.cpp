// The wire form of events between the host and a plugin worker (plugin/batch_codec.h): a round
// trip keeps every part of an event, answers carry only what changed, references resolve into
// the request, and truncated or corrupted input is refused, never read past its end.
#include <gtest/gtest.h>

#include <string>

#include "event/event.h"
#include "plugin/batch_codec.h"

using omniloop::event::Batch;
using omniloop::event::ConsentStatus;
using omniloop::event::Disposition;
using omniloop::event::Event;
using omniloop::event::Value;
using omniloop::plugin::EventDelta;
using omniloop::plugin::WireReader;
using omniloop::plugin::WireWriter;

namespace {

void fill(Batch& b, int n) {
  for (int i = 0; i < n; ++i) {
    Event* e = b.append();
    e->key = b.intern("k" + std::to_string(i));
    e->id = b.intern("id" + std::to_string(i));
    e->source = "src";
    e->channel = "web";
    e->type = "order";
    e->occurred_at_us = 1700000000000000 + i;
    e->setIdentity("email", b.intern("h1:x:" + std::to_string(i)));
    e->setConsent("ads", ConsentStatus::Denied);
    e->set("n", Value::integer(i));
    e->set("ok", Value::boolean(i % 2 == 0));
    e->set("half", Value::real(i / 2.0));
    e->set("label", Value::string(b.intern("number " + std::to_string(i))));
    e->set("list", Value::json("[1,2]"));
    e->set("none", Value::null());
    e->route = 2;
  }
}

void expectSame(const Event& a, const Event& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.source, b.source);
  EXPECT_EQ(a.channel, b.channel);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.occurred_at_us, b.occurred_at_us);
  ASSERT_EQ(a.identities.size(), b.identities.size());
  EXPECT_EQ(a.identities[0].value, b.identities[0].value);
  EXPECT_EQ(a.consent("ads"), b.consent("ads"));
  ASSERT_EQ(a.fields.size(), b.fields.size());
  for (size_t i = 0; i < a.fields.size(); ++i) {
    EXPECT_EQ(a.fields[i].path, b.fields[i].path);
    EXPECT_TRUE(a.fields[i].value == b.fields[i].value) << a.fields[i].path;
  }
  EXPECT_EQ(a.path_bits, b.path_bits);
  EXPECT_EQ(a.disposition, b.disposition);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.route, b.route);
}

TEST(BatchCodec, RoundTripKeepsEveryPartAndCopiesIntoTheArena) {
  Batch in(8);
  fill(in, 3);
  in[1].disposition = Disposition::Drop;
  in[1].reason = "filtered";
  std::string wire;
  WireWriter w(wire);
  for (const Event& e : in) w.event(e);
  Batch out(8);
  WireReader r(wire);
  for (size_t i = 0; i < in.size(); ++i) ASSERT_TRUE(r.event(*out.append(), &out.arena()));
  EXPECT_TRUE(r.atEnd());
  for (size_t i = 0; i < in.size(); ++i) expectSame(in[i], out[i]);
  // Copied: the wire buffer can go.
  const std::string label(out[2].find("label")->s);
  wire.assign(wire.size(), 'x');
  EXPECT_EQ(out[2].find("label")->s, label);
}

// The worker's answer: unchanged events cost a byte, a stage adding a field sends that field,
// a stage changing the envelope sends the whole event; unchanged strings are references.
TEST(BatchCodec, AnswerCarriesOnlyWhatThePluginChanged) {
  Batch host(8);
  fill(host, 3);
  std::string request;
  WireWriter rw(request);
  for (const Event& e : host) rw.event(e);

  // The worker decodes without copying, snapshots, and "runs the plugin".
  Batch worker(8);
  WireReader rr(request);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(rr.event(*worker.append(), nullptr));
  EventDelta delta;
  delta.snapshot(worker);
  worker[1].set("tag", Value::string(worker.intern("seen")));
  worker[2].disposition = Disposition::DeadLetter;
  worker[2].reason = worker.intern("bad record");
  std::string answer;
  WireWriter aw(answer);
  aw.setOrigin(request);
  delta.write(aw, worker);
  EXPECT_LT(answer.size(), request.size() / 2);  // event 2 goes whole, but as references

  // The host applies it over its own batch; references point into the request.
  Batch expected(8);
  fill(expected, 3);
  expected[1].set("tag", Value::string("seen"));
  expected[2].disposition = Disposition::DeadLetter;
  expected[2].reason = "bad record";
  WireReader ar(answer);
  ar.setOrigin(request);
  for (size_t i = 0; i < 3; ++i) ASSERT_TRUE(ar.delta(host[i], &host.arena()));
  EXPECT_TRUE(ar.atEnd());
  for (size_t i = 0; i < 3; ++i) expectSame(expected[i], host[i]);
  const std::string_view key = host[2].key;
  EXPECT_TRUE(key.data() >= request.data() && key.data() < request.data() + request.size());
}

TEST(BatchCodec, TruncatedOrCorruptInputIsRefused) {
  Batch in(4);
  fill(in, 1);
  std::string wire;
  WireWriter(wire).event(in[0]);
  for (size_t cut = 0; cut < wire.size(); ++cut) {
    Batch out(4);
    WireReader r(std::string_view(wire).substr(0, cut));
    EXPECT_FALSE(r.event(*out.append(), &out.arena())) << cut;
  }
  // A reference without an origin, or past its end.
  std::string ref;
  WireWriter rw(ref);
  rw.u32(5 | WireWriter::kRef);
  rw.u32(0);
  std::string_view s;
  EXPECT_FALSE(WireReader(ref).str(s));
  WireReader bounded(ref);
  bounded.setOrigin("abc");
  EXPECT_FALSE(bounded.str(s));
  // An unknown delta op.
  std::string op(1, '\x07');
  Event e;
  EXPECT_FALSE(WireReader(op).delta(e, nullptr));
}

}  // namespace
