#include <string>
#include <utility>

#include "config/pipeline_spec.h"

namespace omniloop::config {

std::string Mark::str() const {
  std::string out = file.empty() ? std::string("<input>") : file;
  // (appended piecewise: GCC 12 warns falsely on `":" + std::to_string(n)` at -O3)
  if (line > 0) {
    out.push_back(':');
    out.append(std::to_string(line));
    if (column > 0) {
      out.push_back(':');
      out.append(std::to_string(column));
    }
  }
  return out;
}

std::string Diagnostic::format() const {
  std::string out = mark.str() + ": error: " + message;
  if (!hint.empty()) out += "\n  hint: " + hint;
  return out;
}

namespace {
std::string describe(const std::vector<Diagnostic>& d) {
  std::string out;
  for (const Diagnostic& x : d) {
    if (!out.empty()) out += "\n";
    out += x.format();
  }
  return out.empty() ? std::string("configuration error") : out;
}
// A file full of mistakes (or a hostile one) yields one screen of errors, not millions: the
// first ones, then a line that says how many more there are.
std::vector<Diagnostic> capped(std::vector<Diagnostic> d) {
  if (d.size() <= kMaxDiagnostics) return d;
  const size_t more = d.size() - kMaxDiagnostics;
  Mark m;
  m.file = d.front().mark.file;
  d.resize(kMaxDiagnostics);
  d.push_back(Diagnostic{m, std::to_string(more) + " more errors not shown",
                         "fix the errors above first, then validate again"});
  return d;
}

}  // namespace

ConfigError::ConfigError(std::vector<Diagnostic> d) : ConfigError(capped(std::move(d)), 0) {}

ConfigError::ConfigError(std::vector<Diagnostic> d, int)
    : std::runtime_error(describe(d)), diagnostics_(std::move(d)) {}

}  // namespace omniloop::config
