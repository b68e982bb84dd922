// Pipeline files: the structure is checked against schemas/pipeline.schema.json, then each
// component against the catalog (known type, its own config schema, its semantic check), then
// the rules a schema cannot say (one type per stage item, route targets, reserved sink names).
#include <algorithm>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <tuple>

#include "config/loader.h"
#include "config/personal.h"
#include "config/schemas.h"
#include "config/suggest.h"
#include "config/yaml_input.h"

namespace omniloop::config {

namespace {

const Schema& pipelineSchema() {
  static const Schema schema = Schema::parse(embeddedSchema("pipeline.schema.json"));
  return schema;
}

constexpr const char* kDropTarget = "drop";
constexpr const char* kDefaultSinkName = "default";

class PipelineLoader {
 public:
  PipelineLoader(const std::string& file, const Catalog& catalog) : file_(file), catalog_(catalog) {
    if (!file.empty()) {
      std::error_code ec;
      const std::filesystem::path abs = std::filesystem::absolute(file, ec);
      if (!ec) base_dir_ = abs.parent_path().lexically_normal().string();
    }
  }

  PipelineSpec load(const std::string& text) {
    YAML::Node root = parseYaml(text, file_);
    const Mark top{file_, 1, 1};
    if (!root.IsDefined() || root.IsNull()) {
      throw ConfigError({Diagnostic{top, "the pipeline file is empty",
                                    "a pipeline needs at least 'version: 1', 'name:', 'source:' "
                                    "and 'sink:' (see docs/pipelines.md)"}});
    }
    pipelineSchema().validate(root, file_, "", top, diags_);
    if (!root.IsMap()) throw ConfigError(std::move(diags_));

    PipelineSpec spec;
    spec.file = file_;
    spec.root = root;
    if (const YAML::Node n = child(root, "name"); n.IsScalar()) spec.name = n.Scalar();
    if (const YAML::Node n = child(root, "description"); n.IsScalar())
      spec.description = n.Scalar();

    const YAML::Node source = child(root, "source");
    if (source.IsDefined()) spec.source = component(source, ComponentKind::Source, "source");
    spec.source_id = spec.name;
    if (source.IsMap()) {
      if (const YAML::Node id = child(source, "id"); id.IsScalar()) spec.source_id = id.Scalar();
    }

    if (const YAML::Node sink = child(root, "sink"); sink.IsDefined()) {
      spec.sinks.push_back(SinkSpec{kDefaultSinkName, component(sink, ComponentKind::Sink, "sink"),
                                    clearIdentities(sink)});
    }
    std::vector<std::string> sink_names;
    if (const YAML::Node sinks = child(root, "sinks"); sinks.IsMap()) {
      for (auto it = sinks.begin(); it != sinks.end(); ++it) {
        if (!it->first.IsScalar()) continue;  // reported by the schema
        const std::string name = it->first.Scalar();
        if (name == kDropTarget || name == kDefaultSinkName) {
          add(markOf(it->first, file_), "the sink name '" + name + "' is reserved",
              name == kDropTarget ? "choose another name: a route's 'to: drop' discards events"
                                  : "choose another name: 'default' is the sink under 'sink:'");
          continue;
        }
        if (std::find(sink_names.begin(), sink_names.end(), name) != sink_names.end()) continue;
        sink_names.push_back(name);
        spec.sinks.push_back(SinkSpec{name,
                                      component(it->second, ComponentKind::Sink, "sinks." + name),
                                      clearIdentities(it->second)});
      }
    }

    if (const YAML::Node stages = child(root, "stages"); stages.IsSequence()) {
      for (size_t i = 0; i < stages.size(); ++i) stage(stages[i], i + 1, spec, sink_names);
    }

    if (const YAML::Node iso = child(root, "isolation"); iso.IsScalar()) {
      spec.isolation = iso.Scalar();  // schema-checked
    }
    if (const YAML::Node batch = child(root, "batch"); batch.IsMap()) {
      spec.batch_size = sizeValue(child(batch, "size"), spec.batch_size);
      spec.queue_depth = sizeValue(child(batch, "queue"), spec.queue_depth);
    }

    // Personal data: every declared field masked, dropped or allowed before every sink.
    checkPersonalData(spec, catalog_, diags_);

    if (!diags_.empty()) {
      // In file order, whichever check found them.
      std::stable_sort(diags_.begin(), diags_.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return std::tie(a.mark.line, a.mark.column) < std::tie(b.mark.line, b.mark.column);
      });
      throw ConfigError(std::move(diags_), spec.personal_explanation);
    }
    return spec;
  }

 private:
  void add(Mark m, std::string message, std::string hint = {}) {
    diags_.push_back(Diagnostic{std::move(m), std::move(message), std::move(hint)});
  }

  Mark mark(const YAML::Node& n, const Mark& fallback) const {
    const Mark m = markOf(n, file_);
    return m.line ? m : fallback;
  }

  static size_t sizeValue(const YAML::Node& n, size_t fallback) {
    if (!n.IsScalar()) return fallback;
    try {
      size_t used = 0;
      const long long v = std::stoll(n.Scalar(), &used);
      if (used == n.Scalar().size() && v > 0) return static_cast<size_t>(v);
    } catch (const std::exception&) {
    }
    return fallback;  // the schema has reported it
  }

  const ComponentInfo* lookup(ComponentKind kind, const std::string& type, const Mark& at) {
    if (const ComponentInfo* info = catalog_.find(kind, type)) return info;
    const std::string kind_name(toString(kind));
    std::string message = "unknown " + kind_name + " type '" + type + "'";
    for (ComponentKind other : {ComponentKind::Source, ComponentKind::Stage, ComponentKind::Sink}) {
      if (other != kind && catalog_.find(other, type)) {
        message += " ('" + type + "' is a " + std::string(toString(other)) + " type)";
        break;
      }
    }
    const std::vector<std::string> known = catalog_.types(kind);
    std::string hint = known.empty() ? "no " + kind_name +
                                           " types are installed; check 'plugin_dirs' in "
                                           "omniloop.yaml and run 'omniloop plugins'"
                                     : didYouMeanAndKnown(type, known, kind_name + " types");
    add(at, std::move(message), std::move(hint));
    return nullptr;
  }

  // Validates a component's config block against its schema and check; returns its JSON.
  std::string configure(const ComponentInfo& info, const YAML::Node& block, const std::string& path,
                        const Mark& at) {
    Schema schema;
    try {
      schema = Schema::parse(info.schema_json);
    } catch (const std::exception& e) {
      add(at,
          "the " + std::string(toString(info.kind)) + " type '" + info.type + "' (from " +
              (info.provider.empty() ? std::string("unknown provider") : info.provider) +
              ") has an invalid config schema: " + e.what(),
          "this is a bug in the component; report it to its author");
      return yamlToJson(block);
    }
    // An absent or empty block stands for an empty map where the schema takes one. (Built as a
    // new node: assigning to a yaml-cpp node rebinds every node sharing it.)
    const bool empty_block = !block.IsDefined() || block.IsNull();
    const YAML::Node effective = empty_block && schema.allowsKind(YAML::NodeType::Map)
                                     ? YAML::Node(YAML::NodeType::Map)
                                     : block;
    const size_t before = diags_.size();
    schema.validate(effective, file_, path, at, diags_);
    if (diags_.size() == before && info.check) {
      try {
        info.check(effective, file_, diags_);
      } catch (const std::exception& e) {
        add(at, "checking " + path + " failed: " + e.what());
      }
    }
    return schema.toJson(effective, base_dir_);
  }

  static std::string clearIdentities(const YAML::Node& sink) {
    if (!sink.IsMap()) return {};
    const YAML::Node reason = child(sink, "clear_identities");
    return reason.IsScalar() ? reason.Scalar() : std::string();  // else reported by the schema
  }

  ComponentSpec component(const YAML::Node& n, ComponentKind kind, const std::string& path) {
    ComponentSpec c;
    c.mark = mark(n, Mark{file_, 0, 0});
    c.with_json = "{}";
    if (!n.IsMap()) return c;  // reported by the schema
    // (Never assign to a yaml-cpp node that may share its data: a fresh node or a copy only.)
    const YAML::Node with = child(n, "with");
    c.with = with.IsDefined() ? with : YAML::Node(YAML::NodeType::Null);
    const YAML::Node type = child(n, "type");
    if (!type.IsScalar() || type.Scalar().empty()) return c;  // reported by the schema
    c.type = type.Scalar();
    const Mark with_at = keyMark(n, "with", file_, c.mark);
    const ComponentInfo* info = lookup(kind, c.type, mark(type, c.mark));
    if (info == nullptr) {
      if (c.with.IsMap()) c.with_json = yamlToJson(c.with);
      return c;
    }
    if (!c.with.IsMap() && !c.with.IsNull()) return c;  // not a map: reported by the schema
    c.with_json = configure(*info, c.with, path + ".with", with_at);
    if (c.with_json == "null") c.with_json = "{}";
    return c;
  }

  void stage(const YAML::Node& item, size_t index, PipelineSpec& spec,
             const std::vector<std::string>& sink_names) {
    if (!item.IsMap()) return;  // reported by the schema
    const std::string where = "stages[" + std::to_string(index) + "]";
    const Mark item_mark = mark(item, Mark{file_, 0, 0});
    std::vector<std::pair<YAML::Node, YAML::Node>> types;
    YAML::Node name;
    for (auto it = item.begin(); it != item.end(); ++it) {
      if (!it->first.IsScalar()) continue;
      if (it->first.Scalar() == "name") {
        name = it->second;
      } else {
        types.emplace_back(it->first, it->second);
      }
    }
    if (types.empty()) {
      const std::vector<std::string> known = catalog_.types(ComponentKind::Stage);
      add(item_mark, "stage " + std::to_string(index) + " has no type",
          "write it as '- <type>: <config>', e.g. '- filter: ...'" +
              (known.empty() ? std::string() : "; known stage types: " + joinNames(known)));
      return;
    }
    if (types.size() > 1) {
      std::string listed;
      for (const auto& t : types) listed += (listed.empty() ? "'" : ", '") + t.first.Scalar() + "'";
      add(markOf(types[1].first, file_),
          "stage " + std::to_string(index) + " has more than one type: " + listed,
          "start each stage with its own '- '; if '" + types[1].first.Scalar() + "' belongs to '" +
              types[0].first.Scalar() + "', indent it under '" + types[0].first.Scalar() + "'");
    }

    StageSpec st;
    st.type = types[0].first.Scalar();
    st.body = types[0].second;
    st.mark = markOf(types[0].first, file_);
    st.name = name.IsScalar() ? name.Scalar() : std::to_string(index) + ":" + st.type;
    for (const StageSpec& other : spec.stages) {
      if (other.name == st.name) {
        add(name.IsScalar() ? markOf(name, file_) : st.mark,
            "two stages are named '" + st.name + "'", "stage names must be unique; rename one");
        break;
      }
    }
    const std::string path = where + "." + st.type;
    if (const ComponentInfo* info = lookup(ComponentKind::Stage, st.type, st.mark)) {
      st.json = configure(*info, st.body, path, st.mark);
    } else {
      st.json = yamlToJson(st.body);
    }
    if (st.type == "route") routeTargets(st.body, sink_names);
    spec.stages.push_back(std::move(st));
  }

  // Every `to:` of a route names a sink under `sinks:`, `default` or `drop`.
  void routeTargets(const YAML::Node& body, const std::vector<std::string>& sink_names) {
    std::vector<YAML::Node> rules;
    if (body.IsSequence()) {
      for (size_t i = 0; i < body.size(); ++i) rules.push_back(body[i]);
    } else if (body.IsMap()) {
      rules.push_back(body);
    }
    for (const YAML::Node& rule : rules) {
      if (!rule.IsMap()) continue;
      const YAML::Node to = child(rule, "to");
      if (to.IsScalar()) {
        target(to, sink_names);
      } else if (to.IsSequence()) {
        for (size_t i = 0; i < to.size(); ++i) {
          if (to[i].IsScalar()) target(to[i], sink_names);
        }
      }
    }
  }

  void target(const YAML::Node& to, const std::vector<std::string>& sink_names) {
    const std::string& t = to.Scalar();
    if (t == kDropTarget || t == kDefaultSinkName) return;
    if (std::find(sink_names.begin(), sink_names.end(), t) != sink_names.end()) return;
    std::string hint;
    if (sink_names.empty()) {
      hint = "declare it under 'sinks:' (e.g. 'sinks: { " + t +
             ": { type: file.jsonl, with: { path: out.jsonl } } }'), or write 'to: default' "
             "(the sink under 'sink:') or 'to: drop'";
    } else {
      std::vector<std::string> known = sink_names;
      known.push_back(kDefaultSinkName);
      known.push_back(kDropTarget);
      hint = didYouMeanAndKnown(t, known, "targets");
    }
    add(markOf(to, file_), "route target '" + t + "' is not a sink", std::move(hint));
  }

  const std::string& file_;
  std::string base_dir_;  // the pipeline file's directory: "format": "path" values resolve here
  const Catalog& catalog_;
  std::vector<Diagnostic> diags_;
};

}  // namespace

PipelineSpec parsePipeline(const std::string& text, const std::string& path,
                           const Catalog& catalog) {
  PipelineLoader loader(path, catalog);
  return loader.load(text);
}

PipelineSpec loadPipeline(const std::string& path, const Catalog& catalog) {
  const std::string text = readConfigFile(path, "pipeline file");
  return parsePipeline(text, path, catalog);
}

}  // namespace omniloop::config
