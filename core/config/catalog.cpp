#include "config/catalog.h"

#include <algorithm>

namespace omniloop::config {

std::string_view toString(ComponentKind k) {
  switch (k) {
    case ComponentKind::Source:
      return "source";
    case ComponentKind::Stage:
      return "stage";
    case ComponentKind::Sink:
      return "sink";
  }
  return "component";
}

const ComponentInfo* SimpleCatalog::find(ComponentKind kind, std::string_view type) const {
  for (const ComponentInfo& info : items_) {
    if (info.kind == kind && info.type == type) return &info;
  }
  return nullptr;
}

std::vector<std::string> SimpleCatalog::types(ComponentKind kind) const {
  std::vector<std::string> out;
  for (const ComponentInfo& info : items_) {
    if (info.kind == kind) out.push_back(info.type);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace omniloop::config
