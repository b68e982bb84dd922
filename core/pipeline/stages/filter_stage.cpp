// The `filter` and `route` stages: both evaluate conditions (pipeline/expr) per live event.
#include <cstdint>
#include <optional>

#include "config/loader.h"
#include "pipeline/expr/expr.h"
#include "pipeline/stages/stage_build.h"
#include "pipeline/stages/yaml_position.h"

namespace omniloop::pipeline {

namespace {

constexpr std::string_view kDropTarget = "drop";

class FilterStage final : public Stage {
 public:
  explicit FilterStage(Expression condition) : condition_(std::move(condition)) {}

  Result process(event::Batch& batch) override {
    for (event::Event& e : batch) {
      if (e.live() && !condition_.evaluate(e)) {
        e.disposition = event::Disposition::Drop;
        e.reason = "filter";
      }
    }
    return Result::ok();
  }

 private:
  Expression condition_;
};

class RouteStage final : public Stage {
 public:
  struct Rule {
    Expression condition;
    bool drop = false;
    uint16_t sink = 0;
  };

  explicit RouteStage(std::vector<Rule> rules) : rules_(std::move(rules)) {}

  Result process(event::Batch& batch) override {
    for (event::Event& e : batch) {
      if (!e.live()) continue;
      for (const Rule& r : rules_) {
        if (!r.condition.evaluate(e)) continue;
        if (r.drop) {
          e.disposition = event::Disposition::Drop;
          e.reason = "route";
        } else {
          e.route = r.sink;
        }
        break;  // first match wins
      }
    }
    return Result::ok();
  }

 private:
  std::vector<Rule> rules_;
};

// Parses the condition in scalar `node`; reports a syntax error at the bad token's position.
std::optional<Expression> condition(const YAML::Node& node, BuildScope& scope, const char* what) {
  if (!node.IsScalar() || node.Scalar().empty()) {
    scope.error(node, std::string(what) + " takes a condition string",
                "for example: 'age >= 18 and country in [\"DE\", \"FR\"]'");
    return std::nullopt;
  }
  try {
    return Expression::parse(node.Scalar());
  } catch (const ExprSyntaxError& e) {
    scope.errorAt(scalarMark(node, scope.file, e.offset()),
                  std::string("invalid condition: ") + e.what(), e.hint());
  }
  return std::nullopt;
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

}  // namespace

std::unique_ptr<Stage> buildFilterStage(const YAML::Node& body, BuildScope& scope) {
  std::optional<Expression> c = condition(body, scope, "filter");
  if (!c) return nullptr;
  return std::make_unique<FilterStage>(std::move(*c));
}

std::unique_ptr<Stage> buildRouteStage(const YAML::Node& body, BuildScope& scope,
                                       const StageContext* ctx) {
  const char* kExample = "route: [ { if: 'total > 1000', to: big_orders } ]";
  if (!body.IsSequence() || body.size() == 0) {
    scope.error(body, "route takes a list of { if: condition, to: sink }", kExample);
    return nullptr;
  }
  std::vector<RouteStage::Rule> rules;
  bool ok = true;
  for (const YAML::Node& item : body) {
    if (!item.IsMap()) {
      scope.error(item, "each route item is a mapping { if: condition, to: sink }", kExample);
      ok = false;
      continue;
    }
    std::optional<YAML::Node> if_node, to_node;
    for (auto it = item.begin(); it != item.end(); ++it) {
      const std::string key = it->first.IsScalar() ? it->first.Scalar() : std::string();
      if (key == "if") {
        if_node.emplace(it->second);
      } else if (key == "to") {
        to_node.emplace(it->second);
      } else {
        std::string close = config::closestMatch(key, {"if", "to"});
        scope.error(it->first, "unknown route key '" + key + "'",
                    (close.empty() ? std::string() : "did you mean '" + close + "'? ") +
                        "route items take `if` and `to`");
        ok = false;
      }
    }
    if (!if_node || !to_node) {
      scope.error(item, std::string("route item needs `") + (!if_node ? "if" : "to") + "`",
                  kExample);
      ok = false;
      continue;
    }
    std::optional<Expression> c = condition(*if_node, scope, "if");
    bool drop = false;
    uint16_t sink = 0;
    const std::string target = to_node->IsScalar() ? to_node->Scalar() : std::string();
    if (target.empty()) {
      scope.error(*to_node, "`to` names a sink (a key of `sinks:`) or drop");
      ok = false;
    } else if (target == kDropTarget) {
      drop = true;
    } else if (ctx) {
      size_t index = ctx->sink_names.size();
      for (size_t i = 0; i < ctx->sink_names.size(); ++i) {
        if (ctx->sink_names[i] == target) {
          index = i;
          break;
        }
      }
      if (index == ctx->sink_names.size() || index > UINT16_MAX) {
        std::string close = config::closestMatch(target, ctx->sink_names);
        scope.error(*to_node, "route target '" + target + "' is not a sink of this pipeline",
                    (close.empty() ? std::string() : "did you mean '" + close + "'? ") +
                        "sinks: " + joinNames(ctx->sink_names) +
                        "; declare it under `sinks:`, or use `to: drop`");
        ok = false;
      }
      sink = static_cast<uint16_t>(index);
    }
    if (!c) {
      ok = false;
      continue;
    }
    rules.push_back(RouteStage::Rule{std::move(*c), drop, sink});
  }
  if (!ok) return nullptr;
  return std::make_unique<RouteStage>(std::move(rules));
}

}  // namespace omniloop::pipeline
