#include "source_driver.h"

#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "event/event.h"
#include "plugin/host_api.h"

extern "C" const ol_plugin_descriptor* omniloop_plugin_entry(uint16_t host_abi_major,
                                                             uint16_t host_abi_minor);

namespace omniloop::fuzz {

namespace {

const ol_component* findComponent(const char* type) {
  const ol_plugin_descriptor* d = omniloop_plugin_entry(OMNILOOP_ABI_MAJOR, OMNILOOP_ABI_MINOR);
  if (d == nullptr) throw std::logic_error("the plugin refused the host's ABI");
  const auto* base = reinterpret_cast<const unsigned char*>(d->components);
  for (size_t i = 0; i < d->component_count; ++i) {
    const auto* c = reinterpret_cast<const ol_component*>(base + i * d->components[0].size);
    if (c->kind == OL_SOURCE && std::strcmp(c->type, type) == 0) return c;
  }
  throw std::logic_error(std::string("the plugin has no source ") + type);
}

struct Scratch {
  std::string dir;
  Scratch() {
    spdlog::set_level(spdlog::level::off);  // plugin log lines are not what is tested
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/omniloop-fuzz-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

}  // namespace

SourceInstance::SourceInstance(const char* type, const std::string& config_json)
    : component_(findComponent(type)) {
  auto* ctx = new plugin::HostContext(plugin::InstanceContext{"fuzz", "source", {}}, type);
  context_ = ctx;
  char err[1024] = {0};
  void* inst = nullptr;
  const int st = component_->create(plugin::hostApi(), ctx, config_json.data(), config_json.size(),
                                    &inst, err, sizeof err);
  if (st == OL_OK && inst != nullptr) {
    instance_ = inst;
  } else {
    error_ = err;
  }
}

SourceInstance::~SourceInstance() {
  if (instance_ != nullptr) component_->destroy(instance_);
  delete static_cast<plugin::HostContext*>(context_);
}

size_t SourceInstance::drain(size_t batch_size, int max_batches) {
  if (instance_ == nullptr) return 0;
  event::Batch batch(batch_size);
  std::vector<char> json(4096);
  size_t events = 0;
  for (int b = 0; b < max_batches; ++b) {
    batch.reset();
    char err[1024] = {0};
    int st = OL_ERROR;
    {
      plugin::AppendLimitScope limit(batch_size);
      st = component_->read(instance_, reinterpret_cast<ol_batch*>(&batch), batch_size, err,
                            sizeof err);
    }
    for (event::Event& e : batch) {
      const auto* handle = reinterpret_cast<const ol_event*>(&e);
      size_t n = plugin::hostApi()->event_to_json(handle, json.data(), json.size());
      if (n > json.size()) {
        json.resize(n);
        plugin::hostApi()->event_to_json(handle, json.data(), json.size());
      }
      ++events;
    }
    if (st != OL_OK) break;
  }
  return events;
}

const std::string& scratchDir() {
  static Scratch scratch;
  return scratch.dir;
}

void writeFile(const std::string& path, const uint8_t* data, size_t size) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  if (size > 0 && std::fwrite(data, 1, size, f) != size) {
    std::fclose(f);
    throw std::runtime_error("short write to " + path);
  }
  std::fclose(f);
}

std::string jsonString(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace omniloop::fuzz
