#pragma once
// A minimal stand-in for the omniloop host for every plugin's tests (library
// omniloop_plugin_testhost): loads a built plugin with dlopen and implements the host API over a
// tiny event struct, so a plugin is tested exactly as it ships (through its C ABI) without the
// core runtime. A test names its plugin with Plugin::setPluginName before the first load.
#include <omniloop/plugin.h>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct ol_event {
  struct Field {
    std::string path;
    ol_value_type type = OL_NULL;
    bool b = false;
    int64_t i = 0;
    double d = 0;
    std::string s;  // OL_STRING text or OL_JSON raw text
  };
  std::string key;
  std::string type;
  std::string channel;
  std::optional<int64_t> time;
  std::map<std::string, std::string> identities;
  std::vector<Field> fields;
  int disposition = OL_KEEP;
  std::string raw;     // dead letters
  std::string reason;  // dead letters

  const Field* find(const std::string& path) const;
  // Text of a string field, "" when absent.
  std::string str(const std::string& path) const;
};

struct ol_batch {
  std::deque<ol_event> events;  // deque: event pointers stay valid while appending
  size_t capacity = 1024;
  std::string cursor;
};

namespace plugintest {

struct HostLog {
  std::vector<std::pair<int, std::string>> lines;
  std::map<std::string, int64_t> counters;
  bool contains(int level, const std::string& needle) const;
};

// The host API table (shared by every instance).
const ol_host_api* hostApi();

class Plugin {
 public:
  // Loads <OMNILOOP_PLUGIN_DIR>/<name>.so once per process (the name set by setPluginName).
  static const Plugin& get();
  static void setPluginName(const std::string& name);
  const ol_plugin_descriptor* descriptor() const { return desc_; }
  const ol_component* component(ol_component_kind kind, const std::string& type) const;

 private:
  const ol_plugin_descriptor* desc_ = nullptr;
};

// One component instance.
class Instance {
 public:
  Instance(ol_component_kind kind, const std::string& type, const std::string& config_json);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  bool ok() const { return instance_ != nullptr; }
  const std::string& createError() const { return error_; }
  HostLog& log() { return log_; }

  int resume(const std::string& cursor);
  // One read call into a fresh batch.
  int read(ol_batch* batch, size_t max_events);
  int write(ol_batch* batch);
  int flush();
  const std::string& lastError() const { return error_; }

  // Reads until OL_END/OL_IDLE/error; returns every event and the last cursor.
  struct Drained {
    std::vector<ol_event> events;
    std::string cursor;
    int last_status = OL_OK;
    int batches = 0;
  };
  Drained drain(size_t batch_size = 1024, int max_batches = 1000000);

 private:
  const ol_component* comp_ = nullptr;
  void* instance_ = nullptr;
  HostLog log_;
  std::string error_;
};

// Writes `content` to `path` (creating parent directories).
void writeFile(const std::string& path, const std::string& content);
void appendFile(const std::string& path, const std::string& content);
std::string readFile(const std::string& path);
// A fresh empty directory under the build tree for one test (under the plugin's name).
std::string scratchDir(const std::string& test_name);
std::string jsonQuote(const std::string& s);

}  // namespace plugintest
