// plugin.hpp (the C++ SDK) in process: its JSON/config reader, the builder and view classes
// over the real host API, and the generated callbacks turning exceptions into status codes.
#include <gtest/gtest.h>

#include <omniloop/plugin.hpp>

#include <memory>
#include <string>

#include "event/event.h"
#include "plugin/host_api.h"
#include "plugin/plugin_component.h"

namespace sdk = omniloop::sdk;
using omniloop::event::Batch;
using omniloop::event::Disposition;
using omniloop::pipeline::Status;
using omniloop::plugin::hostApi;
using omniloop::plugin::HostContext;
using omniloop::plugin::PluginInstance;
using omniloop::plugin::PluginSink;
using omniloop::plugin::PluginSource;

namespace {

ol_batch* handle(Batch& b) {
  return reinterpret_cast<ol_batch*>(&b);
}

std::string parseError(const std::string& json) {
  try {
    sdk::Config::parse(json);
  } catch (const sdk::Error& e) {
    return e.what();
  }
  return "<parsed>";
}

// Creates an instance of an SDK component the way the host does and wraps it.
template <class Wrapper>
std::unique_ptr<Wrapper> instantiate(const ol_component& c, const std::string& config,
                                     std::string* create_error = nullptr) {
  auto ctx = std::make_unique<HostContext>(omniloop::plugin::InstanceContext{"p", "c", {}}, c.type);
  void* instance = nullptr;
  char err[256] = "";
  const int status =
      c.create(hostApi(), ctx.get(), config.data(), config.size(), &instance, err, sizeof err);
  if (status != OL_OK) {
    if (create_error) *create_error = err;
    return nullptr;
  }
  return std::make_unique<Wrapper>(std::make_unique<PluginInstance>(&c, instance, std::move(ctx)));
}

class Letters : public sdk::SourceBase {
 public:
  explicit Letters(const sdk::Config& config) : letters_(config.str("letters", "abc")) {
    host().counter("created");
  }
  void resume(std::string_view cursor) override { pos_ = std::stoul(std::string(cursor)); }
  ol_status read(sdk::BatchWriter& out, size_t) override {
    if (letters_ == "retry") throw sdk::Retry("upstream busy");
    if (letters_ == "boom") throw std::runtime_error("parser broke");
    if (letters_ == "int") throw 7;
    while (pos_ < letters_.size()) {
      auto ev = out.append();
      if (!ev) break;
      ev.key(std::to_string(pos_)).str("letter", std::string(1, letters_[pos_]));
      ++pos_;
    }
    out.cursor(std::to_string(pos_));
    return pos_ < letters_.size() ? OL_OK : OL_END;
  }

 private:
  std::string letters_;
  size_t pos_ = 0;
};

class Collect : public sdk::SinkBase {
 public:
  void write(sdk::BatchView& batch) override {
    for (sdk::EventView ev : batch) {
      if (!ev.live()) continue;
      line_.clear();
      for (const sdk::Field& f : ev.fields()) {
        line_.append(f.path).push_back('=');
        f.value.appendJson(line_);
      }
      if (line_.find("\"x\"") != std::string::npos) ev.deadLetter("x is not allowed");
      host().counter("lines");
    }
  }

 private:
  std::string line_;
};

constexpr ol_component kLetters =
    sdk::detail::sourceComponent<Letters>("t.letters", "letters", "{}");
constexpr ol_component kCollect = sdk::detail::sinkComponent<Collect>("t.collect", "collect", "{}");

}  // namespace

TEST(SdkJson, ParsesNestedConfigWithExactIntegers) {
  const auto c = sdk::Config::parse(
      R"({"name":"caf\u00e9 \ud83d\ude00","big":9007199254740993,"exp":2e3,"ratio":0.25,
          "on":true,"list":["a","b"],"tls":{"port":443,"ca":"x.pem"},"nothing":null})");
  EXPECT_EQ(c.str("name"), "caf\xc3\xa9 \xf0\x9f\x98\x80");
  EXPECT_EQ(c.integer("big"), 9007199254740993LL);  // beyond a double's exact range
  EXPECT_EQ(c.integer("exp"), 2000);
  EXPECT_DOUBLE_EQ(c.number("ratio", 0), 0.25);
  EXPECT_TRUE(c.boolean("on", false));
  EXPECT_EQ(c.strings("list"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(c.integer("tls.port"), 443);
  EXPECT_EQ(c.object("tls").str("ca"), "x.pem");
  EXPECT_FALSE(c.has("nothing"));
  EXPECT_EQ(c.str("nothing", "default"), "default");
  EXPECT_EQ(c.integer("absent", -1), -1);
  EXPECT_TRUE(c.strings("absent").empty());
}

TEST(SdkJson, WrongTypesAndMissingOptionsNameTheOption) {
  const auto c = sdk::Config::parse(R"({"ratio":0.5,"s":"x","l":[1]})");
  auto error = [](auto&& fn) -> std::string {
    try {
      fn();
    } catch (const sdk::Error& e) {
      return e.what();
    }
    return "<no error>";
  };
  EXPECT_EQ(error([&] { c.integer("ratio"); }), "option 'ratio' must be an integer");
  EXPECT_EQ(error([&] { c.boolean("s", false); }), "option 's' must be true or false");
  EXPECT_EQ(error([&] { c.strings("l"); }), "option 'l' must be a list of strings");
  EXPECT_EQ(error([&] { c.str("missing"); }), "option 'missing' is required");
}

TEST(SdkJson, RejectsMalformedJsonWithAnOffset) {
  EXPECT_EQ(parseError(R"({"a":})"), "invalid JSON at offset 5: unexpected character");
  EXPECT_EQ(parseError("[1,]"), "invalid JSON at offset 3: unexpected character");
  EXPECT_EQ(parseError("01"), "invalid JSON at offset 1: unexpected text after the JSON value");
  EXPECT_EQ(parseError(R"("\x")"), "invalid JSON at offset 3: unknown escape");
  EXPECT_EQ(parseError(R"("\ud800")"), "invalid JSON at offset 7: lone high surrogate");
  EXPECT_EQ(parseError("[1]"), "configuration must be a JSON object");
  EXPECT_EQ(parseError(std::string(100, '[')), "invalid JSON at offset 65: nesting too deep");
  EXPECT_EQ(parseError("  "), "<parsed>");  // empty text is an empty object
}

TEST(SdkJson, EscapesStringsForSinks) {
  EXPECT_EQ(sdk::jsonQuote("a\"b\\c\n\t\x01 é"), "\"a\\\"b\\\\c\\n\\t\\u0001 é\"");
  std::string dumped;
  sdk::JsonValue::parse(R"({ "k" : [ 1 , "v" , null ] })").dump(dumped);
  EXPECT_EQ(dumped, R"({"k":[1,"v",null]})");
}

TEST(SdkEvents, BuilderAndViewWorkOverTheHostApi) {
  Batch batch(2);
  sdk::BatchWriter out(hostApi(), handle(batch), 5);
  auto ev = out.append();
  ASSERT_TRUE(ev);
  ev.key("k1").type("t").channel("c").time(42).identity("email", "a@example.com");
  ev.consent("ads", sdk::Consent::Denied).str("s", "v").i64("i", -3).f64("d", 0.5);
  ev.boolean("b", true).null("n").json("j", "{\"x\":1}");
  out.cursor("c1");
  EXPECT_TRUE(out.append());
  EXPECT_FALSE(out.append());  // host batch full
  EXPECT_EQ(out.appended(), 2u);
  EXPECT_EQ(batch.cursor, "c1");

  sdk::BatchView view(hostApi(), handle(batch));
  ASSERT_EQ(view.size(), 2u);
  sdk::EventView first = view[0];
  EXPECT_EQ(first.get("$type")->asString(), "t");
  EXPECT_EQ(first.get("$occurred_at")->asInt(), 42);
  EXPECT_EQ(first.get("$identities.email")->asString(), "a@example.com");
  EXPECT_EQ(first.text("$consent.ads"), "denied");
  EXPECT_EQ(first.get("i")->asInt(), -3);
  EXPECT_DOUBLE_EQ(first.get("d")->asDouble(), 0.5);
  EXPECT_TRUE(first.get("b")->asBool());
  EXPECT_TRUE(first.get("n")->isNull());
  EXPECT_TRUE(first.get("j")->isJson());
  EXPECT_FALSE(first.get("absent").has_value());
  EXPECT_THROW(first.get("s")->asInt(), sdk::Error);
  EXPECT_EQ(first.fieldCount(), 6u);

  std::string json = "prefix:";
  first.appendJson(json);
  EXPECT_EQ(json.rfind("prefix:{", 0), 0u);
  EXPECT_EQ(json.back(), '}');

  first.drop("not needed");
  EXPECT_EQ(batch[0].disposition, Disposition::Drop);
  EXPECT_FALSE(first.live());
  EXPECT_EQ(first.disposition(), sdk::Disposition::Drop);
}

TEST(SdkEvents, ValuesPrintAsShortRoundTrippingText) {
  Batch batch(1);
  sdk::BatchWriter out(hostApi(), handle(batch), 1);
  out.append().f64("tenth", 0.1).f64("third", 1.0 / 3).i64("i", 7).str("s", "q\"");
  sdk::EventView ev(hostApi(), reinterpret_cast<ol_event*>(&batch[0]));
  std::string json;
  for (const char* path : {"tenth", "third", "i", "s"}) {
    ev.get(path)->appendJson(json);
    json.push_back(' ');
  }
  EXPECT_EQ(json, "0.1 0.33333333333333331 7 \"q\\\"\" ");
  EXPECT_EQ(ev.get("tenth")->toText(), "0.1");
  EXPECT_EQ(ev.get("s")->toText(), "q\"");
}

TEST(SdkEvents, WriterHandsOutNoMoreThanMaxAndEmptyBuilderThrows) {
  Batch batch(10);
  sdk::BatchWriter out(hostApi(), handle(batch), 1);
  EXPECT_TRUE(out.append());
  sdk::EventBuilder none = out.append();
  EXPECT_FALSE(none);
  EXPECT_THROW(none.str("a", "b"), sdk::Error);
  out.discardLast();
  EXPECT_EQ(batch.size(), 0u);
  EXPECT_TRUE(out.append());
}

TEST(SdkComponents, SourceRunsThroughTheHostWrapperAndResumes) {
  auto source = instantiate<PluginSource>(kLetters, R"({"letters":"wxyz"})");
  ASSERT_NE(source, nullptr);
  EXPECT_EQ(source->instance().context().counter("created"), 1);  // host() usable in the ctor
  Batch batch(8);
  EXPECT_EQ(source->read(batch, 3).status, Status::Ok);
  EXPECT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch.cursor, "3");

  auto resumed = instantiate<PluginSource>(kLetters, R"({"letters":"wxyz"})");
  ASSERT_TRUE(resumed->resume("3").isOk());
  Batch rest(8);
  EXPECT_EQ(resumed->read(rest, 8).status, Status::End);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].find("letter")->s, "z");
}

TEST(SdkComponents, ExceptionsBecomeStatusCodesWithMessages) {
  Batch batch(4);
  auto retry = instantiate<PluginSource>(kLetters, R"({"letters":"retry"})");
  const auto r1 = retry->read(batch, 4);
  EXPECT_EQ(r1.status, Status::Retry);
  EXPECT_EQ(r1.message, "upstream busy");

  auto boom = instantiate<PluginSource>(kLetters, R"({"letters":"boom"})");
  const auto r2 = boom->read(batch, 4);
  EXPECT_EQ(r2.status, Status::Error);
  EXPECT_EQ(r2.message, "parser broke");

  auto other = instantiate<PluginSource>(kLetters, R"({"letters":"int"})");
  const auto r3 = other->read(batch, 4);
  EXPECT_EQ(r3.status, Status::Error);
  EXPECT_EQ(r3.message, "unknown exception");
}

TEST(SdkComponents, CreateRejectsMalformedConfigWithTheParserMessage) {
  std::string error;
  EXPECT_EQ(instantiate<PluginSource>(kLetters, R"({"letters":)", &error), nullptr);
  EXPECT_EQ(error, "invalid JSON at offset 11: unexpected end of input");
  EXPECT_EQ(instantiate<PluginSource>(kLetters, R"({"letters":5})", &error), nullptr);
  EXPECT_EQ(error, "option 'letters' must be a string");
}

TEST(SdkComponents, SinkReadsFieldsAndCanDeadLetterOneEvent) {
  auto sink = instantiate<PluginSink>(kCollect, "{}");
  Batch batch(4);
  for (const char* letter : {"a", "x", "b"}) {
    auto* e = batch.append();
    e->set("letter", omniloop::event::Value::string(letter));
  }
  batch[2].disposition = Disposition::Drop;
  ASSERT_TRUE(sink->write(batch).isOk());
  EXPECT_EQ(sink->instance().context().counter("lines"), 2);  // the dropped one is skipped
  EXPECT_EQ(batch[0].disposition, Disposition::Keep);
  EXPECT_EQ(batch[1].disposition, Disposition::DeadLetter);
  EXPECT_EQ(batch[1].reason, "x is not allowed");
  EXPECT_TRUE(sink->flush().isOk());  // default flush
}

TEST(SdkComponents, EntryMacroPiecesDescribeTheComponents) {
  EXPECT_EQ(kLetters.size, sizeof(ol_component));
  EXPECT_EQ(kLetters.kind, static_cast<uint32_t>(OL_SOURCE));
  EXPECT_STREQ(kLetters.type, "t.letters");
  EXPECT_NE(kLetters.read, nullptr);
  EXPECT_NE(kLetters.resume, nullptr);
  EXPECT_EQ(kLetters.process, nullptr);
  EXPECT_EQ(kCollect.write != nullptr && kCollect.flush != nullptr, true);
  constexpr ol_plugin_descriptor d = sdk::detail::descriptor("p", "1.0.0", &kLetters, 1);
  EXPECT_EQ(d.abi_major, OMNILOOP_ABI_MAJOR);
  EXPECT_EQ(d.size, sizeof(ol_plugin_descriptor));
}
