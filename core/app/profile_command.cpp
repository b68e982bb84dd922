#include "app/profile_command.h"

#include <algorithm>
#include <iomanip>

#include "app/progress.h"
#include "config/json_value.h"
#include "event/json.h"
#include "privacy/normalize.h"

namespace omniloop::app {

namespace {

std::string when(int64_t micros) {
  return micros == 0 ? std::string("-") : event::formatTimestamp(micros);
}

// A JSON object's text as "key  value" lines; the raw text when it is not an object.
void printObjectLines(std::ostream& out, const std::string& json, const char* indent) {
  config::JsonValue v;
  try {
    v = config::parseJson(json.empty() ? "{}" : json);
  } catch (const std::exception&) {
    out << indent << json << "\n";
    return;
  }
  if (!v.isObject()) {
    out << indent << json << "\n";
    return;
  }
  if (v.members.empty()) out << indent << "(none)\n";
  size_t width = 0;
  for (const auto& [k, _] : v.members) width = std::max(width, k.size());
  for (const auto& [k, value] : v.members) {
    std::string text;
    if (value.isString()) {
      text = value.string;
    } else {
      config::appendJson(text, value);
    }
    out << indent << std::left << std::setw(static_cast<int>(width + 2)) << k << text << "\n";
  }
}

// A time member: ISO 8601 UTC, null when unknown.
void time(event::JsonObjectWriter& o, std::string_view key, int64_t micros) {
  if (micros == 0) {
    o.raw(key, "null");
  } else {
    o.text(key, event::formatTimestamp(micros));
  }
}

void appendJsonProfile(std::string& out, const store::ProfileView& p) {
  using event::JsonObjectWriter;
  // The store keeps traits and attributes as JSON objects ("" counts as {}).
  auto object = [](const std::string& json) {
    return json.empty() ? std::string_view("{}") : std::string_view(json);
  };
  JsonObjectWriter o(out);
  o.text("id", p.id);
  time(o, "created_at", p.created_at);
  time(o, "updated_at", p.updated_at);
  time(o, "first_seen", p.first_seen);
  time(o, "last_seen", p.last_seen);
  o.integer("events", p.events).raw("traits", object(p.traits));
  o.objects("identities", p.identities,
            [](JsonObjectWriter& i, const store::ProfileView::Identity& id) {
              i.text("type", id.type).text("value", id.hash).text("source", id.source);
              time(i, "first_seen", id.first_seen);
              time(i, "last_seen", id.last_seen);
            });
  o.objects("merged_from", p.merges,
            [](JsonObjectWriter& m, const store::ProfileView::Merge& merge) {
              m.text("profile", merge.from).text("into", merge.into).text("reason", merge.reason);
              time(m, "at", merge.merged_at);
            });
  o.objects("conflicts", p.conflicts,
            [](JsonObjectWriter& c, const store::ProfileView::Conflict& conflict) {
              c.text("type", conflict.type)
                  .text("value", conflict.hash)
                  .text("reason", conflict.reason)
                  .text("profile", conflict.profile)
                  .text("other_profile", conflict.other_profile)
                  .integer("occurrences", conflict.occurrences);
              time(c, "first_at", conflict.first_at);
              time(c, "last_at", conflict.last_at);
            });
  o.objects("timeline", p.timeline, [&](JsonObjectWriter& e, const store::ProfileView::Event& ev) {
    e.text("id", ev.id);
    time(e, "occurred_at", ev.occurred_at);
    e.text("channel", ev.channel)
        .text("type", ev.type)
        .text("pipeline", ev.pipeline)
        .text("source", ev.source)
        .raw("attributes", object(ev.attributes));
  });
}

void printHuman(std::ostream& out, const store::ProfileView& p, size_t limit) {
  out << "profile " << p.id << "\n"
      << "  first seen   " << when(p.first_seen) << "\n"
      << "  last seen    " << when(p.last_seen) << "\n"
      << "  created      " << when(p.created_at) << "   updated " << when(p.updated_at) << "\n"
      << "  events       " << formatCount(p.events) << "\n";

  out << "\nidentities (" << p.identities.size() << ")\n";
  size_t type_width = 10, source_width = 10;
  for (const auto& id : p.identities) {
    type_width = std::max(type_width, id.type.size());
    source_width = std::max(source_width, id.source.size());
  }
  for (const auto& id : p.identities) {
    out << "  " << std::left << std::setw(static_cast<int>(type_width + 2)) << id.type
        << std::setw(static_cast<int>(source_width + 2)) << (id.source.empty() ? "-" : id.source)
        << when(id.first_seen) << " .. " << when(id.last_seen) << "  " << id.hash << "\n";
  }

  out << "\ntraits\n";
  printObjectLines(out, p.traits, "  ");

  if (!p.merges.empty()) {
    out << "\nmerged from (" << p.merges.size() << ")\n";
    for (const auto& m : p.merges) {
      out << "  " << m.from << " at " << when(m.merged_at) << "  " << m.reason << "\n";
    }
  }
  if (!p.conflicts.empty()) {
    out << "\nkept apart by identity guards (" << p.conflicts.size() << ")\n";
    for (const auto& c : p.conflicts) {
      out << "  " << c.type << " " << c.reason << " (x" << c.occurrences << ", last "
          << when(c.last_at) << ")  other profile "
          << (c.other_profile.empty() ? "-" : c.other_profile) << "\n";
    }
  }

  out << "\ntimeline";
  if (p.events > p.timeline.size()) {
    out << " (latest " << p.timeline.size() << " of " << formatCount(p.events)
        << "; --timeline N for more)";
  } else if (limit > 0) {
    out << " (" << p.timeline.size() << ")";
  }
  out << "\n";
  for (const auto& e : p.timeline) {
    std::string attrs = e.attributes.empty() ? std::string("{}") : e.attributes;
    if (attrs.size() > 120) attrs = attrs.substr(0, 117) + "...";
    out << "  " << std::left << std::setw(22) << when(e.occurred_at) << std::setw(12)
        << (e.channel.empty() ? "-" : e.channel) << std::setw(18) << (e.type.empty() ? "-" : e.type)
        << attrs << "\n";
  }
}

}  // namespace

int profileError(const ProfileQuery& q, std::ostream& out, std::ostream& err, int code,
                 const std::string& error, const std::string& hint) {
  err << "omniloop profile: " << error;
  if (!hint.empty()) err << " (" << hint << ")";
  err << "\n";
  if (q.json) {
    std::string o;
    {
      event::JsonObjectWriter w(o);
      w.raw("found", "false").text("error", error);
      if (!hint.empty()) w.text("hint", hint);
    }
    out << o << "\n";
  }
  return code;
}

int showProfile(store::Store& store, const ProfileQuery& q, std::ostream& out, std::ostream& err) {
  std::string id = q.profile_id;
  if (id.empty()) {
    const size_t colon = q.identity.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == q.identity.size()) {
      return profileError(q, out, err, 2,
                          "--identity takes TYPE:VALUE, e.g. email:jane@example.com or "
                          "phone:+4930123456",
                          "");
    }
    const std::string type = q.identity.substr(0, colon);
    std::string value = q.identity.substr(colon + 1);
    if (!q.region.empty()) {
      if (privacy::phoneRegion(q.region).empty() || q.region.starts_with('+')) {
        err << "omniloop profile: --region takes a two-letter region with a telephone numbering "
               "plan, e.g. DE or US, not '"
            << q.region << "'\n";
        return 2;
      }
      if (type == "phone") {
        std::string e164;
        privacy::Rejection why = privacy::Rejection::None;
        if (!privacy::normalizePhone(value, e164, q.region, &why)) {
          err << "omniloop profile: the phone number is not a valid number in region " << q.region
              << " (" << privacy::toString(why) << ")\n";
          return 2;
        }
        value = e164;  // read in the given region; the store normalises it again, unchanged
      }
    }
    const std::optional<std::string> found = store.findProfile(type, value);
    // The clear value is not repeated: it may be personal data and end up in a log.
    if (!found) {
      return profileError(q, out, err, 1, "no profile holds this " + type + " identity",
                          "types are e.g. email, phone, crm_id, loyalty_id, social, device_id; "
                          "the value is normalised and pseudonymised with the configured key, so "
                          "it must be the key the data was ingested with");
    }
    id = *found;
  }
  const std::optional<store::ProfileView> view = store.profile(id, q.timeline);
  if (!view) {
    return profileError(q, out, err, 1, "no profile " + id,
                        "merged profiles keep only the winner's id");
  }
  if (q.json) {
    std::string o;
    appendJsonProfile(o, *view);
    out << o << "\n";
  } else {
    printHuman(out, *view, q.timeline);
  }
  return 0;
}

}  // namespace omniloop::app
