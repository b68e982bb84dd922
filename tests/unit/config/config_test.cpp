// Pipeline files: one valid file, an empty one, and one rejection per rule, each checked for the
// line:column a user would be sent to and the hint they would read.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/loader.h"
#include "config/yaml_input.h"
#include "test_catalog.h"

namespace omniloop::config {
namespace {

using testing::fakeCatalog;

const char* kValid = R"(version: 1
name: crm-contacts
description: Contacts from the CRM
source:
  type: file.csv
  id: crm
  with: { path: contacts.csv, header: true, skip_rows: 2, delimiter: ";" }
stages:
  - map:
      rename: { "Contact: Email": email }
      set: { $channel: crm }
  - filter: '$channel == "crm"'
  - route:
      - if: 'total > 1000'
        to: big_orders
      - to: drop
  - name: enrich
    com.vendor.enrich: { key: value, n: 5, f: 1.5, b: true, q: "5", z: ~ }
sink:
  type: cdp
  with: { phone_country_code: "+1" }
sinks:
  big_orders: { type: file.jsonl, with: { path: out/big.jsonl } }
batch: { size: 500, queue: 8 }
)";

std::vector<Diagnostic> errorsOf(const std::string& yaml) {
  const SimpleCatalog catalog = fakeCatalog();
  try {
    parsePipeline(yaml, "p.yaml", catalog);
  } catch (const ConfigError& e) {
    return e.diagnostics();
  }
  ADD_FAILURE() << "expected a ConfigError for:\n" << yaml;
  return {};
}

// The one diagnostic whose message contains `needle`.
Diagnostic findError(const std::vector<Diagnostic>& diags, const std::string& needle) {
  for (const Diagnostic& d : diags) {
    if (d.message.find(needle) != std::string::npos) return d;
  }
  std::string all;
  for (const Diagnostic& d : diags) all += d.format() + "\n";
  ADD_FAILURE() << "no diagnostic mentions '" << needle << "'; got:\n" << all;
  return {};
}

// A minimal valid pipeline with `extra` appended (extra lines start at line 7).
std::string minimal(const std::string& extra = "") {
  return "version: 1\n"
         "name: p\n"
         "source:\n"
         "  type: file.csv\n"
         "  with: { path: a.csv }\n"
         "sink: { type: cdp }\n" +
         extra;
}

TEST(PipelineLoader, ValidPipelineLoadsEveryPart) {
  const SimpleCatalog catalog = fakeCatalog();
  const PipelineSpec spec = parsePipeline(kValid, "crm.yaml", catalog);
  EXPECT_EQ(spec.file, "crm.yaml");
  EXPECT_EQ(spec.name, "crm-contacts");
  EXPECT_EQ(spec.description, "Contacts from the CRM");
  EXPECT_EQ(spec.source_id, "crm");
  EXPECT_EQ(spec.source.type, "file.csv");
  EXPECT_EQ(spec.source.mark.line, 5);
  EXPECT_EQ(spec.source.mark.column, 3);
  // Typed by the component's schema: header is a boolean, skip_rows an integer, ";" text.
  EXPECT_EQ(spec.source.with_json,
            R"({"path":"contacts.csv","header":true,"skip_rows":2,"delimiter":";"})");
  EXPECT_EQ(spec.source.with["path"].Scalar(), "contacts.csv");

  ASSERT_EQ(spec.stages.size(), 4u);
  EXPECT_EQ(spec.stages[0].type, "map");
  EXPECT_EQ(spec.stages[0].name, "1:map");
  EXPECT_EQ(spec.stages[0].mark.line, 9);
  EXPECT_EQ(spec.stages[0].mark.column, 5);
  EXPECT_TRUE(spec.stages[0].body["rename"].IsMap());
  EXPECT_EQ(spec.stages[1].type, "filter");
  EXPECT_EQ(spec.stages[1].name, "2:filter");
  EXPECT_EQ(spec.stages[1].body.Scalar(), "$channel == \"crm\"");
  EXPECT_EQ(spec.stages[1].json, R"("$channel == \"crm\"")");
  EXPECT_EQ(spec.stages[2].name, "3:route");
  EXPECT_EQ(spec.stages[2].json, R"([{"if":"total > 1000","to":"big_orders"},{"to":"drop"}])");
  EXPECT_EQ(spec.stages[3].type, "com.vendor.enrich");
  EXPECT_EQ(spec.stages[3].name, "enrich");
  // No schema: types are guessed from plain scalars; quoted stays text.
  EXPECT_EQ(spec.stages[3].json, R"({"key":"value","n":5,"f":1.5,"b":true,"q":"5","z":null})");

  ASSERT_EQ(spec.sinks.size(), 2u);
  EXPECT_EQ(spec.sinks[0].name, "default");
  EXPECT_EQ(spec.sinks[0].component.type, "cdp");
  EXPECT_EQ(spec.sinks[0].component.with_json, R"({"phone_country_code":"+1"})");
  EXPECT_EQ(spec.sinks[1].name, "big_orders");
  EXPECT_EQ(spec.sinks[1].component.type, "file.jsonl");
  EXPECT_EQ(spec.sinks[1].component.with_json, R"({"path":"out/big.jsonl"})");
  EXPECT_EQ(spec.batch_size, 500u);
  EXPECT_EQ(spec.queue_depth, 8u);
  EXPECT_TRUE(spec.root.IsMap());
}

TEST(PipelineLoader, DefaultsApplyWhenOptionalKeysAreAbsent) {
  const SimpleCatalog catalog = fakeCatalog();
  const PipelineSpec spec = parsePipeline(
      "version: 1\nname: p\nsource: { type: file.csv, with: { path: a } }\nsink: { type: cdp }\n",
      "p.yaml", catalog);
  EXPECT_EQ(spec.source_id, "p");  // defaults to the pipeline name
  EXPECT_TRUE(spec.stages.empty());
  ASSERT_EQ(spec.sinks.size(), 1u);
  EXPECT_EQ(spec.sinks[0].component.with_json, "{}");  // absent `with:` is an empty object
  EXPECT_TRUE(spec.sinks[0].component.with.IsNull());
  EXPECT_EQ(spec.batch_size, 1024u);
  EXPECT_EQ(spec.queue_depth, 4u);
}

TEST(PipelineLoader, SinkClearIdentitiesNeedsAReason) {
  const SimpleCatalog catalog = fakeCatalog();
  const PipelineSpec spec = parsePipeline(
      "version: 1\nname: p\nsource: { type: file.csv, with: { path: a } }\nsink: { type: cdp }\n"
      "sinks:\n  crm:\n    type: file.jsonl\n"
      "    clear_identities: \"the CRM import matches by e-mail\"\n    with: { path: o }\n",
      "p.yaml", catalog);
  ASSERT_EQ(spec.sinks.size(), 2u);
  EXPECT_EQ(spec.sinks[0].clear_identities, "");  // pseudonymised unless a sink says why
  EXPECT_EQ(spec.sinks[1].clear_identities, "the CRM import matches by e-mail");
  const Diagnostic d = findError(
      errorsOf("version: 1\nname: p\nsource: { type: file.csv, with: { path: a } }\nsink:\n"
               "  type: file.jsonl\n  clear_identities: yes\n  with: { path: o }\n"),
      "clear_identities");
  EXPECT_EQ(d.mark.line, 6) << d.format();
  EXPECT_NE(d.hint.find("reason"), std::string::npos) << d.format();
}

TEST(PipelineLoader, EmptyFileIsRejectedAtLineOne) {
  for (const char* text : {"", "# nothing but a comment\n", "---\n"}) {
    const auto diags = errorsOf(text);
    ASSERT_EQ(diags.size(), 1u) << text;
    EXPECT_EQ(diags[0].mark.line, 1);
    EXPECT_EQ(diags[0].mark.column, 1);
    EXPECT_NE(diags[0].message.find("empty"), std::string::npos);
    EXPECT_NE(diags[0].hint.find("version: 1"), std::string::npos);
  }
}

TEST(PipelineLoader, DocumentThatIsNotAMapIsRejected) {
  const auto diags = errorsOf("- a\n- b\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "the document must be a map, not a list");
  EXPECT_EQ(diags[0].mark.line, 1);
}

TEST(PipelineLoader, MisspeltKeySuggestsTheClosestKey) {
  const auto diags = errorsOf(
      "version: 1\nnmae: p\nsource: { type: file.csv, with: { path: a } }\n"
      "sink: { type: cdp }\n");
  const Diagnostic typo = findError(diags, "unknown key 'nmae'");
  EXPECT_EQ(typo.mark.line, 2);
  EXPECT_EQ(typo.mark.column, 1);
  EXPECT_EQ(typo.hint, "did you mean 'name'?");
  // The missing `name` is reported too, in the same run.
  const Diagnostic missing = findError(diags, "missing required key 'name'");
  EXPECT_EQ(missing.mark.line, 1);
  EXPECT_EQ(diags.size(), 2u);
}

TEST(PipelineLoader, UnknownKeyFarFromAnyListsKnownKeys) {
  const auto diags = errorsOf(minimal("batch: { size: 10, flush_interval: 5 }\n"));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "unknown key 'flush_interval' in 'batch'");
  EXPECT_EQ(diags[0].mark.line, 7);
  EXPECT_EQ(diags[0].mark.column, 20);
  EXPECT_EQ(diags[0].hint, "known keys: size, queue");
}

TEST(PipelineLoader, UnknownSourceTypeListsKnownTypesClosestFirst) {
  const auto diags = errorsOf(
      "version: 1\nname: p\nsource:\n  type: file.jsnl\n"
      "sink: { type: cdp }\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "unknown source type 'file.jsnl'");
  EXPECT_EQ(diags[0].mark.line, 4);
  EXPECT_EQ(diags[0].mark.column, 9);
  EXPECT_EQ(diags[0].hint, "did you mean 'file.jsonl'? known source types: file.jsonl, file.csv");
}

TEST(PipelineLoader, UnknownTypeWithNothingCloseListsAllTypes) {
  const auto diags =
      errorsOf("version: 1\nname: p\nsource: { type: kafka }\nsink: { type: cdp }\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].hint, "known source types: file.csv, file.jsonl");
}

TEST(PipelineLoader, SinkTypeUsedAsSourceSaysWhatItIs) {
  const auto diags = errorsOf("version: 1\nname: p\nsource: { type: cdp }\nsink: { type: cdp }\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "unknown source type 'cdp' ('cdp' is a sink type)");
}

TEST(PipelineLoader, UnknownStageAndSinkTypesUseTheirOwnKind) {
  const auto diags = errorsOf(minimal(
      "stages:\n  - filtr: 'a == 1'\nsinks:\n  x: { type: file.jsnl, with: { path: a } }\n"));
  const Diagnostic stage = findError(diags, "unknown stage type 'filtr'");
  EXPECT_EQ(stage.mark.line, 8);
  EXPECT_EQ(stage.mark.column, 5);
  EXPECT_EQ(stage.hint.rfind("did you mean 'filter'? known stage types: filter, ", 0), 0u)
      << stage.hint;
  const Diagnostic sink = findError(diags, "unknown sink type 'file.jsnl'");
  EXPECT_EQ(sink.mark.line, 10);
  EXPECT_EQ(sink.hint, "did you mean 'file.jsonl'? known sink types: file.jsonl, cdp");
}

TEST(PipelineLoader, WrongValueTypeNamesExpectedAndActual) {
  const auto diags = errorsOf(minimal("batch:\n  size: lots\n"));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'batch.size' must be an integer, not \"lots\"");
  EXPECT_EQ(diags[0].mark.line, 8);
  EXPECT_EQ(diags[0].mark.column, 9);
}

TEST(PipelineLoader, QuotedNumberIsTextAndTheHintSaysSo) {
  const auto diags = errorsOf(minimal("batch: { size: \"100\" }\n"));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'batch.size' must be an integer, not \"100\"");
  EXPECT_EQ(diags[0].hint, "quoted values are text; remove the quotes");
}

TEST(PipelineLoader, MapWhereTextIsExpected) {
  const auto diags = errorsOf(minimal("description:\n  text: x\n"));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'description' must be text, not a map");
  EXPECT_EQ(diags[0].mark.line, 8);
  EXPECT_EQ(diags[0].mark.column, 3);
}

TEST(PipelineLoader, MissingRequiredKeyPointsAtItsMap) {
  const auto top = errorsOf("version: 1\nname: p\nsource: { type: file.csv, with: { path: a } }\n");
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].message, "missing required key 'sink'");
  EXPECT_EQ(top[0].mark.line, 1);
  EXPECT_EQ(top[0].mark.column, 1);
  EXPECT_EQ(top[0].hint.rfind("add 'sink:' (the default sink", 0), 0u) << top[0].hint;

  const auto nested = errorsOf("version: 1\nname: p\nsource:\n  id: crm\nsink: { type: cdp }\n");
  ASSERT_EQ(nested.size(), 1u);
  EXPECT_EQ(nested[0].message, "'source' is missing required key 'type'");
  EXPECT_EQ(nested[0].mark.line, 4);
  EXPECT_EQ(nested[0].mark.column, 3);
}

TEST(PipelineLoader, VersionMustBeOne) {
  const auto diags = errorsOf(
      "version: 2\nname: p\nsource: { type: file.csv, with: { path: a } }\n"
      "sink: { type: cdp }\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'version' must be 1, not 2");
  EXPECT_EQ(diags[0].mark.line, 1);
  EXPECT_EQ(diags[0].mark.column, 10);
  EXPECT_EQ(diags[0].hint, "write 'version: 1'");
}

TEST(PipelineLoader, BatchBoundsAreEnforced) {
  auto diags = errorsOf(minimal("batch: { size: 0, queue: 65 }\n"));
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0].message, "'batch.size' must be at least 1, not 0");
  EXPECT_EQ(diags[0].mark.column, 16);
  EXPECT_EQ(diags[1].message, "'batch.queue' must be at most 64, not 65");
  diags = errorsOf(minimal("batch: { size: 100001 }\n"));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'batch.size' must be at most 100000, not 100001");
}

TEST(PipelineLoader, PipelineNameMustMatchThePattern) {
  const auto diags = errorsOf(
      "version: 1\nname: CRM Contacts\nsource: { type: file.csv, with: { path: a } }\n"
      "sink: { type: cdp }\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message.rfind("'name' \"CRM Contacts\" does not match the pattern", 0), 0u)
      << diags[0].message;
  EXPECT_EQ(diags[0].mark.line, 2);
  EXPECT_EQ(diags[0].mark.column, 7);
  EXPECT_NE(diags[0].hint.find("lower-case"), std::string::npos);
}

TEST(PipelineLoader, RouteTargetMustBeANamedSinkOrDrop) {
  const auto diags =
      errorsOf(minimal("stages:\n"
                       "  - route:\n"
                       "      - if: 'total > 1000'\n"
                       "        to: big_order\n"
                       "      - to: drop\n"
                       "sinks:\n"
                       "  big_orders: { type: file.jsonl, with: { path: out.jsonl } }\n"));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "route target 'big_order' is not a sink");
  EXPECT_EQ(diags[0].mark.line, 10);
  EXPECT_EQ(diags[0].mark.column, 13);
  EXPECT_EQ(diags[0].hint, "did you mean 'big_orders'? known targets: big_orders, default, drop");
}

TEST(PipelineLoader, RouteMayTargetNamedSinksTheDefaultSinkOrDrop) {
  const SimpleCatalog catalog = fakeCatalog();
  const PipelineSpec spec = parsePipeline(
      minimal("stages:\n"
              "  - route: [ { if: 'a', to: archive }, { if: 'b', to: default }, { to: drop } ]\n"
              "sinks:\n"
              "  archive: { type: file.jsonl, with: { path: a.jsonl } }\n"),
      "p.yaml", catalog);
  ASSERT_EQ(spec.stages.size(), 1u);
  EXPECT_EQ(spec.sinks.size(), 2u);
}

TEST(PipelineLoader, RouteTargetWithoutAnySinksSaysHowToDeclareOne) {
  const auto diags = errorsOf(minimal("stages:\n  - route: [ { to: archive } ]\n"));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].mark.line, 8);
  EXPECT_EQ(diags[0].mark.column, 20);
  EXPECT_NE(diags[0].hint.find("declare it under 'sinks:'"), std::string::npos);
}

TEST(PipelineLoader, ReservedSinkNamesAreRejected) {
  const auto diags = errorsOf(minimal("sinks:\n  drop: { type: cdp }\n  default: { type: cdp }\n"));
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0].message, "the sink name 'drop' is reserved");
  EXPECT_EQ(diags[0].mark.line, 8);
  EXPECT_EQ(diags[1].message, "the sink name 'default' is reserved");
}

TEST(PipelineLoader, SeveralErrorsAreReportedInOneRun) {
  const auto diags = errorsOf(
      "version: 1\n"
      "name: Bad Name\n"  // pattern
      "source:\n"
      "  type: file.csv\n"
      "  with: { pth: a.csv }\n"  // unknown key + missing path
      "stages:\n"
      "  - filter: 'a === 1'\n"                                 // semantic check
      "  - bogus: {}\n"                                         // unknown stage type
      "sink: { type: cdp, with: { phone_country_code: 1 } }\n"  // pattern on a number
      "batch: { size: -1 }\n");                                 // minimum
  ASSERT_EQ(diags.size(), 7u);
  EXPECT_EQ(findError(diags, "'name'").mark.line, 2);
  const Diagnostic typo = findError(diags, "unknown key 'pth' in 'source.with'");
  EXPECT_EQ(typo.mark.line, 5);
  EXPECT_EQ(typo.mark.column, 11);
  EXPECT_EQ(typo.hint, "did you mean 'path'?");
  EXPECT_EQ(findError(diags, "'source.with' is missing required key 'path'").mark.line, 5);
  const Diagnostic check = findError(diags, "unknown operator '==='");
  EXPECT_EQ(check.mark.line, 7);
  EXPECT_EQ(check.hint, "use '=='");
  EXPECT_EQ(findError(diags, "unknown stage type 'bogus'").mark.line, 8);
  EXPECT_EQ(findError(diags, "'sink.with.phone_country_code'").mark.line, 9);
  EXPECT_EQ(findError(diags, "'batch.size' must be at least 1").mark.line, 10);
}

TEST(PipelineLoader, YamlSyntaxErrorCarriesItsPosition) {
  auto diags = errorsOf("version: 1\nname: p\n  source: x\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "invalid YAML: illegal map value");
  EXPECT_EQ(diags[0].mark.line, 3);
  EXPECT_EQ(diags[0].mark.column, 9);
  EXPECT_FALSE(diags[0].hint.empty());

  diags = errorsOf("version: 1\nname: p\nstages: [ { map: {} }\nsink: { type: cdp }\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message.rfind("invalid YAML: ", 0), 0u);
  EXPECT_GE(diags[0].mark.line, 3);
}

TEST(PipelineLoader, TabIndentationGetsItsOwnHint) {
  const auto diags = errorsOf("version: 1\nname: p\nsource:\n\ttype: file.csv\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].mark.line, 4);
  EXPECT_EQ(diags[0].hint, "indent with spaces: YAML does not allow tabs for indentation");
}

TEST(PipelineLoader, EmptyStagesAndSinksAreAllowed) {
  const SimpleCatalog catalog = fakeCatalog();
  const PipelineSpec spec = parsePipeline(minimal("stages:\nsinks:\n"), "p.yaml", catalog);
  EXPECT_TRUE(spec.stages.empty());
  EXPECT_EQ(spec.sinks.size(), 1u);
}

TEST(PipelineLoader, ComponentConfigIsCheckedAgainstItsSchema) {
  auto diags = errorsOf(
      "version: 1\nname: p\nsource:\n  type: file.csv\n"
      "  with:\n    path: a.csv\n    header: yes\n    delimiter: '::'\n"
      "sink: { type: cdp }\n");
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0].message, "'source.with.header' must be true or false, not \"yes\"");
  EXPECT_EQ(diags[0].mark.line, 7);
  EXPECT_EQ(diags[0].mark.column, 13);
  EXPECT_EQ(diags[0].hint, "write true or false");
  EXPECT_EQ(diags[1].message, "'source.with.delimiter' must be at most 1 character long");

  // An absent `with:` is an empty object: required keys are still required.
  diags = errorsOf("version: 1\nname: p\nsource:\n  type: file.csv\nsink: { type: cdp }\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'source.with' is missing required key 'path'");
  EXPECT_EQ(diags[0].mark.line, 4);
}

TEST(PipelineLoader, StageBodyIsCheckedAgainstTheStageSchema) {
  const auto diags = errorsOf(minimal("stages:\n  - filter:\n  - route: [ { if: x } ]\n"));
  ASSERT_EQ(diags.size(), 2u);
  EXPECT_EQ(diags[0].message, "'stages[1].filter' must be text, not empty");
  EXPECT_EQ(diags[0].mark.line, 8);
  EXPECT_EQ(diags[0].mark.column, 5);
  EXPECT_EQ(diags[1].message, "'stages[2].route[1]' is missing required key 'to'");
  EXPECT_EQ(diags[1].mark.line, 9);
}

TEST(PipelineLoader, PathFormatValuesResolveAgainstThePipelineFile) {
  SimpleCatalog catalog = fakeCatalog();
  catalog.add(testing::info(ComponentKind::Source, "files.dir", R"({
    "type": "object",
    "properties": {"path": {"type": "string", "format": "path"}, "glob": {"type": "string"}}
  })"));
  PipelineSpec spec = parsePipeline(
      "version: 1\nname: p\nsource: { type: files.dir, with: { path: ../data/in, glob: ../x } }\n"
      "sink: { type: cdp }\n",
      "/srv/omniloop/pipelines/p.yaml", catalog);
  EXPECT_EQ(spec.source.with_json, R"({"path":"/srv/omniloop/data/in","glob":"../x"})");
  EXPECT_EQ(spec.source.with["path"].Scalar(), "../data/in");  // the YAML is left as written
  spec = parsePipeline(
      "version: 1\nname: p\nsource: { type: files.dir, with: { path: /abs } }\n"
      "sink: { type: cdp }\n",
      "/srv/omniloop/pipelines/p.yaml", catalog);
  EXPECT_EQ(spec.source.with_json, R"({"path":"/abs"})");
}

TEST(PipelineLoader, SemanticCheckRunsOnlyWhenTheSchemaPasses) {
  int calls = 0;
  SimpleCatalog catalog = fakeCatalog();
  ComponentInfo stage;
  stage.kind = ComponentKind::Stage;
  stage.type = "counted";
  stage.schema_json = R"({"type": "string"})";
  stage.check = [&calls](const YAML::Node&, const std::string&, std::vector<Diagnostic>&) {
    ++calls;
  };
  catalog.add(stage);
  EXPECT_NO_THROW(parsePipeline(minimal("stages:\n  - counted: ok\n"), "p.yaml", catalog));
  EXPECT_EQ(calls, 1);
  EXPECT_THROW(parsePipeline(minimal("stages:\n  - counted: [1]\n"), "p.yaml", catalog),
               ConfigError);
  EXPECT_EQ(calls, 1);
}

TEST(PipelineLoader, ThrowingCheckBecomesADiagnostic) {
  SimpleCatalog catalog = fakeCatalog();
  ComponentInfo stage;
  stage.kind = ComponentKind::Stage;
  stage.type = "fragile";
  stage.check = [](const YAML::Node&, const std::string&, std::vector<Diagnostic>&) {
    throw std::runtime_error("boom");
  };
  catalog.add(stage);
  try {
    parsePipeline(minimal("stages:\n  - fragile: {}\n"), "p.yaml", catalog);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].message, "checking stages[1].fragile failed: boom");
    EXPECT_EQ(e.diagnostics()[0].mark.line, 8);
  }
}

TEST(PipelineLoader, InvalidComponentSchemaIsReportedNotThrown) {
  SimpleCatalog catalog = fakeCatalog();
  ComponentInfo broken;
  broken.kind = ComponentKind::Sink;
  broken.type = "broken";
  broken.provider = "com.vendor.broken";
  broken.schema_json = "{ not json";
  catalog.add(broken);
  try {
    parsePipeline(
        "version: 1\nname: p\nsource: { type: file.csv, with: { path: a } }\n"
        "sink: { type: broken }\n",
        "p.yaml", catalog);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_NE(e.diagnostics()[0].message.find(
                  "'broken' (from com.vendor.broken) has an invalid config schema"),
              std::string::npos);
  }
}

TEST(PipelineLoader, StageItemWithTwoTypesPointsAtTheSecond) {
  const auto diags = errorsOf(minimal("stages:\n  - map: {}\n    filter: 'a == 1'\n"));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "stage 1 has more than one type: 'map', 'filter'");
  EXPECT_EQ(diags[0].mark.line, 9);
  EXPECT_EQ(diags[0].mark.column, 5);
  EXPECT_NE(diags[0].hint.find("own '- '"), std::string::npos);
}

TEST(PipelineLoader, StageItemWithOnlyANameHasNoType) {
  const auto diags = errorsOf(minimal("stages:\n  - name: lonely\n"));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "stage 1 has no type");
  EXPECT_EQ(diags[0].mark.line, 8);
  EXPECT_NE(diags[0].hint.find("known stage types: "), std::string::npos);
}

TEST(PipelineLoader, StageItemMustBeAMap) {
  const auto diags = errorsOf(minimal("stages:\n  - filter\n"));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'stages[1]' must be a map, not \"filter\"");
  EXPECT_EQ(diags[0].mark.line, 8);
  EXPECT_EQ(diags[0].mark.column, 5);
  EXPECT_NE(diags[0].hint.find("'- <type>: <config>'"), std::string::npos);
}

TEST(PipelineLoader, DuplicateStageNamesAreRejected) {
  const auto diags =
      errorsOf(minimal("stages:\n  - name: x\n    map: {}\n  - name: x\n    map: {}\n"));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "two stages are named 'x'");
  EXPECT_EQ(diags[0].mark.line, 10);
}

TEST(PipelineLoader, DuplicateKeyIsReported) {
  const auto diags = errorsOf(minimal("name: q\n"));
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "duplicate key 'name'");
  EXPECT_EQ(diags[0].mark.line, 7);
}

TEST(PipelineLoader, LoadsFromAFileAndReportsAMissingOne) {
  const std::filesystem::path dir =
      std::filesystem::path(OMNILOOP_BINARY_DIR) / "test-data" / "config_test";
  std::filesystem::create_directories(dir);
  const std::string file = (dir / "ok.yaml").string();
  {
    std::ofstream out(file);
    out << kValid;
  }
  const SimpleCatalog catalog = fakeCatalog();
  EXPECT_EQ(loadPipeline(file, catalog).name, "crm-contacts");
  try {
    loadPipeline((dir / "absent.yaml").string(), catalog);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].mark.file, (dir / "absent.yaml").string());
    EXPECT_NE(e.diagnostics()[0].message.find("cannot read the pipeline file"), std::string::npos);
  }
}

TEST(PipelineLoader, QuickstartPipelinesPassWithPermissiveComponents) {
  SimpleCatalog catalog;
  for (auto [kind, type] :
       std::vector<std::pair<ComponentKind, std::string>>{{ComponentKind::Source, "file.csv"},
                                                          {ComponentKind::Source, "file.jsonl"},
                                                          {ComponentKind::Source, "crm.odbc"},
                                                          {ComponentKind::Source, "pos.poslog"},
                                                          {ComponentKind::Source, "asterisk.cdr"},
                                                          {ComponentKind::Stage, "map"},
                                                          {ComponentKind::Stage, "filter"},
                                                          {ComponentKind::Stage, "mask"},
                                                          {ComponentKind::Sink, "cdp"}}) {
    catalog.add(testing::info(kind, type, ""));
  }
  const std::filesystem::path dir =
      std::filesystem::path(OMNILOOP_SOURCE_DIR) / "examples" / "quickstart" / "pipelines";
  int loaded = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    EXPECT_NO_THROW({
      const PipelineSpec spec = loadPipeline(entry.path().string(), catalog);
      EXPECT_EQ(spec.name + ".yaml", entry.path().filename().string());
    }) << entry.path();
    ++loaded;
  }
  EXPECT_GE(loaded, 4);
}

TEST(Diagnostic, FormatsFileLineColumnMessageAndHint) {
  Diagnostic d{Mark{"p.yaml", 3, 7}, "unknown key 'pth'", "did you mean 'path'?"};
  EXPECT_EQ(d.format(), "p.yaml:3:7: error: unknown key 'pth'\n  hint: did you mean 'path'?");
  d.hint.clear();
  EXPECT_EQ(d.format(), "p.yaml:3:7: error: unknown key 'pth'");
  EXPECT_EQ((Mark{"p.yaml", 0, 0}).str(), "p.yaml");
}

TEST(ConfigError, WhatListsEveryDiagnostic) {
  const ConfigError e({Diagnostic{Mark{"a.yaml", 1, 2}, "first", ""},
                       Diagnostic{Mark{"a.yaml", 3, 4}, "second", "fix it"}});
  EXPECT_STREQ(e.what(), "a.yaml:1:2: error: first\na.yaml:3:4: error: second\n  hint: fix it");
  EXPECT_EQ(e.diagnostics().size(), 2u);
}

TEST(SimpleCatalog, FindsByKindAndListsSortedTypes) {
  const SimpleCatalog catalog = fakeCatalog();
  ASSERT_NE(catalog.find(ComponentKind::Sink, "file.jsonl"), nullptr);
  EXPECT_EQ(catalog.find(ComponentKind::Sink, "file.jsonl")->kind, ComponentKind::Sink);
  EXPECT_EQ(catalog.find(ComponentKind::Sink, "file.csv"), nullptr);
  EXPECT_EQ(catalog.types(ComponentKind::Source),
            (std::vector<std::string>{"file.csv", "file.jsonl"}));
  EXPECT_EQ(toString(ComponentKind::Stage), "stage");
}

}  // namespace
}  // namespace omniloop::config

namespace omniloop::config {
namespace {

// "Billion laughs": nine levels of nine aliases each, 9^9 (387 million) leaves once expanded,
// in well under a kilobyte. Refused at the alias that crosses the bound, before any expansion.
TEST(PipelineLoader, NestedAliasesThatExpandBeyondTheBoundAreRefusedWithAPosition) {
  std::string yaml = minimal() + "labels:\n  l0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i <= 8; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    yaml += "  l" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
    for (int k = 1; k < 9; ++k) yaml += ", " + prev;
    yaml += "]\n";
  }
  ASSERT_LT(yaml.size(), 1000u);
  const auto diags = errorsOf(yaml);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].message.find("aliases"), std::string::npos) << diags[0].message;
  EXPECT_GE(diags[0].mark.line, 8);  // somewhere among the alias lines, not line 0
  EXPECT_GT(diags[0].mark.column, 0);
}

TEST(PipelineLoader, AFewAliasesAreStillFine) {
  // The same value reused through an alias is ordinary YAML: only the expanded size is bounded.
  const std::string yaml =
      "version: 1\nname: p\nsource:\n  type: file.csv\n  with: &w { path: a.csv }\n"
      "sink: { type: cdp }\n";
  const SimpleCatalog catalog = fakeCatalog();
  EXPECT_NO_THROW(parsePipeline(yaml, "p.yaml", catalog));
}

TEST(PipelineLoader, ASecondYamlDocumentIsAnErrorAtItsStart) {
  const auto diags = errorsOf(minimal() + "---\nversion: 1\nname: other\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].message.find("second YAML document"), std::string::npos);
  EXPECT_EQ(diags[0].mark.line, 7);
}

TEST(PipelineLoader, AnOversizedFileIsRefusedBeforeParsing) {
  std::string yaml = minimal() + "description: \"" + std::string(kMaxYamlBytes, 'x') + "\"\n";
  const auto diags = errorsOf(yaml);
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_NE(diags[0].message.find("at most"), std::string::npos);
}

}  // namespace
}  // namespace omniloop::config

namespace omniloop::config {
namespace {

TEST(PipelineLoader, AFileFullOfMistakesYieldsAScreenOfErrorsNotThousands) {
  std::string yaml = minimal() + "stages:\n";
  for (int i = 0; i < 500; ++i) yaml += "  - nosuchstage" + std::to_string(i) + ": {}\n";
  const auto diags = errorsOf(yaml);
  ASSERT_EQ(diags.size(), kMaxDiagnostics + 1);
  EXPECT_EQ(diags.back().message, std::to_string(500 - kMaxDiagnostics) + " more errors not shown");
  EXPECT_EQ(diags.back().mark.file, "p.yaml");
}

}  // namespace
}  // namespace omniloop::config
