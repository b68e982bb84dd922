#include "test_host.h"

#include <dlfcn.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <gtest/gtest.h>

const ol_event::Field* ol_event::find(const std::string& path) const {
  for (const auto& f : fields) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

std::string ol_event::str(const std::string& path) const {
  const Field* f = find(path);
  return f && (f->type == OL_STRING || f->type == OL_JSON) ? f->s : std::string();
}

namespace plugintest {

namespace {

std::string S(const char* p, size_t n) {
  return p ? std::string(p, n) : std::string();
}

ol_event::Field& fieldFor(ol_event* e, const char* path, size_t len) {
  const std::string p = S(path, len);
  for (auto& f : e->fields) {
    if (f.path == p) {
      f = ol_event::Field{};
      f.path = p;
      return f;
    }
  }
  e->fields.push_back(ol_event::Field{});
  e->fields.back().path = p;
  return e->fields.back();
}

void appendJsonValue(std::string& out, const ol_event::Field& f) {
  switch (f.type) {
    case OL_BOOL:
      out += f.b ? "true" : "false";
      break;
    case OL_INT:
      out += std::to_string(f.i);
      break;
    case OL_DOUBLE:
      out += std::to_string(f.d);
      break;
    case OL_STRING:
      out += jsonQuote(f.s);
      break;
    case OL_JSON:
      out += f.s;
      break;
    default:
      out += "null";
  }
}

ol_host_api makeApi() {
  ol_host_api a{};
  a.size = sizeof(ol_host_api);
  a.abi_major = OMNILOOP_ABI_MAJOR;
  a.abi_minor = OMNILOOP_ABI_MINOR;
  a.log = [](void* ctx, int level, const char* msg, size_t len) {
    static_cast<HostLog*>(ctx)->lines.emplace_back(level, S(msg, len));
  };
  a.counter_add = [](void* ctx, const char* name, size_t len, int64_t delta) {
    static_cast<HostLog*>(ctx)->counters[S(name, len)] += delta;
  };
  a.batch_size = [](const ol_batch* b) { return b->events.size(); };
  a.batch_event = [](ol_batch* b, size_t i) -> ol_event* {
    return i < b->events.size() ? &b->events[i] : nullptr;
  };
  a.batch_set_cursor = [](ol_batch* b, const char* c, size_t n) { b->cursor = S(c, n); };
  a.event_append = [](ol_batch* b) -> ol_event* {
    if (b->events.size() >= b->capacity) return nullptr;
    b->events.emplace_back();
    return &b->events.back();
  };
  a.event_discard_last = [](ol_batch* b) {
    if (!b->events.empty()) b->events.pop_back();
  };
  a.event_set_key = [](ol_event* e, const char* v, size_t n) { e->key = S(v, n); };
  a.event_set_type = [](ol_event* e, const char* v, size_t n) { e->type = S(v, n); };
  a.event_set_channel = [](ol_event* e, const char* v, size_t n) { e->channel = S(v, n); };
  a.event_set_time = [](ol_event* e, int64_t t) { e->time = t; };
  a.event_add_identity = [](ol_event* e, const char* t, size_t tl, const char* v, size_t vl) {
    e->identities[S(t, tl)] = S(v, vl);
  };
  a.event_set_consent = [](ol_event*, const char*, size_t, const char*, size_t) {};
  a.event_set_string = [](ol_event* e, const char* p, size_t pl, const char* v, size_t vl) {
    auto& f = fieldFor(e, p, pl);
    f.type = OL_STRING;
    f.s = S(v, vl);
  };
  a.event_set_int = [](ol_event* e, const char* p, size_t pl, int64_t v) {
    auto& f = fieldFor(e, p, pl);
    f.type = OL_INT;
    f.i = v;
  };
  a.event_set_double = [](ol_event* e, const char* p, size_t pl, double v) {
    auto& f = fieldFor(e, p, pl);
    f.type = OL_DOUBLE;
    f.d = v;
  };
  a.event_set_bool = [](ol_event* e, const char* p, size_t pl, int v) {
    auto& f = fieldFor(e, p, pl);
    f.type = OL_BOOL;
    f.b = v != 0;
  };
  a.event_set_null = [](ol_event* e, const char* p, size_t pl) {
    fieldFor(e, p, pl).type = OL_NULL;
  };
  a.event_set_json = [](ol_event* e, const char* p, size_t pl, const char* v, size_t vl) {
    auto& f = fieldFor(e, p, pl);
    f.type = OL_JSON;
    f.s = S(v, vl);
  };
  a.event_dead_letter = [](ol_event* e, const char* raw, size_t rl, const char* why, size_t wl) {
    e->disposition = OL_DEAD_LETTER;
    e->raw = S(raw, rl);
    e->reason = S(why, wl);
  };
  a.event_get = [](const ol_event* e, const char* p, size_t pl, ol_value* out) -> int {
    const ol_event::Field* f = e->find(S(p, pl));
    if (!f) return 0;
    std::memset(out, 0, sizeof *out);
    out->type = f->type;
    out->bool_value = f->b;
    out->int_value = f->i;
    out->double_value = f->d;
    out->str = f->s.data();
    out->str_len = f->s.size();
    return 1;
  };
  a.event_field_count = [](const ol_event* e) { return e->fields.size(); };
  a.event_field_at = [](const ol_event* e, size_t i, ol_field* out) -> int {
    if (i >= e->fields.size()) return 0;
    const auto& f = e->fields[i];
    std::memset(out, 0, sizeof *out);
    out->path = f.path.data();
    out->path_len = f.path.size();
    out->value.type = f.type;
    out->value.int_value = f.i;
    out->value.str = f.s.data();
    out->value.str_len = f.s.size();
    return 1;
  };
  a.event_remove = [](ol_event*, const char*, size_t) {};
  a.event_disposition = [](const ol_event* e) { return e->disposition; };
  a.event_set_disposition = [](ol_event* e, int d, const char* why, size_t wl) {
    e->disposition = d;
    e->reason = S(why, wl);
  };
  // Flat test serialisation: {"key":..,"type":..,"attributes":{"<path>":value,...}}.
  a.event_to_json = [](const ol_event* e, char* buf, size_t cap) -> size_t {
    std::string out =
        "{\"key\":" + jsonQuote(e->key) + ",\"type\":" + jsonQuote(e->type) + ",\"attributes\":{";
    for (size_t i = 0; i < e->fields.size(); ++i) {
      if (i) out += ',';
      out += jsonQuote(e->fields[i].path) + ":";
      appendJsonValue(out, e->fields[i]);
    }
    out += "}}";
    std::memcpy(buf, out.data(), std::min(cap, out.size()));
    return out.size();
  };
  return a;
}

}  // namespace

bool HostLog::contains(int level, const std::string& needle) const {
  for (const auto& [l, text] : lines) {
    if (l == level && text.find(needle) != std::string::npos) return true;
  }
  return false;
}

const ol_host_api* hostApi() {
  static const ol_host_api api = makeApi();
  return &api;
}

std::string& pluginName() {
  static std::string name;
  return name;
}

void Plugin::setPluginName(const std::string& name) {
  pluginName() = name;
}

const Plugin& Plugin::get() {
  static const Plugin plugin = [] {
    Plugin p;
    const std::string path = std::string(OMNILOOP_PLUGIN_DIR) + "/" + pluginName() + ".so";
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) throw std::runtime_error("dlopen " + path + ": " + dlerror());
    auto entry = reinterpret_cast<ol_plugin_entry_fn>(dlsym(handle, OMNILOOP_PLUGIN_ENTRY_SYMBOL));
    if (!entry) throw std::runtime_error(path + " exports no " OMNILOOP_PLUGIN_ENTRY_SYMBOL);
    p.desc_ = entry(OMNILOOP_ABI_MAJOR, OMNILOOP_ABI_MINOR);
    if (!p.desc_) throw std::runtime_error(path + " refused this host's ABI");
    return p;
  }();
  return plugin;
}

const ol_component* Plugin::component(ol_component_kind kind, const std::string& type) const {
  for (size_t i = 0; i < desc_->component_count; ++i) {
    const ol_component& c = desc_->components[i];
    if (c.kind == static_cast<uint32_t>(kind) && type == c.type) return &c;
  }
  return nullptr;
}

Instance::Instance(ol_component_kind kind, const std::string& type,
                   const std::string& config_json) {
  comp_ = Plugin::get().component(kind, type);
  if (!comp_) throw std::runtime_error("no component " + type);
  char err[1024] = {};
  const int rc = comp_->create(hostApi(), &log_, config_json.data(), config_json.size(), &instance_,
                               err, sizeof err);
  if (rc != OL_OK) {
    error_ = err;
    instance_ = nullptr;
  }
}

Instance::~Instance() {
  if (instance_) comp_->destroy(instance_);
}

int Instance::resume(const std::string& cursor) {
  char err[1024] = {};
  const int rc = comp_->resume(instance_, cursor.data(), cursor.size(), err, sizeof err);
  error_ = err;
  return rc;
}

int Instance::read(ol_batch* batch, size_t max_events) {
  char err[1024] = {};
  const int rc = comp_->read(instance_, batch, max_events, err, sizeof err);
  error_ = err;
  return rc;
}

int Instance::write(ol_batch* batch) {
  char err[1024] = {};
  const int rc = comp_->write(instance_, batch, err, sizeof err);
  error_ = err;
  return rc;
}

int Instance::flush() {
  char err[1024] = {};
  const int rc = comp_->flush(instance_, err, sizeof err);
  error_ = err;
  return rc;
}

Instance::Drained Instance::drain(size_t batch_size, int max_batches) {
  Drained d;
  for (int i = 0; i < max_batches; ++i) {
    ol_batch batch;
    batch.capacity = batch_size;
    d.last_status = read(&batch, batch_size);
    ++d.batches;
    for (auto& e : batch.events) d.events.push_back(std::move(e));
    if (!batch.cursor.empty()) d.cursor = batch.cursor;
    if (d.last_status != OL_OK) break;
  }
  return d;
}

void writeFile(const std::string& path, const std::string& content) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

void appendFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << content;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string scratchDir(const std::string& test_name) {
  const std::string dir =
      std::string(OMNILOOP_BINARY_DIR) + "/test-scratch/" + pluginName() + "/" + test_name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

std::string jsonQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace plugintest
