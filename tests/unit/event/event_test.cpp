#include <gtest/gtest.h>

#include <set>

#include "event/event.h"
#include "event/json.h"

using namespace omniloop::event;

TEST(Event, SetReplacesExistingPathAndKeepsInsertionOrder) {
  Batch b(4);
  Event& e = *b.append();
  e.set("a", Value::integer(1));
  e.set("b", Value::string("x"));
  e.set("a", Value::integer(2));
  ASSERT_EQ(e.fields.size(), 2u);
  EXPECT_EQ(e.fields[0].path, "a");
  EXPECT_EQ(e.find("a")->i, 2);
}

TEST(Event, ScalarReplacesChildrenAndChildReplacesScalar) {
  Batch b(1);
  Event& e = *b.append();
  e.set("customer.email", Value::string("x"));
  e.set("customer.name", Value::string("y"));
  e.set("customer", Value::string("flat"));
  EXPECT_EQ(e.fields.size(), 1u);
  e.set("customer.id", Value::integer(7));
  EXPECT_EQ(e.find("customer"), nullptr);
  EXPECT_EQ(e.find("customer.id")->i, 7);
}

TEST(Event, RemoveDropsChildrenButNotSiblingsWithSamePrefix) {
  Batch b(1);
  Event& e = *b.append();
  e.set("a.x", Value::integer(1));
  e.set("a.y", Value::integer(2));
  e.set("ab", Value::integer(3));
  EXPECT_TRUE(e.remove("a"));
  ASSERT_EQ(e.fields.size(), 1u);
  EXPECT_EQ(e.fields[0].path, "ab");
}

TEST(Event, EnvelopePathsReadAndWrite) {
  Batch b(1);
  Event& e = *b.append();
  std::string err;
  EXPECT_TRUE(setPath(e, "$channel", Value::string("pos"), b.arena(), &err));
  EXPECT_TRUE(setPath(e, "$identities.email", Value::string("h1:x"), b.arena(), &err));
  EXPECT_TRUE(setPath(e, "$consent.analytics", Value::boolean(true), b.arena(), &err));
  EXPECT_TRUE(setPath(e, "$type", Value::integer(5), b.arena(), &err));
  EXPECT_FALSE(setPath(e, "$occurred_at", Value::string("yesterday"), b.arena(), &err));
  EXPECT_NE(err.find("time"), std::string::npos);
  Value v;
  ASSERT_TRUE(getPath(e, "$channel", v));
  EXPECT_EQ(v.s, "pos");
  ASSERT_TRUE(getPath(e, "$identities.email", v));
  EXPECT_EQ(v.s, "h1:x");
  ASSERT_TRUE(getPath(e, "$consent.analytics", v));
  EXPECT_EQ(v.s, "granted");
  ASSERT_TRUE(getPath(e, "$type", v));
  EXPECT_EQ(v.s, "5");
  EXPECT_FALSE(getPath(e, "$identities.phone", v));
  EXPECT_TRUE(removePath(e, "$identities.email"));
  EXPECT_TRUE(e.identities.empty());
}

TEST(EventJson, RenestsDottedPathsAndEscapes) {
  Batch b(1);
  Event& e = *b.append();
  e.set("z", Value::boolean(true));
  e.set("customer.name", Value::string("A \"q\"\n"));
  e.set("customer.address.city", Value::string("Köln"));
  e.set("customer.id", Value::integer(-4));
  e.set("items", Value::json("[1,2]"));
  e.set("price", Value::real(2.5));
  e.set("none", Value::null());
  std::string out;
  appendAttributesJson(out, e);
  EXPECT_EQ(out,
            "{\"customer\":{\"address\":{\"city\":\"Köln\"},\"id\":-4,\"name\":\"A \\\"q\\\"\\n\"},"
            "\"items\":[1,2],\"none\":null,\"price\":2.5,\"z\":true}");
}

TEST(EventJson, EmptyAttributesAndEnvelope) {
  Batch b(1);
  Event& e = *b.append();
  e.id = "abc";
  e.channel = "crm";
  e.occurred_at_us = 1714557600123000;
  e.setIdentity("email", "h1:k:ff");
  e.setConsent("analytics", ConsentStatus::Denied);
  std::string out;
  appendEventJson(out, e);
  EXPECT_EQ(out,
            "{\"id\":\"abc\",\"channel\":\"crm\",\"occurred_at\":\"2024-05-01T10:00:00.123Z\","
            "\"identities\":[{\"type\":\"email\",\"value\":\"h1:k:ff\"}],"
            "\"consent\":{\"analytics\":\"denied\"},\"attributes\":{}}");
}

TEST(EventJson, TimestampsBeforeEpochAndMicros) {
  EXPECT_EQ(formatTimestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(formatTimestamp(-1000000), "1969-12-31T23:59:59Z");
  EXPECT_EQ(formatTimestamp(951782400000001), "2000-02-29T00:00:00.000001Z");
}

TEST(EventId, DeterministicAndSensitiveToBoundaries) {
  std::string a = makeEventId("crm", "42");
  EXPECT_EQ(a, makeEventId("crm", "42"));
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, makeEventId("crm", "43"));
  EXPECT_NE(makeEventId("ab", "c"), makeEventId("a", "bc"));
  std::set<std::string> ids;
  for (int i = 0; i < 100000; ++i) ids.insert(makeEventId("src", std::to_string(i)));
  EXPECT_EQ(ids.size(), 100000u);
}

TEST(EventId, ContentHashWhenNoKey) {
  Batch b(2);
  Event& x = *b.append();
  x.set("a", Value::integer(1));
  assignId(x, "s", b);
  Event& y = *b.append();
  y.set("a", Value::integer(1));
  assignId(y, "s", b);
  EXPECT_EQ(x.id, y.id);
  EXPECT_EQ(x.source, "s");
}

TEST(Batch, RecyclesEventsWithoutGrowingAndRespectsCapacity) {
  Batch b(3);
  for (int round = 0; round < 3; ++round) {
    b.reset();
    for (int i = 0; i < 3; ++i) {
      Event* e = b.append();
      ASSERT_NE(e, nullptr);
      EXPECT_TRUE(e->fields.empty());
      e->set("n", Value::string(b.intern("value")));
    }
    EXPECT_EQ(b.append(), nullptr);
    EXPECT_TRUE(b.full());
  }
  b.discardLast();
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(b.countLive(), 2u);
}

TEST(Arena, ResetKeepsLargestBlockAndLargeAllocationsWork) {
  Arena a(64);
  a.copy("small");
  std::string big(1000, 'x');
  EXPECT_EQ(a.copy(big), big);
  EXPECT_EQ(a.bytesReserved(), 1064u);
  a.reset();
  EXPECT_EQ(a.bytesReserved(), 1000u);
  EXPECT_EQ(a.copy("again"), "again");
}

TEST(Event, PathFilterNeverHidesAnExistingField) {
  Batch b(1);
  Event& e = *b.append();
  // Many names: some share filter bits, none may be duplicated or lost.
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 200; ++i) {
      const std::string path = "f" + std::to_string(i);
      e.set(b.intern(path), Value::integer(i + round));
    }
  }
  EXPECT_EQ(e.fields.size(), 200u);
  EXPECT_EQ(e.find("f7")->i, 8);
  // A path written directly (as a rename does) and noted is found by set().
  e.fields[0].path = "renamed";
  e.notePath("renamed");
  e.set("renamed", Value::integer(-1));
  EXPECT_EQ(e.fields.size(), 200u);
  EXPECT_EQ(e.fields[0].value.i, -1);
  e.clear();
  EXPECT_EQ(e.path_bits, 0u);
}

TEST(JsonObjectWriter, WritesMembersNestedObjectsArraysAndNulls) {
  struct Item {
    std::string name;
    int n;
  };
  const std::vector<Item> items = {{"a\"b", 1}, {"c", -2}};
  std::string out;
  {
    omniloop::event::JsonObjectWriter o(out);
    o.text("name", "line\nbreak")
        .textOrNull("missing", "")
        .integer("count", uint64_t{42})
        .raw("traits", R"({"x":1})")
        .strings("tags", {"t1", "t2"})
        .object("inner", [](omniloop::event::JsonObjectWriter& i) { i.integer("depth", 2); })
        .objects("items", items, [](omniloop::event::JsonObjectWriter& i, const Item& it) {
          i.text("name", it.name).integer("n", it.n);
        })
        .strings("none", {});
  }
  EXPECT_EQ(out,
            R"({"name":"line\nbreak","missing":null,"count":42,"traits":{"x":1},"tags":["t1","t2"],)"
            R"("inner":{"depth":2},"items":[{"name":"a\"b","n":1},{"name":"c","n":-2}],"none":[]})");
  std::string empty;
  { omniloop::event::JsonObjectWriter o(empty); }
  EXPECT_EQ(empty, "{}");
}
