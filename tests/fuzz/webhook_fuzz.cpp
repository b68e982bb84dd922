// The http.webhook source's body handling over arbitrary bodies: each input is POSTed over
// loopback to a real endpoint of the plugin (signature and replay checks, UTF-8 and JSON checks,
// the durable spool) and the spool is then read back into events (flattening), through the real
// host API. The first byte picks the endpoint (unsigned, or signed with a timestamp window), a
// delivery id header, chunked transfer encoding and whether the signature is right; the rest is
// the body.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "http_exchange.h"
#include "signature.h"
#include "source_driver.h"

namespace {

using namespace omniloop::fuzz;

constexpr const char* kSecret = "fuzz-secret";

struct Endpoint {
  std::unique_ptr<SourceInstance> source;
  uint16_t port = 0;
  std::string spool;
  int uses = 0;

  void start(bool is_signed, int generation) {
    source.reset();
    std::error_code ec;
    if (!spool.empty()) std::filesystem::remove_all(spool, ec);
    spool = scratchDir() + (is_signed ? "/signed-" : "/unsigned-") + std::to_string(generation);
    port = freeLoopbackPort();
    std::string config = "{\"listen\":\"127.0.0.1:" + std::to_string(port) + "\"";
    config += ",\"path\":\"/hook\",\"spool_dir\":" + jsonString(spool);
    config += ",\"max_body_bytes\":2048,\"id_header\":\"X-Delivery\",\"threads\":2";
    if (is_signed) {
      const std::string secret_file = scratchDir() + "/secret";
      writeFile(secret_file, reinterpret_cast<const uint8_t*>(kSecret), 11);
      config += ",\"secret_file\":" + jsonString(secret_file) +
                ",\"signature_header\":\"X-Signature\",\"timestamp_header\":\"X-Timestamp\"";
    } else {
      config += ",\"allow_unsigned\":true";
    }
    config += "}";
    source = std::make_unique<SourceInstance>("http.webhook", config);
    if (!source->ok()) {
      std::fprintf(stderr, "webhook_fuzz: %s\n", source->error().c_str());
      std::abort();
    }
    uses = 0;
  }
};

std::string chunked(std::string_view body) {
  std::string out;
  char size[32];
  for (size_t at = 0; at < body.size(); at += 100) {
    const std::string_view part = body.substr(at, 100);
    std::snprintf(size, sizeof size, "%zx\r\n", part.size());
    out += size;
    out.append(part);
    out += "\r\n";
  }
  return out + "0\r\n\r\n";
}

}  // namespace

// The spool is fdatasync'ed per request: keep it in memory (/dev/shm) when there is one, so a
// loaded disk does not slow the fuzzer down.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (::access("/dev/shm", W_OK) == 0) ::setenv("TMPDIR", "/dev/shm", 0);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Endpoint endpoints[2];
  static int generation = 0;
  if (size == 0) return 0;
  const uint8_t opts = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool is_signed = opts & 1;
  Endpoint& ep = endpoints[is_signed ? 1 : 0];
  // A fresh spool now and then, so that a long run does not fill the disk.
  if (!ep.source || ++ep.uses > 5000) ep.start(is_signed, ++generation);

  std::string request =
      "POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n";
  if (opts & 2) request += "X-Delivery: d-" + std::to_string(opts >> 4) + "\r\n";
  if (is_signed) {
    const std::string ts = std::to_string(std::time(nullptr));
    std::string sig = omniloop::webhook::hmacSha256Hex(kSecret, ts + "." + std::string(body));
    if (opts & 8) sig[0] = sig[0] == '0' ? '1' : '0';
    request += "X-Timestamp: " + ts + "\r\nX-Signature: sha256=" + sig + "\r\n";
  }
  if (opts & 4) {
    request += "Transfer-Encoding: chunked\r\n\r\n" + chunked(body);
  } else {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    request.append(body);
  }
  const std::string answer = httpExchange(ep.port, request);
  if (answer.rfind("HTTP/1.", 0) != 0) {
    std::fprintf(stderr, "webhook_fuzz: no HTTP answer (%zu bytes back)\n", answer.size());
    __builtin_trap();  // the endpoint always answers
  }
  ep.source->drain(16, 1000);
  return 0;
}
