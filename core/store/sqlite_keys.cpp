#include "store/sqlite_keys.h"

#include "event/hex.h"

namespace omniloop::store::sqlite_keys {

namespace {

constexpr size_t kKeyIdBytes = 4;
constexpr std::string_view kPseudonymPrefix = "h1:";

void appendHex(std::string& out, std::string_view bytes) {
  event::appendHex(out, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

}  // namespace

bool idBytes(std::string_view id, unsigned char* out) {
  return event::decodeLowerHex(id, out, kIdBytes);
}

bool hashBytes(std::string_view hash, unsigned char* out) {
  if (hash.size() != kPseudonymPrefix.size() + 2 * kKeyIdBytes + 1 + 64 || !hash.starts_with(kPseudonymPrefix) ||
      hash[kPseudonymPrefix.size() + 2 * kKeyIdBytes] != ':') {
    return false;
  }
  return event::decodeLowerHex(hash.substr(kPseudonymPrefix.size(), 2 * kKeyIdBytes), out,
                               kKeyIdBytes) &&
         event::decodeLowerHex(hash.substr(kPseudonymPrefix.size() + 2 * kKeyIdBytes + 1),
                               out + kKeyIdBytes, 32);
}

void encodeId(std::string_view id, BoundKey& out) {
  out.blob = idBytes(id, out.bytes);
  out.size = out.blob ? kIdBytes : 0;
  out.text = id;
}

void encodeHash(std::string_view hash, BoundKey& out) {
  out.blob = hashBytes(hash, out.bytes);
  out.size = out.blob ? kHashBytes : 0;
  out.text = hash;
}

void keepText(std::string_view text, BoundKey& out) {
  out.blob = false;
  out.size = 0;
  out.text = text;
}

std::string idText(std::string_view bytes) {
  std::string out;
  out.reserve(2 * bytes.size());
  appendHex(out, bytes);
  return out;
}

std::string hashText(std::string_view bytes) {
  if (bytes.size() != kHashBytes) return idText(bytes);
  std::string out(kPseudonymPrefix);
  appendHex(out, bytes.substr(0, kKeyIdBytes));
  out.push_back(':');
  appendHex(out, bytes.substr(kKeyIdBytes));
  return out;
}

}  // namespace omniloop::store::sqlite_keys
