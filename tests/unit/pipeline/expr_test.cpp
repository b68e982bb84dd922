// The condition language of filter/route (core/pipeline/expr).
#include <gtest/gtest.h>

#include <cmath>

#include "alloc_counter.h"
#include "pipeline/expr/expr.h"

using namespace omniloop;
using namespace omniloop::pipeline;
using event::Batch;
using event::Event;
using event::Value;

namespace {

// One event with a few typed attributes and envelope values.
class ExprTest : public ::testing::Test {
 protected:
  void SetUp() override {
    e_ = batch_.append();
    e_->channel = "crm";
    e_->type = "contact.updated";
    e_->occurred_at_us = 1714557600LL * 1000000;
    e_->set("age", Value::integer(42));
    e_->set("age_text", Value::string("42"));
    e_->set("score", Value::real(3.5));
    e_->set("name", Value::string("Ada"));
    e_->set("country", Value::string("DE"));
    e_->set("vip", Value::boolean(true));
    e_->set("blocked", Value::boolean(false));
    e_->set("nothing", Value::null());
    e_->set("email", Value::string("ada@example.com"));
    e_->set("customer.tier", Value::string("gold"));
    e_->set("Contact: Email", Value::string("ada@example.com"));
    e_->set("zip", Value::string("01234"));
    e_->setIdentity("email", "h1:k1:abc");
    e_->setConsent("analytics", event::ConsentStatus::Granted);
  }

  bool eval(const std::string& text) { return Expression::parse(text).evaluate(*e_); }

  // Offset of the syntax error, or SIZE_MAX when the text parses.
  static size_t errorOffset(const std::string& text, std::string* message = nullptr,
                            std::string* hint = nullptr) {
    try {
      Expression::parse(text);
    } catch (const ExprSyntaxError& e) {
      if (message) *message = e.what();
      if (hint) *hint = e.hint();
      return e.offset();
    }
    return SIZE_MAX;
  }

  Batch batch_{4};
  Event* e_ = nullptr;
};

TEST_F(ExprTest, EqualityOnIntsStringsBoolsAndFloats) {
  EXPECT_TRUE(eval("age == 42"));
  EXPECT_FALSE(eval("age == 41"));
  EXPECT_TRUE(eval("name == \"Ada\""));
  EXPECT_TRUE(eval("name == 'Ada'"));
  EXPECT_FALSE(eval("name == \"ada\""));
  EXPECT_TRUE(eval("vip == true"));
  EXPECT_TRUE(eval("blocked == false"));
  EXPECT_TRUE(eval("score == 3.5"));
  EXPECT_TRUE(eval("age == 42.0"));
  EXPECT_TRUE(eval("age != 41"));
  EXPECT_FALSE(eval("age != 42"));
}

TEST_F(ExprTest, OrderingOperators) {
  EXPECT_TRUE(eval("age < 43"));
  EXPECT_FALSE(eval("age < 42"));
  EXPECT_TRUE(eval("age <= 42"));
  EXPECT_FALSE(eval("age <= 41"));
  EXPECT_TRUE(eval("age > 41"));
  EXPECT_FALSE(eval("age > 42"));
  EXPECT_TRUE(eval("age >= 42"));
  EXPECT_FALSE(eval("age >= 43"));
  EXPECT_TRUE(eval("score > 3"));
  EXPECT_TRUE(eval("score < 3.6"));
  EXPECT_TRUE(eval("age > -1"));
  EXPECT_TRUE(eval("name < \"Bob\""));  // bytewise text order
  EXPECT_TRUE(eval("name >= \"Ada\""));
}

TEST_F(ExprTest, NumericStringComparesNumericallyAgainstANumber) {
  EXPECT_TRUE(eval("age_text == 42"));
  EXPECT_TRUE(eval("age_text > 9"));
  EXPECT_TRUE(eval("age_text == age"));
  EXPECT_TRUE(eval("zip == 1234"));  // "01234" parses as 1234 against a number
  // Two strings compare as text, even when both look numeric.
  EXPECT_TRUE(eval("age_text < \"9\""));
  EXPECT_FALSE(eval("zip == \"1234\""));
  // A non-numeric string against a number compares as text.
  EXPECT_FALSE(eval("name == 5"));
  EXPECT_TRUE(eval("name > 5"));  // "Ada" > "5" bytewise
}

TEST_F(ExprTest, BoolComparesAsTextAgainstAString) {
  EXPECT_TRUE(eval("vip == \"true\""));
  EXPECT_FALSE(eval("vip == 1"));
}

TEST_F(ExprTest, MissingFieldComparesAsNull) {
  EXPECT_TRUE(eval("missing == null"));
  EXPECT_FALSE(eval("missing != null"));
  EXPECT_TRUE(eval("nothing == null"));
  EXPECT_FALSE(eval("missing == 0"));
  EXPECT_FALSE(eval("missing == \"\""));
  EXPECT_TRUE(eval("missing != 5"));
  EXPECT_FALSE(eval("age == null"));
  EXPECT_TRUE(eval("age != null"));
}

TEST_F(ExprTest, OrderingWithNullIsFalse) {
  for (const char* op : {"<", "<=", ">", ">="}) {
    EXPECT_FALSE(eval(std::string("missing ") + op + " 5")) << op;
    EXPECT_FALSE(eval(std::string("5 ") + op + " missing")) << op;
    EXPECT_FALSE(eval(std::string("missing ") + op + " null")) << op;
    EXPECT_FALSE(eval(std::string("nothing ") + op + " nothing")) << op;
  }
}

TEST_F(ExprTest, InAndNotInLists) {
  EXPECT_TRUE(eval("country in [\"DE\", \"FR\"]"));
  EXPECT_FALSE(eval("country in [\"FR\", \"IT\"]"));
  EXPECT_TRUE(eval("country not in [\"FR\", \"IT\"]"));
  EXPECT_FALSE(eval("country not in [\"DE\"]"));
  EXPECT_TRUE(eval("age in [1, 42.0, \"x\"]"));
  EXPECT_TRUE(eval("age_text in [42]"));
  EXPECT_FALSE(eval("country in []"));
  EXPECT_TRUE(eval("missing in [null, 1]"));
  EXPECT_FALSE(eval("missing in [\"DE\"]"));
  EXPECT_TRUE(eval("missing not in [\"DE\"]"));
  EXPECT_TRUE(eval("vip in [true]"));
}

// Found by fuzzing (tests/fuzz/condition_fuzz.cpp): "a****" and "(a+)+" made std::regex
// backtrack for minutes on a short value. Refused when the pipeline loads, at the regex.
// `=~` matches with RE2, in time linear in the value and without recursion: patterns that
// make a backtracking engine (std::regex, as before) run for minutes, found by fuzzing, answer
// at once on long values that do not match, and a 200 KB value is read whole (std::regex
// recursed once per character and overflowed the stack).
TEST_F(ExprTest, RegexesMatchInLinearTimeWhateverThePatternAndValue) {
  e_->set("long", Value::string(batch_.intern(std::string(200000, 'a') + "!")));
  EXPECT_FALSE(eval("long =~ \"^(a+)+$\""));
  EXPECT_FALSE(eval("long =~ \"^(a|aa)*$\""));
  EXPECT_FALSE(eval("long =~ \"a.+b.+c.*d+e\""));
  EXPECT_TRUE(eval("long =~ \"a+!$\""));
  EXPECT_TRUE(eval("long =~ \"(?:x*a)*!\""));
  EXPECT_TRUE(eval("long !~ \"b\""));
}

// What RE2 cannot run is an error at load time, at the regex, with the syntax in the hint:
// back-references, lookaround, repetition counts over 1000, stacked quantifiers.
TEST_F(ExprTest, RegexesOutsideRe2SyntaxAreRefusedAtTheirPosition) {
  std::string msg, hint;
  EXPECT_EQ(errorOffset("t =~ \"(a)\\\\1\"", &msg, &hint), 5u);
  EXPECT_NE(msg.find("invalid regular expression"), std::string::npos) << msg;
  EXPECT_NE(hint.find("no back-references"), std::string::npos) << hint;
  EXPECT_EQ(errorOffset("email =~ \"(?=x)y\"", &msg), 9u);
  EXPECT_NE(errorOffset("t =~ \"a{1001}\"", &msg), SIZE_MAX);
  EXPECT_NE(errorOffset("t =~ \"x **\""), SIZE_MAX);
  EXPECT_NE(errorOffset("t =~ \"(unclosed\""), SIZE_MAX);
  // Within RE2's syntax, everything loads: nested and many quantifiers, counts up to 1000.
  EXPECT_EQ(errorOffset("t =~ \"(a+)+$\""), SIZE_MAX);
  EXPECT_EQ(errorOffset("t =~ \"a*?b+?\""), SIZE_MAX);
  EXPECT_EQ(errorOffset("t =~ \"[(+*)]+\""), SIZE_MAX);
  EXPECT_EQ(errorOffset("t =~ \"x{0,1000}\""), SIZE_MAX);
  EXPECT_EQ(errorOffset("t =~ \"^.+@.+\\\\.[a-z]+$\""), SIZE_MAX);
}

TEST_F(ExprTest, RegexMatchAndNotMatch) {
  EXPECT_TRUE(eval("email =~ \"@example\\\\.com$\""));  // "@example\\.com$" in the text
  EXPECT_TRUE(eval("email =~ \"@example\\.com$\""));    // unknown escapes are kept
  EXPECT_FALSE(eval("email =~ \"^bob\""));
  EXPECT_TRUE(eval("email !~ \"^bob\""));
  EXPECT_FALSE(eval("email !~ \"example\""));
  EXPECT_TRUE(eval("name =~ '^A'"));
  EXPECT_TRUE(eval("age =~ \"^4\\d$\""));  // numbers match by their text
  EXPECT_TRUE(eval("vip =~ \"^true$\""));
  EXPECT_FALSE(eval("missing =~ \".*\""));
  EXPECT_TRUE(eval("missing !~ \"x\""));
}

TEST_F(ExprTest, ExistsChecksPresenceOfNonNullFieldsObjectsAndEnvelope) {
  EXPECT_TRUE(eval("exists(age)"));
  EXPECT_FALSE(eval("exists(missing)"));
  EXPECT_FALSE(eval("exists(nothing)"));
  EXPECT_TRUE(eval("exists(customer)"));  // "customer.tier" is a child
  EXPECT_TRUE(eval("exists(customer.tier)"));
  EXPECT_FALSE(eval("exists(cust)"));
  EXPECT_TRUE(eval("exists($identities.email)"));
  EXPECT_FALSE(eval("exists($identities.phone)"));
  EXPECT_TRUE(eval("exists(`Contact: Email`)"));
  EXPECT_TRUE(eval("not exists(missing)"));
}

TEST_F(ExprTest, AndOrNotPrecedenceAndParentheses) {
  // not > and > or
  EXPECT_TRUE(eval("true or false and false"));
  EXPECT_FALSE(eval("(true or false) and false"));
  EXPECT_FALSE(eval("not true and false"));
  EXPECT_TRUE(eval("not (true and false)"));
  EXPECT_TRUE(eval("not false or false"));
  EXPECT_FALSE(eval("not (false or true)"));
  EXPECT_TRUE(eval("not not true"));
  EXPECT_TRUE(eval("age > 40 and name == \"Ada\" or missing == 1"));
  EXPECT_TRUE(eval("missing == 1 or age > 40 and name == \"Ada\""));
  EXPECT_FALSE(eval("(missing == 1 or age > 40) and name == \"Bob\""));
  EXPECT_TRUE(eval("not age == 1"));  // not binds looser than comparison
}

TEST_F(ExprTest, SymbolicAliases) {
  EXPECT_TRUE(eval("age > 1 && vip"));
  EXPECT_TRUE(eval("false || vip"));
  EXPECT_TRUE(eval("!blocked"));
  EXPECT_FALSE(eval("!(age > 1)"));
}

TEST_F(ExprTest, BareValuesAreTruthy) {
  EXPECT_TRUE(eval("vip"));
  EXPECT_FALSE(eval("blocked"));
  EXPECT_FALSE(eval("missing"));
  EXPECT_FALSE(eval("nothing"));
  EXPECT_TRUE(eval("age"));
  EXPECT_TRUE(eval("name"));
  EXPECT_TRUE(eval("true"));
  EXPECT_FALSE(eval("0"));
}

TEST_F(ExprTest, EnvelopePaths) {
  EXPECT_TRUE(eval("$channel == \"crm\""));
  EXPECT_TRUE(eval("$type == 'contact.updated'"));
  EXPECT_TRUE(eval("$identities.email == \"h1:k1:abc\""));
  EXPECT_TRUE(eval("$consent.analytics == \"granted\""));
  EXPECT_FALSE(eval("exists($consent.marketing)"));
  EXPECT_TRUE(eval("$occurred_at > 0"));
  EXPECT_TRUE(eval("$key == null"));  // unset
}

TEST_F(ExprTest, DottedAndBacktickQuotedPaths) {
  EXPECT_TRUE(eval("customer.tier == \"gold\""));
  EXPECT_TRUE(eval("`Contact: Email` == \"ada@example.com\""));
  EXPECT_TRUE(eval("`customer.tier` == \"gold\""));
}

TEST_F(ExprTest, StringEscapes) {
  e_->set("quote", Value::string("it's \"x\"\n"));
  e_->set("accent", Value::string("caf\xc3\xa9"));
  EXPECT_TRUE(eval("quote == 'it\\'s \"x\"\\n'"));
  EXPECT_TRUE(eval("quote == \"it's \\\"x\\\"\\n\""));
  EXPECT_TRUE(eval("accent == \"caf\\u00e9\""));
}

TEST_F(ExprTest, ComparesTwoFields) {
  e_->set("limit", Value::integer(50));
  EXPECT_TRUE(eval("age < limit"));
  EXPECT_FALSE(eval("age > limit"));
}

TEST_F(ExprTest, BriefExampleCondition) {
  const std::string text =
      "$channel == \"crm\" and (age >= 18 or exists(guardian)) and country in [\"DE\",\"FR\"] "
      "and email =~ \"@example\\\\.com$\"";
  EXPECT_TRUE(eval(text));
  e_->set("age", Value::integer(12));
  EXPECT_FALSE(eval(text));
  e_->set("guardian", Value::string("Bob"));
  EXPECT_TRUE(eval(text));
  e_->set("country", Value::string("US"));
  EXPECT_FALSE(eval(text));
}

TEST_F(ExprTest, ReportsPathsRead) {
  Expression x = Expression::parse("a == 1 and (b > a or exists($identities.email))");
  ASSERT_EQ(x.paths().size(), 3u);
  EXPECT_EQ(x.paths()[0], "a");
  EXPECT_EQ(x.paths()[1], "b");
  EXPECT_EQ(x.paths()[2], "$identities.email");
  EXPECT_EQ(x.text(), "a == 1 and (b > a or exists($identities.email))");
}

TEST_F(ExprTest, SurvivesMove) {
  Expression a = Expression::parse("name == \"Ada\" and country in [\"DE\"]");
  Expression b = std::move(a);
  EXPECT_TRUE(b.evaluate(*e_));
}

TEST(ExprSyntax, ErrorsCarryTheOffsetOfTheBadToken) {
  std::string msg, hint;
  auto offset = [&](const std::string& t) {
    msg.clear();
    hint.clear();
    try {
      Expression::parse(t);
    } catch (const ExprSyntaxError& e) {
      msg = e.what();
      hint = e.hint();
      return e.offset();
    }
    return SIZE_MAX;
  };
  EXPECT_EQ(offset("age >= "), 7u);
  EXPECT_NE(msg.find("expected a value or field"), std::string::npos) << msg;

  EXPECT_EQ(offset("age = 18"), 4u);
  EXPECT_NE(hint.find("=="), std::string::npos);

  EXPECT_EQ(offset("country in [\"DE\" \"FR\"]"), 17u);
  EXPECT_NE(msg.find("','"), std::string::npos) << msg;

  EXPECT_EQ(offset("email =~ \"(\""), 9u);
  EXPECT_NE(msg.find("invalid regular expression"), std::string::npos) << msg;

  EXPECT_EQ(offset("a == 1 AND b == 2"), 7u);
  EXPECT_NE(hint.find("'and'"), std::string::npos) << hint;

  EXPECT_EQ(offset("x in y"), 5u);
  EXPECT_NE(msg.find("needs a list"), std::string::npos);

  EXPECT_EQ(offset("name == \"Ada"), 8u);
  EXPECT_NE(msg.find("unterminated"), std::string::npos);

  EXPECT_EQ(offset("$foo == 1"), 0u);
  EXPECT_NE(msg.find("unknown envelope path"), std::string::npos);

  EXPECT_EQ(offset("(a == 1"), 7u);
  EXPECT_NE(msg.find("')'"), std::string::npos) << msg;

  EXPECT_EQ(offset("a < b < c"), 6u);
  EXPECT_NE(msg.find("do not chain"), std::string::npos);

  EXPECT_EQ(offset("2fa == 1"), 0u);
  EXPECT_NE(hint.find("backticks"), std::string::npos);

  EXPECT_EQ(offset("   "), 0u);
  EXPECT_NE(msg.find("empty"), std::string::npos);

  EXPECT_EQ(offset("a..b == 1"), 0u);
  EXPECT_NE(msg.find("empty segment"), std::string::npos);

  EXPECT_EQ(offset("a == 1 b == 2"), 7u);
  EXPECT_EQ(offset("x =~ y"), 5u);
  EXPECT_EQ(offset("x in [y]"), 6u);
  EXPECT_EQ(offset("a & b"), 2u);
  EXPECT_EQ(offset("a == #"), 5u);
  EXPECT_EQ(offset("exists(1)"), 7u);
  EXPECT_EQ(offset("`open == 1"), 0u);
  EXPECT_EQ(offset("a not b"), 2u);
  EXPECT_EQ(offset("$identities. == 1"), 0u);
}

TEST(ExprSyntax, DeepNestingIsRefusedNotCrashed) {
  std::string deep(500, '(');
  deep += "true";
  deep += std::string(500, ')');
  EXPECT_THROW(Expression::parse(deep), ExprSyntaxError);
  EXPECT_THROW(Expression::parse(std::string(500, '!') + "true"), ExprSyntaxError);
}

TEST_F(ExprTest, TokenSoupEitherParsesOrFailsWithAnOffsetInside) {
  const std::vector<std::string> pieces = {
      "age", "name",  "$channel", "`a b`", "exists(", "(",    ")",    "[",  "]",    ",",
      "==",  "!=",    "<",        "<=",    ">",       ">=",   "=~",   "!~", "in",   "not",
      "and", "or",    "!",        "&&",    "||",      "true", "null", "42", "-3.5", "\"x\"",
      "'y'", "\"(\"", "\"a\\\"",  "=",     "&",       "#",    " ",    "`",  "\"",   "$"};
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<size_t>(state >> 33);
  };
  size_t parsed = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    const size_t n = 1 + next() % 8;
    for (size_t k = 0; k < n; ++k) text += pieces[next() % pieces.size()] + " ";
    try {
      Expression x = Expression::parse(text);
      x.evaluate(*e_);
      ++parsed;
    } catch (const ExprSyntaxError& err) {
      EXPECT_LE(err.offset(), text.size()) << text;
    }
  }
  EXPECT_GT(parsed, 100u);  // the soup is not all garbage
}

TEST(ExprValues, CompareValuesRules) {
  EXPECT_EQ(compareValues(Value::integer(1), Value::real(1.5)), Ordering::Less);
  EXPECT_EQ(compareValues(Value::string("10"), Value::integer(9)), Ordering::Greater);
  EXPECT_EQ(compareValues(Value::string("10"), Value::string("9")), Ordering::Less);
  EXPECT_EQ(compareValues(Value::null(), Value::null()), Ordering::Unordered);
  EXPECT_EQ(compareValues(Value::real(std::nan("")), Value::real(1)), Ordering::Unordered);
  EXPECT_EQ(compareValues(Value::boolean(false), Value::boolean(true)), Ordering::Less);
  EXPECT_EQ(compareValues(Value::integer(INT64_MAX), Value::integer(INT64_MAX - 1)),
            Ordering::Greater);  // exact for large ints
  EXPECT_TRUE(equalValues(Value::null(), Value::null()));
  EXPECT_FALSE(equalValues(Value::null(), Value::string("")));
  EXPECT_TRUE(equalValues(Value::string(" 7 "), Value::integer(7)));
}

TEST(ExprValues, CheckPathAcceptsAttributesAndKnownEnvelopePaths) {
  EXPECT_EQ(checkPath("customer.email"), "");
  EXPECT_EQ(checkPath("$identities.email"), "");
  EXPECT_EQ(checkPath("$consent.analytics"), "");
  EXPECT_EQ(checkPath("$occurred_at"), "");
  std::string hint;
  EXPECT_NE(checkPath("$channels", &hint), "");
  EXPECT_NE(hint.find("$channel"), std::string::npos);
  EXPECT_NE(checkPath("$consent."), "");
  EXPECT_NE(checkPath(".a"), "");
  EXPECT_NE(checkPath("a."), "");
  EXPECT_NE(checkPath(""), "");
}

TEST_F(ExprTest, EvaluateDoesNotAllocate) {
  Expression x = Expression::parse(
      "$channel == \"crm\" and (age >= 18 or exists(guardian)) and country in [\"DE\", \"FR\"] "
      "and zip == 1234 and score > 1.5 and `Contact: Email` != null and not blocked and "
      "$consent.analytics == 'granted' and $occurred_at > 0");
  bool result = false;
  omniloop::test_support::startCountingAllocations();
  for (int i = 0; i < 1000; ++i) result ^= x.evaluate(*e_);
  EXPECT_EQ(omniloop::test_support::stopCountingAllocations(), 0u);
  EXPECT_FALSE(result);  // true an even number of times
  EXPECT_TRUE(x.evaluate(*e_));
}

}  // namespace
