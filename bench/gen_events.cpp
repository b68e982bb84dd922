// Writes N synthetic customer events as JSON lines (~300 bytes each) to stdout or a file.
// usage: gen_events N [customers=100000] [out=-] [seed=42] [tcf|plain|real] [first=0]
// Deterministic for a given seed, so benchmark runs compare like with like.
//   tcf:   each event also carries an IAB TC string (see kTcStrings);
//   real:  phones written as people write them (`+49 171 2345678`, `+49 (171) 234-5678`,
//          `+491712345678`, `+49-171-234 5678`), one customer's number in a different form
//          from event to event, so a store keys them as one identity only after normalising;
//   first: the number of the first event (`ev-<first>`): a second file made with another
//          seed and `first` past the previous one's last event holds new events of the same
//          customers (the store-growth run of bench/run.sh feeds slices like this).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

uint64_t next(uint64_t& s) {  // xorshift64*
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 2685821657736338717ULL;
}

const char* kChannels[] = {"pos", "web", "call_center", "crm", "social"};
const char* kTypes[] = {"order.placed", "page.viewed", "call.ended", "contact.updated",
                        "social.post"};
const char* kStores[] = {"berlin-mitte", "hamburg-altona", "munich-centre", "cologne-dom"};
const char* kCountries[] = {"DE", "FR", "NL", "AT", "US"};
// IAB TCF v2.2 TC strings from the IAB decoders' test suites (tests/unit/privacy/data): with
// `tcf` as 5th argument each event carries one, picked at random, so consecutive events rarely
// share a string and the consent stage decodes almost every event.
const char* kTcStrings[] = {
    "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA",
    "COrEAV4OrXx94ACABBENAHCIAD-AAAAAAACAAxAAAAgAIAwgAgAAAAEAgQAAAAAEAYQAQAAAACAAAABAAA",
    "COv__-wOv__-wC2AAAENAPCgAAAAAAAAAAAAA_wAQA_gEBABAEAAAA",
    "COwBOpCOwBOpCLqAAAENAPCAAAAAAAAAAAAAFfwAYFfAV-BVkAGBVYFWAAA",
    "COwxsONOwxsONKpAAAENAdCAAMAAAAAAAAAAAAAAAAAA",
    "CQSbk4AQSbk4ANwAAAENAwCgAAAAAAAAAAYgACPAAAAA.IDKQA4AAgAKAGQAygAAA.YAAAAAAAAAAA",
    "COrEAV4OrXx94ACABBENAHCIAD-AAAAAAACAAxAAAAgAIAwgAgAAAAEAgQAAAAAEAYQAQAAAACAAAABAAA."
    "IBAgAAAgAIAwgAgAAAAEAAAACA.QAagAQAgAIAwgA.cAAAAAAAITg",
    "CO4VGswO4VGswAfZCBDEAzCsAP_AAH_AAAigGUNf_X9fb2vj-_599_t0eY1f9_63t-wzjheMs-8NyZ-X_J4Wv2MyvB34Jq"
    "QKGRgkunLBAQdtHGncTQgBwIlViTLMY02MjzNKJrJEilsbe2dYGH9vn8XT_ZKZ70-_v__7v3___33_5Ayhr_6_r7e18f3_Pvv9"
    "ujzGr_v_W9v2GccLxln3huTPy_5PC1-xmV4O_BNSBQyMEl05YICDto407iaEAOBEqsSZZjGmxkeZpRNZIkUtjb2zrAw_t8_i6f7J"
    "TPen39___d-___--__ICgKAOAAcAA4AFAAjgB6AEYALcGACAW0AtoJAHAAOAAcACgARwA9ACMAFuFABALaAW0GgDgAHAAOABQAI4"
    "AegBGAC3DgAgFtALaEQBwADgAHAAoAEcAPQAjABbiQAQC2gFtCoA4ABwADgAUACOAHoARgAtxYAIBbQC2hkAcAA4ABwAKABHAD0"
    "AIwAW40AEAtoBbQ6AOAAcAA4AFAAjgB6AEYALceACAW0AtohAHAAOAAcACgARwA9ACMAFuRABALaAW0SgDgAHAAOABQAI4AegBG"
    "AC3JgAgFtALaKQBwADgAHAAoAEcAPQAjABblQAQC2gFtA"};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(
        stderr,
        "usage: gen_events N [customers=100000] [out=-] [seed=42] [tcf|plain|real] [first=0]\n");
    return 2;
  }
  const uint64_t n = std::strtoull(argv[1], nullptr, 10);
  const uint64_t customers = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100000;
  const std::string out = argc > 3 ? argv[3] : "-";
  uint64_t seed = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 42;
  if (seed == 0) seed = 42;
  const bool tcf = argc > 5 && std::string(argv[5]) == "tcf";
  const bool real_phones = argc > 5 && std::string(argv[5]) == "real";
  const uint64_t first = argc > 6 ? std::strtoull(argv[6], nullptr, 10) : 0;
  FILE* f = out == "-" ? stdout : std::fopen(out.c_str(), "w");
  if (!f) {
    std::perror(out.c_str());
    return 1;
  }
  static char buf[1 << 20];
  std::setvbuf(f, buf, _IOFBF, sizeof buf);
  const int64_t base = 1704067200;  // 2024-01-01T00:00:00Z
  char phone[48];
  for (uint64_t i = first; i < first + n; ++i) {
    const uint64_t r = next(seed);
    const uint64_t c = r % (customers ? customers : 1);
    // A German mobile number per customer: +49 17x then 7 digits.
    const unsigned prefix = static_cast<unsigned>(c % 10);
    const unsigned long long line = (c * 7919ULL + 1000000ULL) % 10000000ULL;
    if (!real_phones) {
      std::snprintf(phone, sizeof phone, "+4917%08llu", static_cast<unsigned long long>(c));
    } else {
      switch ((r >> 60) % 4) {
        case 0:
          std::snprintf(phone, sizeof phone, "+49 17%u %07llu", prefix, line);
          break;
        case 1:
          std::snprintf(phone, sizeof phone, "+49 (17%u) %03llu-%04llu", prefix, line / 10000,
                        line % 10000);
          break;
        case 2:
          std::snprintf(phone, sizeof phone, "+4917%u%07llu", prefix, line);
          break;
        default:
          std::snprintf(phone, sizeof phone, "+49-17%u-%03llu %04llu", prefix, line / 10000,
                        line % 10000);
          break;
      }
    }
    const unsigned k = static_cast<unsigned>((r >> 20) % 5);
    const int64_t ts = base + static_cast<int64_t>((r >> 8) % 31536000);
    const unsigned cents = static_cast<unsigned>((r >> 32) % 50000);
    std::fprintf(f,
                 "{\"event_id\":\"ev-%llu\",\"type\":\"%s\",\"channel\":\"%s\",\"ts\":%lld,"
                 "\"customer\":{\"id\":\"C%07llu\",\"email\":\"customer%llu@example.com\","
                 "\"phone\":\"%s\",\"country\":\"%s\"},"
                 "\"order\":{\"total\":%u.%02u,\"currency\":\"EUR\",\"items\":%u},"
                 "\"store\":\"%s\",\"consent\":{\"analytics\":%s},\"score\":%u%s%s%s}\n",
                 static_cast<unsigned long long>(i), kTypes[k], kChannels[k],
                 static_cast<long long>(ts), static_cast<unsigned long long>(c),
                 static_cast<unsigned long long>(c), phone, kCountries[(r >> 40) % 5], cents / 100,
                 cents % 100, static_cast<unsigned>((r >> 44) % 9 + 1), kStores[(r >> 48) % 4],
                 ((r >> 52) % 10) < 8 ? "true" : "false", static_cast<unsigned>((r >> 56) % 100),
                 tcf ? ",\"tc_string\":\"" : "", tcf ? kTcStrings[next(seed) % 8] : "",
                 tcf ? "\"" : "");
  }
  if (f != stdout) std::fclose(f);
  return 0;
}
