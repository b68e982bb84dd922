#include "signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace omniloop::webhook {

std::string hmacSha256Hex(std::string_view secret, std::string_view message) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  // HMAC() gives this thread an OpenSSL error queue; the HTTP server's pooled threads may end
  // without OpenSSL's thread-exit cleanup running, which would leave it behind (LeakSanitizer
  // reports it). Free it now: it is recreated on the next call, a few microseconds per request.
  OPENSSL_thread_stop();
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[mac[i] >> 4]);
    out.push_back(kHex[mac[i] & 0xF]);
  }
  return out;
}

bool signatureMatches(std::string_view secret, std::string_view message,
                      std::string_view header_value) {
  constexpr std::string_view kPrefix = "sha256=";
  if (header_value.substr(0, kPrefix.size()) == kPrefix) header_value.remove_prefix(kPrefix.size());
  while (!header_value.empty() && (header_value.back() == ' ' || header_value.back() == '\t')) {
    header_value.remove_suffix(1);
  }
  const std::string expected = hmacSha256Hex(secret, message);
  if (header_value.size() != expected.size()) return false;  // the length is not secret
  std::string given(header_value);
  for (char& c : given) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0;
}

}  // namespace omniloop::webhook
