// The wire form of events between the host and a plugin worker (plugin/batch_codec.h): a round
// trip keeps every part of an event, answers carry only what changed, references resolve into
// the request, and truncated or corrupted input is refused, never read past its end.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "event/event.h"
#include "plugin/batch_codec.h"
#include "plugin/host_api.h"
#include "plugin/worker_protocol.h"

using omniloop::event::Batch;
using omniloop::event::ConsentStatus;
using omniloop::event::Disposition;
using omniloop::event::Event;
using omniloop::event::Value;
using omniloop::plugin::EventDelta;
using omniloop::plugin::WireReader;
using omniloop::plugin::WireWriter;

namespace {

ol_event* handle(Event& e) {
  return reinterpret_cast<ol_event*>(&e);
}

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
  EXPECT_EQ(a.raw, b.raw);
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
// a stage changing the envelope sends the whole event; unchanged strings are references. The
// plugin changes events through the host API, as a real plugin does: that is how the worker
// learns what changed.
TEST(BatchCodec, AnswerCarriesOnlyWhatThePluginChanged) {
  Batch host(8);
  fill(host, 3);
  std::string request;
  WireWriter rw(request);
  for (const Event& e : host) rw.event(e);

  // The worker decodes without copying, begins the change log, and "runs the plugin".
  Batch worker(8);
  WireReader rr(request);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(rr.event(*worker.append(), nullptr));
  EventDelta delta;
  delta.begin(worker);
  const ol_host_api* api = omniloop::plugin::hostApi();
  api->event_set_string(handle(worker[1]), "tag", 3, "seen", 4);
  api->event_set_disposition(handle(worker[2]), OL_DEAD_LETTER, "bad record", 10);
  std::string answer;
  WireWriter aw(answer);
  aw.setOrigin(request);
  delta.write(aw, worker);
  EXPECT_LT(answer.size(), request.size() / 2);  // event 2 goes whole, but as references
  EXPECT_EQ(static_cast<uint8_t>(answer[0]), EventDelta::kUnchanged);
  EXPECT_EQ(static_cast<uint8_t>(answer[1]), EventDelta::kAppended);

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

// Every kind of change a plugin can make reaches the host, whatever the host API call: each
// event is changed one way, the answer applied to the host's batch must equal the worker's.
// The host's request is overwritten once the answer is applied (the host reuses one buffer),
// so strings referring into it must have been copied.
TEST(BatchCodec, EveryHostApiChangeReachesTheHost) {
  const ol_host_api* api = omniloop::plugin::hostApi();
  using Change = void (*)(const ol_host_api*, Batch&, Event&);
  const std::vector<std::pair<const char*, Change>> changes = {
      {"untouched", [](const ol_host_api*, Batch&, Event&) {}},
      {"new attribute",
       [](const ol_host_api* a, Batch&, Event& e) { a->event_set_int(handle(e), "x", 1, 7); }},
      {"new attribute set twice",
       [](const ol_host_api* a, Batch&, Event& e) {
         a->event_set_int(handle(e), "x", 1, 7);
         a->event_set_string(handle(e), "x", 1, "eight", 5);
       }},
      {"existing attribute",
       [](const ol_host_api* a, Batch&, Event& e) { a->event_set_int(handle(e), "n", 1, 99); }},
      {"same value again",
       [](const ol_host_api* a, Batch&, Event& e) {
         a->event_set_string(handle(e), "label", 5, "number 0", 8);
       }},
      {"removed attribute",
       [](const ol_host_api* a, Batch&, Event& e) { a->event_remove(handle(e), "ok", 2); }},
      {"envelope path",
       [](const ol_host_api* a, Batch&, Event& e) {
         a->event_set_string(handle(e), "$identities.phone", 17, "h1:x:p", 6);
       }},
      {"key", [](const ol_host_api* a, Batch&, Event& e) { a->event_set_key(handle(e), "K", 1); }},
      {"type",
       [](const ol_host_api* a, Batch&, Event& e) { a->event_set_type(handle(e), "T", 1); }},
      {"channel",
       [](const ol_host_api* a, Batch&, Event& e) { a->event_set_channel(handle(e), "C", 1); }},
      {"time", [](const ol_host_api* a, Batch&, Event& e) { a->event_set_time(handle(e), 5); }},
      {"identity", [](const ol_host_api* a, Batch&,
                      Event& e) { a->event_add_identity(handle(e), "email", 5, "h1:y:1", 6); }},
      {"consent", [](const ol_host_api* a, Batch&,
                     Event& e) { a->event_set_consent(handle(e), "ads", 3, "granted", 7); }},
      {"dead letter", [](const ol_host_api* a, Batch&,
                         Event& e) { a->event_dead_letter(handle(e), "raw", 3, "why", 3); }},
      {"dropped", [](const ol_host_api* a, Batch&,
                     Event& e) { a->event_set_disposition(handle(e), OL_DROP, "no", 2); }},
      {"replaced by a new event",
       [](const ol_host_api* a, Batch& b, Event&) {
         a->event_discard_last(reinterpret_cast<ol_batch*>(&b));
         ol_event* n = a->event_append(reinterpret_cast<ol_batch*>(&b));
         a->event_set_key(n, "new", 3);
       }},
  };
  for (const auto& [name, change] : changes) {
    SCOPED_TRACE(name);
    Batch host(4);
    fill(host, 1);
    std::string request;
    WireWriter rw(request);
    rw.event(host[0]);
    Batch worker(4);
    WireReader rr(request);
    ASSERT_TRUE(rr.event(*worker.append(), nullptr));
    EventDelta delta;
    delta.begin(worker);
    change(api, worker, worker[0]);
    std::string answer;
    WireWriter aw(answer);
    aw.setOrigin(request);
    delta.write(aw, worker);
    // The host's own copy of its request (the worker's events point into `request`).
    std::string origin = request;
    WireReader ar(answer);
    ar.setOrigin(origin, /*outlives_events=*/false);
    ASSERT_TRUE(ar.delta(host[0], &host.arena()));
    EXPECT_TRUE(ar.atEnd());
    std::fill(origin.begin(), origin.end(), '#');  // the buffer's next use
    expectSame(worker[0], host[0]);
  }
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

// Frames through the shared channel (worker_protocol.h): large payloads go through the mapping
// in alternating slots, two can be outstanding in one direction without overwriting each
// other, small ones go over the socket, and a header naming the channel is refused by a
// receiver without one or with a length past the slot.
TEST(SharedChannel, LargePayloadsTravelInAlternatingSlotsAndBadHeadersAreRefused) {
  namespace wire = omniloop::plugin::wire;
  std::string error;
  std::unique_ptr<wire::SharedChannel> host = wire::SharedChannel::create(1 << 20, error);
  ASSERT_TRUE(host) << error;
  EXPECT_GE(host->fd(), 5);  // above the descriptors the worker's are moved to
  std::unique_ptr<wire::SharedChannel> worker = wire::SharedChannel::attach(host->fd(), 1 << 20);
  ASSERT_TRUE(worker);
  EXPECT_FALSE(wire::SharedChannel::attach(host->fd(), 1 << 19));  // the size must match
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);

  const std::string first(300000, 'a'), second(200000, 'b'), small = "tiny";
  ASSERT_EQ(wire::writeFrame(sv[0], wire::Frame::Process, first, std::nullopt, host.get()),
            wire::IoStatus::Ok);
  ASSERT_EQ(wire::writeFrame(sv[0], wire::Frame::Process, second, std::nullopt, host.get()),
            wire::IoStatus::Ok);
  ASSERT_EQ(wire::writeFrame(sv[0], wire::Frame::Process, small, std::nullopt, host.get()),
            wire::IoStatus::Ok);
  wire::Frame type{};
  std::string got;
  ASSERT_EQ(wire::readFrame(sv[1], type, got, std::nullopt, worker.get()), wire::IoStatus::Ok);
  EXPECT_EQ(got, first);  // not overwritten by the second, sent before this was read
  ASSERT_EQ(wire::readFrame(sv[1], type, got, std::nullopt, worker.get()), wire::IoStatus::Ok);
  EXPECT_EQ(got, second);
  ASSERT_EQ(wire::readFrame(sv[1], type, got, std::nullopt, worker.get()), wire::IoStatus::Ok);
  EXPECT_EQ(got, small);
  // The answer direction is the other half.
  ASSERT_EQ(wire::writeFrame(sv[1], wire::Frame::Result, second, std::nullopt, worker.get()),
            wire::IoStatus::Ok);
  ASSERT_EQ(wire::readFrame(sv[0], type, got, std::nullopt, host.get()), wire::IoStatus::Ok);
  EXPECT_EQ(type, wire::Frame::Result);
  EXPECT_EQ(got, second);

  // A header saying "in the channel" to a receiver without one, or past the slot's size.
  ASSERT_EQ(wire::writeFrame(sv[0], wire::Frame::Process, first, std::nullopt, host.get()),
            wire::IoStatus::Ok);
  EXPECT_EQ(wire::readFrame(sv[1], type, got, std::nullopt, nullptr), wire::IoStatus::Failed);
  struct {
    uint32_t type, flags;
    uint64_t length;
  } forged{4, 1, (1 << 20) / 2 + 1};
  ASSERT_EQ(::write(sv[0], &forged, sizeof forged), static_cast<ssize_t>(sizeof forged));
  EXPECT_EQ(wire::readFrame(sv[1], type, got, std::nullopt, worker.get()), wire::IoStatus::Failed);
  forged = {4, 8, 16};  // an unknown flag
  ASSERT_EQ(::write(sv[0], &forged, sizeof forged), static_cast<ssize_t>(sizeof forged));
  EXPECT_EQ(wire::readFrame(sv[1], type, got, std::nullopt, worker.get()), wire::IoStatus::Failed);
  ::close(sv[0]);
  ::close(sv[1]);
}
