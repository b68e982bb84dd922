#pragma once
// Pipelines whose batches a backend had accepted (writeBatch said Ok) and then could not commit:
// a failed SQLite group commit, a PostgreSQL batch that failed in flight. Each gets an error
// from its next write until it loads its cursor again (Store::mustResume, Store::loadCursor),
// so nothing after the lost batches is taken and nothing is skipped. Keyed by pipeline and
// source id. Not thread-safe: the backend's lock covers it.
#include <map>
#include <string>
#include <string_view>

#include "store/store.h"

namespace omniloop::store {

class LostPipelines {
 public:
  static std::string key(std::string_view pipeline, std::string_view source_id) {
    std::string k(pipeline);
    k.push_back('\x1f');
    k.append(source_id);
    return k;
  }
  // `why`: what happened to the batches ("their group commit was rolled back: ...").
  // The first reason stays: later failures follow from it.
  void lose(const std::string& key, std::string why) { lost_.try_emplace(key, std::move(why)); }
  // It resumes from its committed cursor: what was lost is read again.
  void resumed(std::string_view pipeline, std::string_view source_id) {
    lost_.erase(key(pipeline, source_id));
  }
  bool lost(std::string_view pipeline, std::string_view source_id) const {
    return lost_.contains(key(pipeline, source_id));
  }
  // Throws StoreError when the pipeline under `key` lost batches.
  void refuseIfLost(const std::string& key) const {
    if (const auto it = lost_.find(key); it != lost_.end()) {
      throw StoreError(
          "the store could not commit batches this pipeline had already handed over (" +
          it->second +
          "); nothing is skipped: restart the pipeline and it resumes from its last "
          "committed cursor");
    }
  }

 private:
  std::map<std::string, std::string> lost_;
};

}  // namespace omniloop::store
