// Following personal fields through a pipeline's stages to its sinks (see personal.h).
//
// Each declared field starts as one clear "branch" at its path. Stages move, copy, overwrite,
// drop or mask the values their bodies name; a branch that is masked, pseudonymised
// ($identities.*) or removed stops there, a copy starts a new branch. What is still clear after
// the last stage reaches every sink the pipeline can write to (the default sink and every route
// target). The check is conservative: a rename or copy whose source may be missing does not
// count as removing the value it would overwrite, and masking or dropping one child of a
// personal object leaves the rest of the object personal.
#include "config/personal.h"

#include <algorithm>
#include <set>
#include <string_view>

#include "config/schemas.h"
#include "config/suggest.h"
#include "config/yaml_input.h"

namespace omniloop::config {

namespace {

constexpr const char* kDefaultSink = "default";
constexpr const char* kDropTarget = "drop";

// `outer` is `inner` or one of its parents.
bool covers(std::string_view outer, std::string_view inner) {
  return inner == outer || (inner.size() > outer.size() && inner[outer.size()] == '.' &&
                            inner.substr(0, outer.size()) == outer);
}

bool strictlyInside(std::string_view inner, std::string_view outer) {
  return inner != outer && covers(outer, inner);
}

bool isIdentity(std::string_view path) {
  return path.rfind("$identities.", 0) == 0;
}

enum class State { Clear, Masked, Removed };

struct Branch {
  std::string path;
  State state = State::Clear;
  std::string how;                 // Masked: the method; Removed: by what
  std::vector<std::string> trace;  // one step per stage op that touched it
};

struct Flow {
  PersonalField field;
  std::vector<Branch> branches;
};

class Follower {
 public:
  Follower(const std::string& file, std::vector<Flow>& flows) : file_(file), flows_(flows) {}

  void stage(const StageSpec& st) {
    stage_ = st.name;
    if (st.type == "map") {
      mapStage(st.body);
    } else if (st.type == "mask") {
      maskStage(st.body);
    } else if (st.type == "filter" || st.type == "route" || st.type == "consent") {
      // Keep or drop whole events, or choose their sink: no field changes.
    } else {
      eachClear([&](Branch& b, Flow&) {
        b.trace.push_back("passes stage '" + stage_ + "' (" + st.type +
                          ": assumed to keep the field)");
      });
    }
  }

 private:
  template <class F>
  void eachClear(F&& f) {
    for (Flow& flow : flows_) {
      const size_t n = flow.branches.size();  // branches added by f are not revisited
      for (size_t i = 0; i < n; ++i) {
        if (flow.branches[i].state == State::Clear) f(flow.branches[i], flow);
      }
    }
  }

  // "(stage 2:map, line 20)"
  std::string where(const YAML::Node& n) const {
    const Mark m = markOf(n, file_);
    return "(stage " + stage_ + (m.line ? ", line " + std::to_string(m.line) : std::string()) + ")";
  }

  static Branch fork(const Branch& b, std::string path) {
    Branch c;
    c.path = std::move(path);
    c.trace = b.trace;
    return c;
  }

  static void markIdentity(Branch& b) {
    if (!isIdentity(b.path)) return;
    b.state = State::Masked;
    b.how = "pseudonymised as " + b.path;
  }

  void mapStage(const YAML::Node& body) {
    if (body.IsMap()) {
      for (auto it = body.begin(); it != body.end(); ++it) mapOp(it->first, it->second);
    } else if (body.IsSequence()) {
      for (size_t i = 0; i < body.size(); ++i) {
        if (!body[i].IsMap()) continue;
        for (auto it = body[i].begin(); it != body[i].end(); ++it) mapOp(it->first, it->second);
      }
    }
  }

  void mapOp(const YAML::Node& key, const YAML::Node& value) {
    if (!key.IsScalar()) return;
    const std::string& op = key.Scalar();
    if ((op == "rename" || op == "copy") && value.IsMap()) {
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (it->first.IsScalar() && it->second.IsScalar()) {
          move(it->first.Scalar(), it->second.Scalar(), op == "rename", it->first);
        }
      }
    } else if (op == "set" && value.IsMap()) {
      for (auto it = value.begin(); it != value.end(); ++it) {
        if (it->first.IsScalar()) overwrite(it->first.Scalar(), it->first);
      }
    } else if (op == "drop") {
      if (value.IsScalar()) drop(value.Scalar(), value);
      if (value.IsSequence()) {
        for (size_t i = 0; i < value.size(); ++i) {
          if (value[i].IsScalar()) drop(value[i].Scalar(), value[i]);
        }
      }
    } else if (op == "time") {
      if (value.IsMap()) time(value);
      if (value.IsSequence()) {
        for (size_t i = 0; i < value.size(); ++i) {
          if (value[i].IsMap()) time(value[i]);
        }
      }
    }
    // cast converts in place: the value stays what it was.
  }

  void move(const std::string& from, const std::string& to, bool rename, const YAML::Node& at) {
    const std::string verb = rename ? "renamed" : "copied";
    eachClear([&](Branch& b, Flow& flow) {
      if (covers(from, b.path)) {
        const std::string moved = to + b.path.substr(from.size());
        if (rename) {
          b.trace.push_back(verb + " to '" + moved + "' " + where(at));
          b.path = moved;
          markIdentity(b);
        } else {
          Branch c = fork(b, moved);
          c.trace.push_back(verb + " to '" + moved + "' " + where(at));
          markIdentity(c);
          b.trace.push_back("copied to '" + moved + "', still here " + where(at));
          flow.branches.push_back(std::move(c));
        }
      } else if (strictlyInside(from, b.path)) {
        // Part of a personal object moves out: that part is personal where it lands.
        Branch c = fork(b, to);
        c.trace.push_back("'" + from + "' " + verb + " to '" + to + "' " + where(at));
        markIdentity(c);
        b.trace.push_back("'" + from + "' " + (rename ? "renamed out" : "copied") + " to '" + to +
                          "' " + where(at));
        flow.branches.push_back(std::move(c));
      }
    });
  }

  void overwrite(const std::string& path, const YAML::Node& at) {
    eachClear([&](Branch& b, Flow&) {
      if (!covers(path, b.path)) return;
      b.trace.push_back("overwritten by set " + where(at));
      b.state = State::Removed;
      b.how = "overwritten by a constant";
    });
  }

  void drop(const std::string& spec, const YAML::Node& at) {
    const bool children = spec.size() > 2 && spec.compare(spec.size() - 2, 2, ".*") == 0;
    const std::string base = children ? spec.substr(0, spec.size() - 2) : spec;
    eachClear([&](Branch& b, Flow&) {
      // `x` removes x and its children; `x.*` the children of x (x is left empty).
      if (covers(base, b.path)) {
        b.trace.push_back("dropped " + where(at));
        b.state = State::Removed;
        b.how = "dropped";
      } else if (strictlyInside(base, b.path)) {
        b.trace.push_back("'" + spec + "' dropped, the rest of '" + b.path + "' kept " + where(at));
      }
    });
  }

  void time(const YAML::Node& spec) {
    const YAML::Node from = child(spec, "from");
    if (!from.IsScalar()) return;
    const YAML::Node to_node = child(spec, "to");
    const std::string to = to_node.IsScalar() ? to_node.Scalar() : "$occurred_at";
    eachClear([&](Branch& b, Flow& flow) {
      if (!covers(b.path, from.Scalar()) && !covers(from.Scalar(), b.path)) return;
      Branch c = fork(b, to);
      c.trace.push_back("parsed as a time into '" + to + "' " + where(from));
      flow.branches.push_back(std::move(c));
    });
  }

  void maskStage(const YAML::Node& body) {
    if (!body.IsMap()) return;
    for (auto it = body.begin(); it != body.end(); ++it) {
      if (!it->first.IsScalar()) continue;
      const std::string& path = it->first.Scalar();
      std::string method;
      if (it->second.IsScalar()) {
        method = it->second.Scalar();
      } else if (it->second.IsMap() && it->second.size() > 0 &&
                 it->second.begin()->first.IsScalar()) {
        method = it->second.begin()->first.Scalar();
      }
      if (method.empty()) continue;
      eachClear([&](Branch& b, Flow&) {
        if (covers(path, b.path)) {
          b.trace.push_back("masked: " + method + " " + where(it->first));
          b.state = method == "drop" ? State::Removed : State::Masked;
          b.how = method == "drop" ? "dropped by mask" : method;
        } else if (strictlyInside(path, b.path)) {
          b.trace.push_back("'" + path + "' masked (" + method + "), the rest of '" + b.path +
                            "' kept " + where(it->first));
        }
      });
    }
  }

  const std::string& file_;
  std::vector<Flow>& flows_;
  std::string stage_;
};

// The sinks events can reach: the default sink, and every sink a route sends to.
std::vector<const SinkSpec*> reachableSinks(const PipelineSpec& spec) {
  std::set<std::string> named;
  for (const StageSpec& st : spec.stages) {
    if (st.type != "route") continue;
    std::vector<YAML::Node> rules;
    if (st.body.IsSequence()) {
      for (size_t i = 0; i < st.body.size(); ++i) rules.push_back(st.body[i]);
    } else if (st.body.IsMap()) {
      rules.push_back(st.body);
    }
    for (const YAML::Node& rule : rules) {
      const YAML::Node to = child(rule, "to");
      if (to.IsScalar()) named.insert(to.Scalar());
      if (to.IsSequence()) {
        for (size_t i = 0; i < to.size(); ++i) {
          if (to[i].IsScalar()) named.insert(to[i].Scalar());
        }
      }
    }
  }
  std::vector<const SinkSpec*> out;
  for (const SinkSpec& s : spec.sinks) {
    if (s.name == kDefaultSink || (s.name != kDropTarget && named.count(s.name))) {
      out.push_back(&s);
    }
  }
  return out;
}

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

std::string sinkLabel(const SinkSpec& s) {
  return "sink '" + s.name + "' (" + s.component.type + ")";
}

// Ways out, spelled for the path the value has when it reaches the sink.
std::string hint(const PersonalField& f, const std::string& path) {
  return "mask it (- mask: { " + path + ": hmac }), drop it (- map: { drop: [" + path +
         "] }), copy it to $identities (- map: { copy: { " + path +
         ": $identities.<type> } }) and drop it, or list it under allow_clear: { " + f.path +
         ": \"<reason>\" }";
}

}  // namespace

void checkPersonalData(PipelineSpec& spec, const Catalog& catalog, std::vector<Diagnostic>& out) {
  const std::string& file = spec.file;
  const YAML::Node& root = spec.root;
  std::vector<Flow> flows;

  // 1. What is declared: the pipeline's list, then what its source type declares.
  const YAML::Node personal = child(root, "personal");
  if (personal.IsSequence()) {
    for (size_t i = 0; i < personal.size(); ++i) {
      const YAML::Node item = personal[i];
      if (!item.IsScalar() || item.Scalar().empty()) continue;  // reported by the schema
      const std::string path = item.Scalar();
      const bool twice = std::any_of(flows.begin(), flows.end(),
                                     [&](const Flow& f) { return f.field.path == path; });
      if (twice) {
        out.push_back(Diagnostic{markOf(item, file),
                                 "personal field '" + path + "' is listed twice",
                                 "remove one of them"});
        continue;
      }
      Flow flow;
      flow.field.path = path;
      flow.field.mark = markOf(item, file);
      flows.push_back(std::move(flow));
    }
  }
  if (const ComponentInfo* src = catalog.find(ComponentKind::Source, spec.source.type)) {
    const YAML::Node type = child(child(root, "source"), "type");
    for (const std::string& path : src->personal_fields) {
      const bool listed = std::any_of(flows.begin(), flows.end(),
                                      [&](const Flow& f) { return f.field.path == path; });
      if (listed) continue;
      Flow flow;
      flow.field.path = path;
      flow.field.mark = type.IsDefined() ? markOf(type, file) : spec.source.mark;
      flow.field.declared_by = "source type '" + src->type + "' (" + src->provider + ")";
      flows.push_back(std::move(flow));
    }
  }

  // 2. allow_clear: each key a personal field, each with a reason (non-empty: the schema).
  const YAML::Node allow = child(root, "allow_clear");
  if (allow.IsMap()) {
    for (auto it = allow.begin(); it != allow.end(); ++it) {
      if (!it->first.IsScalar()) continue;
      const std::string& path = it->first.Scalar();
      auto flow = std::find_if(flows.begin(), flows.end(),
                               [&](const Flow& f) { return f.field.path == path; });
      if (flow == flows.end()) {
        std::vector<std::string> known;
        for (const Flow& f : flows) known.push_back(f.field.path);
        out.push_back(Diagnostic{markOf(it->first, file),
                                 "allow_clear names '" + path + "', which is not a personal field",
                                 known.empty()
                                     ? "declare it first: 'personal: [" + path + "]'"
                                     : "declare it under 'personal:' or remove it; " +
                                           didYouMeanAndKnown(path, known, "personal fields")});
        continue;
      }
      flow->field.allow_clear = true;
      flow->field.reason = it->second.IsScalar() ? it->second.Scalar() : std::string();
    }
  }

  // 3. Follow every field through the stages.
  for (Flow& flow : flows) {
    Branch b;
    b.path = flow.field.path;
    if (isIdentity(b.path)) {
      b.state = State::Masked;
      b.how = "pseudonymised as " + b.path;
    }
    flow.branches.push_back(std::move(b));
  }
  Follower follower(file, flows);
  for (const StageSpec& st : spec.stages) follower.stage(st);

  // 4. What reaches each sink.
  const std::vector<const SinkSpec*> sinks = reachableSinks(spec);
  std::string x;
  std::string sink_list;
  for (const SinkSpec* s : sinks) {
    sink_list += (sink_list.empty() ? "" : ", ") + s->name + " (" + s->component.type + ")";
  }
  x += file + ": personal data: " + std::to_string(flows.size()) +
       (flows.size() == 1 ? " field" : " fields") + "; sinks reached: " + sink_list + "\n";
  if (flows.empty()) {
    x += personal.IsSequence()
             ? "  none: 'personal: []' says the records carry no personal data\n"
             : "  none declared (list them with 'personal: [first_name, customer.email, ...]')\n";
  }
  for (Flow& flow : flows) {
    const PersonalField& f = flow.field;
    x += "  " + f.path + "  declared at " + f.mark.str();
    if (!f.declared_by.empty()) x += " by " + f.declared_by;
    x += "\n";
    if (f.allow_clear) x += "    allow_clear: " + quoted(f.reason) + "\n";
    std::set<std::string> reported;
    for (const Branch& b : flow.branches) {
      std::string line = "    " + f.path;
      for (const std::string& step : b.trace) line += "\n      -> " + step;
      line += "\n      => ";
      if (b.state == State::Removed) {
        x += line + "reaches no sink (" + b.how + ")\n";
        continue;
      }
      if (b.state == State::Masked) {
        x += line + "reaches " + (sinks.size() == 1 ? "the sink" : "every sink") + " " +
             (isIdentity(b.path) ? b.how : "masked (" + b.how + ") as '" + b.path + "'") + "\n";
        continue;
      }
      std::string outcomes;
      for (const SinkSpec* s : sinks) {
        if (!outcomes.empty()) outcomes += "\n      => ";
        if (s->component.type == "discard") {
          outcomes += sinkLabel(*s) + ": keeps nothing";
          continue;
        }
        outcomes += sinkLabel(*s) + ": in clear as '" + b.path + "'";
        if (f.allow_clear) {
          outcomes += ", allowed: " + quoted(f.reason);
          continue;
        }
        outcomes += "  ERROR";
        if (!reported.insert(s->name).second) continue;
        std::string message =
            "personal field '" + f.path + "' reaches " + sinkLabel(*s) + " in clear";
        if (b.path != f.path) message += " as '" + b.path + "'";
        if (!f.declared_by.empty()) message += " (declared by " + f.declared_by + ")";
        out.push_back(Diagnostic{f.mark, std::move(message), hint(f, b.path)});
      }
      x += line + outcomes + "\n";
    }
    spec.personal.push_back(f);
  }
  spec.personal_explanation = std::move(x);
}

}  // namespace omniloop::config
