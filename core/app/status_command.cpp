#include "app/status_command.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/URI.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "admin/auth.h"
#include "app/progress.h"
#include "config/loader.h"

namespace omniloop::app {

namespace {

constexpr const char* kSystemConfig = "/etc/omniloop/omniloop.yaml";

constexpr const char* kStatusHelp = R"(usage: omniloop status [--config FILE] [--url URL] [--token-file FILE] [--ca-file FILE] [--json]

Asks the running omniloopd for its pipelines (GET /v1/pipelines) and prints one line each:
name, state, events read, written, dead-lettered, restarts and the last error.

options:
  --config FILE      omniloop.yaml: the admin address (admin.listen), token (admin.token_file)
                     and TLS certificate are taken from it (default: $OMNILOOP_CONFIG, else
                     ./omniloop.yaml, else /etc/omniloop/omniloop.yaml, else
                     http://127.0.0.1:8686 without a token)
  --url URL          the admin API, e.g. http://127.0.0.1:8686 (overrides the config)
  --token-file FILE  file holding the bearer token (overrides admin.token_file)
  --ca-file FILE     PEM certificate(s) to trust for an https URL (default: admin.tls_cert_file,
                     else the system's CAs)
  --json             print the daemon's JSON answer as it is

Exit status: 0 the daemon answered, 1 it is unreachable or refused the request, 2 bad usage.
)";

struct Options {
  std::string config, url, token_file, ca_file;
  bool json = false;
  bool help = false;
};

bool parse(const std::vector<std::string>& args, Options& o) {
  for (size_t i = 2; i < args.size(); ++i) {
    std::string name = args[i], value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos && name.rfind("--", 0) == 0) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    if (name == "--help" || name == "-h") {
      o.help = true;
      continue;
    }
    if (name == "--json") {
      o.json = true;
      continue;
    }
    std::string* target = nullptr;
    if (name == "--config") target = &o.config;
    if (name == "--url") target = &o.url;
    if (name == "--token-file") target = &o.token_file;
    if (name == "--ca-file") target = &o.ca_file;
    if (target == nullptr) {
      std::cerr << "omniloop status: unknown " << (name.rfind("-", 0) == 0 ? "option " : "argument ")
                << name << "\n" << kStatusHelp;
      return false;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        std::cerr << "omniloop status: " << name << " needs a value\n" << kStatusHelp;
        return false;
      }
      value = args[++i];
    }
    *target = value;
  }
  return true;
}

// host:port of admin.listen as a URL a client can reach ("0.0.0.0" -> loopback).
std::string urlFromListen(const std::string& listen, bool tls) {
  std::string hostport = listen;
  if (hostport.rfind("0.0.0.0:", 0) == 0) hostport = "127.0.0.1:" + hostport.substr(8);
  if (hostport.rfind("[::]:", 0) == 0) hostport = "[::1]:" + hostport.substr(5);
  return std::string(tls ? "https://" : "http://") + hostport;
}

std::string oneLine(std::string s, size_t max) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (s.size() > max) s = s.substr(0, max - 3) + "...";
  return s;
}

std::string str(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  if (!o || !o->has(key) || o->isNull(key)) return {};
  return o->getValue<std::string>(key);
}

uint64_t num(const Poco::JSON::Object::Ptr& o, const std::string& key) {
  if (!o || !o->has(key) || o->isNull(key)) return 0;
  return o->get(key).convert<Poco::UInt64>();
}

std::string duration(double seconds) {
  const auto s = static_cast<uint64_t>(seconds);
  std::ostringstream out;
  if (s >= 86400) out << s / 86400 << "d ";
  if (s >= 3600) out << (s % 86400) / 3600 << "h ";
  if (s >= 60) out << (s % 3600) / 60 << "m ";
  out << s % 60 << "s";
  return out.str();
}

void printTable(const std::string& url, const Poco::JSON::Object::Ptr& root) {
  std::cout << "omniloopd " << str(root, "version") << " at " << url;
  if (root->has("uptime_seconds")) {
    std::cout << ", up " << duration(root->get("uptime_seconds").convert<double>());
  }
  std::cout << "\n\n";
  const Poco::JSON::Array::Ptr list = root->getArray("pipelines");
  if (!list || list->size() == 0) {
    std::cout << "no pipelines (add *.yaml files to the pipelines directory and reload)\n";
    return;
  }
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"PIPELINE", "STATE", "READ", "WRITTEN", "DEAD-LETTERED", "RESTARTS",
                  "LAST ERROR"});
  for (size_t i = 0; i < list->size(); ++i) {
    const Poco::JSON::Object::Ptr p = list->getObject(static_cast<unsigned>(i));
    if (!p) continue;
    const Poco::JSON::Object::Ptr c = p->getObject("counters");
    std::string error = str(p, "last_error");
    rows.push_back({str(p, "name"), str(p, "state"), formatCount(num(c, "read")),
                    formatCount(num(c, "written")), formatCount(num(c, "dead_lettered")),
                    std::to_string(num(p, "restarts")),
                    error.empty() ? "-" : oneLine(error, 160)});
  }
  std::vector<size_t> width(rows.front().size(), 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      const bool numeric = i >= 2 && i <= 5;
      const std::string pad(width[i] - r[i].size(), ' ');
      if (i + 1 == r.size()) {
        line += r[i];
      } else {
        line += numeric ? pad + r[i] : r[i] + pad;
        line += "  ";
      }
    }
    std::cout << line << "\n";
  }
  // Files refused because another file runs a pipeline of the same name (one name, one
  // pipeline): no row of their own, but not silent either.
  if (const Poco::JSON::Array::Ptr refused = root->getArray("refused");
      refused && refused->size() > 0) {
    std::cout << "\nrefused pipeline files:\n";
    for (size_t i = 0; i < refused->size(); ++i) {
      const Poco::JSON::Object::Ptr r = refused->getObject(static_cast<unsigned>(i));
      if (r) std::cout << "  " << oneLine(str(r, "reason"), 400) << "\n";
    }
  }
}

}  // namespace

int runStatusCommand(const std::vector<std::string>& args) {
  Options o;
  if (!parse(args, o)) return 2;
  if (o.help) {
    std::cout << kStatusHelp;
    return 0;
  }

  config::DaemonConfig cfg;
  std::string config_path = o.config;
  if (config_path.empty()) {
    if (const char* env = std::getenv("OMNILOOP_CONFIG"); env && *env) {
      config_path = env;
    } else if (std::filesystem::exists("omniloop.yaml")) {
      config_path = "omniloop.yaml";
    } else if (std::filesystem::exists(kSystemConfig)) {
      config_path = kSystemConfig;
    }
  }
  try {
    if (!config_path.empty()) cfg = config::loadDaemonConfig(config_path);
  } catch (const config::ConfigError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.format() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "omniloop status: " << e.what() << "\n";
    return 2;
  }

  const bool config_tls = !cfg.admin.tls_cert_file.empty() && !cfg.admin.tls_key_file.empty();
  const std::string url = o.url.empty() ? urlFromListen(cfg.admin.listen, config_tls) : o.url;
  std::string token_file = o.token_file.empty() ? cfg.admin.token_file : o.token_file;
  std::optional<std::string> token;
  if (!token_file.empty()) {
    try {
      token = admin::loadTokenFile(token_file);
    } catch (const std::exception& e) {
      std::cerr << "omniloop status: " << e.what() << "\n";
      return 1;
    }
  }

  Poco::URI uri;
  try {
    uri = Poco::URI(url);
  } catch (const Poco::Exception& e) {
    std::cerr << "omniloop status: --url " << url << ": " << e.displayText() << "\n";
    return 2;
  }
  if (uri.getScheme() != "http" && uri.getScheme() != "https") {
    std::cerr << "omniloop status: --url must start with http:// or https:// (got " << url << ")\n";
    return 2;
  }

  std::string body;
  int status = 0;
  try {
    std::unique_ptr<Poco::Net::HTTPClientSession> session;
    if (uri.getScheme() == "https") {
      Poco::Net::initializeSSL();
      const std::string ca = !o.ca_file.empty() ? o.ca_file : cfg.admin.tls_cert_file;
      Poco::Net::Context::Ptr ctx = new Poco::Net::Context(
          Poco::Net::Context::TLS_CLIENT_USE, ca, Poco::Net::Context::VERIFY_RELAXED, 9,
          ca.empty());
      Poco::SharedPtr<Poco::Net::InvalidCertificateHandler> reject =
          new Poco::Net::RejectCertificateHandler(false);
      Poco::Net::SSLManager::instance().initializeClient(nullptr, reject, ctx);
      session = std::make_unique<Poco::Net::HTTPSClientSession>(uri.getHost(), uri.getPort(), ctx);
    } else {
      session = std::make_unique<Poco::Net::HTTPClientSession>(uri.getHost(), uri.getPort());
    }
    session->setTimeout(Poco::Timespan(3, 0), Poco::Timespan(10, 0), Poco::Timespan(10, 0));
    std::string path = uri.getPath();
    while (!path.empty() && path.back() == '/') path.pop_back();
    Poco::Net::HTTPRequest req(Poco::Net::HTTPRequest::HTTP_GET, path + "/v1/pipelines",
                               Poco::Net::HTTPMessage::HTTP_1_1);
    req.setHost(uri.getHost(), uri.getPort());
    if (token) req.set("Authorization", "Bearer " + *token);
    session->sendRequest(req);
    Poco::Net::HTTPResponse resp;
    std::istream& in = session->receiveResponse(resp);
    std::ostringstream ss;
    ss << in.rdbuf();
    body = ss.str();
    status = resp.getStatus();
  } catch (const Poco::Exception& e) {
    std::cerr << "omniloop status: cannot reach omniloopd at " << url << ": " << e.displayText()
              << "\n  hint: is omniloopd running? (systemctl status omniloop) Is admin.listen "
                 "the address given here? Pass --url or --config to choose.\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "omniloop status: cannot reach omniloopd at " << url << ": " << e.what() << "\n";
    return 1;
  }

  Poco::JSON::Object::Ptr root;
  try {
    root = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
  } catch (const Poco::Exception&) {
    std::cerr << "omniloop status: " << url << " answered " << status
              << " with a body that is not JSON; is that address omniloopd's admin API?\n";
    return 1;
  }
  if (status != 200) {
    std::cerr << "omniloop status: omniloopd answered " << status << ": " << str(root, "error")
              << "\n";
    if (const std::string hint = str(root, "hint"); !hint.empty()) {
      std::cerr << "  hint: " << hint << "\n";
    }
    if (status == 401 && !token) {
      std::cerr << "  (no token was sent: pass --token-file or --config with admin.token_file)\n";
    }
    return 1;
  }
  if (o.json) {
    std::cout << body << "\n";
    return 0;
  }
  printTable(url, root);
  return 0;
}

}  // namespace omniloop::app
