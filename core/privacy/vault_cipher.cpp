#include "privacy/vault_cipher.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "event/hex.h"

namespace omniloop::privacy {

namespace {

constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;
using event::appendHex;
using event::hexDigitValue;

// HMAC-SHA256(key, label): a sub-key, so the token and the encryption never share a key.
std::string subKey(std::string_view key, std::string_view label) {
  if (key.size() < KeyedHasher::kMinKeyBytes) {
    throw std::invalid_argument("a vault key needs at least 32 bytes");
  }
  KeyedHasher h(key);
  auto mac = h.mac(label);
  std::string out(reinterpret_cast<const char*>(mac.data()), mac.size());
  OPENSSL_cleanse(mac.data(), mac.size());
  return out;
}

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

}  // namespace

VaultCipher::VaultCipher(std::string_view key) : token_mac_(subKey(key, "omniloop vault token")) {
  std::string enc = subKey(key, "omniloop vault encryption");
  std::memcpy(enc_key_, enc.data(), sizeof enc_key_);
  OPENSSL_cleanse(enc.data(), enc.size());
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
  appendHex(key_id_, digest, 4);
}

VaultCipher::~VaultCipher() {
  OPENSSL_cleanse(enc_key_, sizeof enc_key_);
}

VaultCipher VaultCipher::loadKey(const std::string& path) {
  // The key file format is the pseudonymisation key's: load it the same way (same checks and
  // messages), then derive from its bytes. KeyedHasher does not hand its key out, so read the
  // file again here after it passed those checks.
  (void)KeyedHasher::loadKey(path);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) throw std::runtime_error("cannot read vault key file " + path);
  std::string content;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) content.append(buf, n);
  std::fclose(f);
  OPENSSL_cleanse(buf, sizeof buf);
  auto decoded = KeyedHasher::decodeHex(content);
  std::string key = decoded ? std::move(*decoded) : content;
  OPENSSL_cleanse(content.data(), content.size());
  VaultCipher v(key);
  OPENSSL_cleanse(key.data(), key.size());
  return v;
}

void VaultCipher::generateKeyFile(const std::string& path) {
  KeyedHasher::generateKeyFile(path);
}

std::string_view VaultCipher::tokenKeyId(std::string_view token) {
  if (!isToken(token)) return {};
  token.remove_prefix(kTokenPrefix.size());
  const size_t colon = token.find(':');
  return colon == std::string_view::npos ? std::string_view() : token.substr(0, colon);
}

void VaultCipher::tokenInto(std::string& out, std::string_view clear) const {
  const auto mac = token_mac_.mac(clear);
  out.assign(kTokenPrefix);
  out += key_id_;
  out.push_back(':');
  appendHex(out, mac.data(), 16);
}

bool VaultCipher::seal(std::string_view clear, std::string_view aad, std::string& out) const {
  out.clear();
  unsigned char nonce[kNonce];
  if (RAND_bytes(nonce, sizeof nonce) != 1) return false;
  Ctx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return false;
  int len = 0;
  std::string ct(clear.size() + 16, '\0');
  auto* ctp = reinterpret_cast<unsigned char*>(ct.data());
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonce, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, enc_key_, nonce) != 1) {
    return false;
  }
  if (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                                        reinterpret_cast<const unsigned char*>(aad.data()),
                                        static_cast<int>(aad.size())) != 1) {
    return false;
  }
  int total = 0;
  if (EVP_EncryptUpdate(ctx.get(), ctp, &len, reinterpret_cast<const unsigned char*>(clear.data()),
                        static_cast<int>(clear.size())) != 1) {
    return false;
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), ctp + total, &len) != 1) return false;
  total += len;
  unsigned char tag[kTag];
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, tag) != 1) return false;
  appendHex(out, nonce, kNonce);
  appendHex(out, ctp, static_cast<size_t>(total));
  appendHex(out, tag, kTag);
  OPENSSL_cleanse(ct.data(), ct.size());
  return true;
}

bool VaultCipher::open(std::string_view sealed, std::string_view aad, std::string& clear) const {
  clear.clear();
  if (sealed.size() % 2 != 0 || sealed.size() < 2 * (kNonce + kTag)) return false;
  std::string bytes(sealed.size() / 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const int hi = hexDigitValue(sealed[2 * i]), lo = hexDigitValue(sealed[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes[i] = static_cast<char>(hi * 16 + lo);
  }
  auto* p = reinterpret_cast<unsigned char*>(bytes.data());
  const size_t ct_len = bytes.size() - kNonce - kTag;
  Ctx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return false;
  int len = 0;
  clear.resize(ct_len + 16);
  auto* out = reinterpret_cast<unsigned char*>(clear.data());
  bool ok = EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonce, nullptr) == 1 &&
            EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, enc_key_, p) == 1;
  if (ok && !aad.empty()) {
    ok = EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                           reinterpret_cast<const unsigned char*>(aad.data()),
                           static_cast<int>(aad.size())) == 1;
  }
  int total = 0;
  ok = ok && EVP_DecryptUpdate(ctx.get(), out, &len, p + kNonce, static_cast<int>(ct_len)) == 1;
  total = len;
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, p + kNonce + ct_len) == 1;
  ok = ok && EVP_DecryptFinal_ex(ctx.get(), out + total, &len) == 1;
  if (!ok) {
    OPENSSL_cleanse(clear.data(), clear.size());
    clear.clear();
    return false;
  }
  clear.resize(static_cast<size_t>(total + len));
  return true;
}

}  // namespace omniloop::privacy
