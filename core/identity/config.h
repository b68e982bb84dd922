#pragma once
// Identity resolution settings: the `identity:` section of omniloop.yaml (see
// schemas/omniloop.schema.json and docs/store.md). Parsed once at configuration time; invalid
// settings throw std::invalid_argument naming the setting.
//
//   identity:
//     types:                       # overlays the defaults below, type by type
//       email: { priority: 3, max_per_profile: 5 }
//       phone: { priority: 4, merge: false }
//     blocklist: [ "test@test.com", "loyalty_id:2000000000019" ]
//     builtin_blocklist: true
//     traits:
//       lifetime_value: { sum: order.total, where: { channel: pos } }
//       channels: { distinct: $channel }
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace omniloop::identity {

// How identities of one type take part in resolution.
struct TypeRule {
  std::string type;
  // Lower is stronger. Decides the order in which an event's identities claim a profile, so
  // which profile wins when a guard keeps two apart, and which identity names a new profile.
  int priority = 1000;
  // At most this many identities of the type on one profile; 0 = no limit. Attaching or merging
  // that would exceed it is refused (the conflict is recorded).
  uint32_t max_per_profile = 0;
  // false: a weak identifier (a shared family phone, a kiosk device). It never merges two
  // profiles that hold strong identifiers and never pulls an event's other identities into such
  // a profile; it does bring a profile of weak identifiers only into the event's cluster (calls
  // before the CRM record). An event carrying only weak identifiers joins the profile of the
  // strongest known one (resolver.h).
  bool merge = true;
};

enum class Aggregate : uint8_t { Count, Sum, Min, Max, Last, Distinct };
std::string_view toString(Aggregate a);

// A computed profile trait: `aggregate` over `field` of the profile's events that pass `where`.
struct TraitRule {
  std::string name;
  Aggregate aggregate = Aggregate::Count;
  // An attribute path ("order.total") or an envelope path ("$channel", "$type", "$source");
  // "*" with count: every event.
  std::string field;
  // Only events whose channel / type is one of these (empty: any).
  std::vector<std::string> channels;
  std::vector<std::string> types;
};

struct Config {
  // Every configured type, sorted by (priority, type). Types not listed use unknownType().
  std::vector<TypeRule> types;
  // Extra junk values, as written: "value" (any type) or "type:value" for a listed type.
  std::vector<std::string> blocklist;
  bool builtin_blocklist = true;
  std::vector<TraitRule> traits;
  // A `distinct` trait keeps at most this many values (the smallest, as JSON text).
  uint32_t max_distinct = 100;
  // ISO 3166 region ("DE") for phone numbers written without a country code ("" = none: such
  // numbers are rejected). Upper-cased.
  std::string default_region;

  // The rule of `type` (the default rule, priority 1000, for an unlisted type).
  const TypeRule& rule(std::string_view type) const;
  // Whether any type has a per-profile limit (then attaching needs identity counts).
  bool anyLimit() const;
};

// The defaults: crm_id (1, max 1), loyalty_id (2, max 1), email (3, max 5), social (5),
// phone (4, weak), device_id (6, weak); built-in blocklist on; no configured traits.
Config defaultConfig();

// The `identity:` section as JSON text ("" or "{}" or "null": the defaults). Throws
// std::invalid_argument "identity.<path>: <what is wrong>".
Config parseConfig(std::string_view json);

// Built-in traits every profile carries (names reserved for configured traits).
inline constexpr std::string_view kEventCountTrait = "event_count";
inline constexpr std::string_view kChannelCountsTrait = "events_by_channel";

}  // namespace omniloop::identity
