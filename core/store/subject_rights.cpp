#include "store/subject_rights.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <set>
#include <stdexcept>

#include "config/json_value.h"
#include "event/json.h"
#include "store/clock.h"
#include "store/identity_rules.h"
#include "store/store.h"
#include "store/suppressions.h"

namespace omniloop::store {

namespace {

// --- what the subject is, as the rights transaction finds it ---

struct Subject {
  std::vector<std::pair<std::string, std::string>> requested;   // type, pseudonym
  std::vector<std::string> profiles;                            // ids (text), merged ones included
  std::vector<std::pair<std::string, std::string>> identities;  // every identity (type, pseudonym)
  std::vector<std::string> needles;  // substrings that mark a dead letter as theirs
  std::vector<std::string> tokens;   // vault tokens their events and dead letters carry
};

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

// Predicates over a table's columns for one subject; "1 = 0" when the list is empty.
struct Match {
  const SqlSession& q;
  const Subject& s;
  bool erasing = false;  // the rows to delete (vault: only tokens nobody else still uses)

  std::string in(std::string_view column, const std::vector<std::string>& literals) const {
    if (literals.empty()) return "1 = 0";
    return std::string(column) + " IN (" + join(literals, ", ") + ")";
  }
  // A column storing profile ids as the key columns do (profiles.id, *.profile_id).
  std::string profileIn(std::string_view column) const {
    std::vector<std::string> l;
    for (const auto& p : s.profiles) l.push_back(q.idLiteral(p));
    return in(column, l);
  }
  // A column holding profile ids as text (profile_merges, identity_conflicts).
  std::string profileTextIn(std::string_view column) const {
    std::vector<std::string> l;
    for (const auto& p : s.profiles) l.push_back(SqlSession::textLiteral(p));
    return in(column, l);
  }
  // (type, hash) columns; `stored`: hashes as the key columns store them, else text.
  std::string identityIn(std::string_view type, std::string_view hash, bool stored = true) const {
    std::vector<std::string> l;
    for (const auto& [t, h] : s.identities) {
      l.push_back("(" + std::string(type) + " = " + SqlSession::textLiteral(t) + " AND " +
                  std::string(hash) + " = " +
                  (stored ? q.hashLiteral(h) : SqlSession::textLiteral(h)) + ")");
    }
    return l.empty() ? "1 = 0" : "(" + join(l, " OR ") + ")";
  }
  // A text column naming an event id of the subject's events.
  std::string eventOfSubject(std::string_view column) const {
    if (s.profiles.empty()) return "1 = 0";
    return std::string(column) + " IN (SELECT " + q.idText("id") + " FROM events WHERE " +
           profileIn("profile_id") + ")";
  }
  // A text column mentioning a pseudonym or a clear identifier of the subject.
  std::string mentions(std::string_view column) const {
    std::vector<std::string> l;
    for (const auto& n : s.needles) l.push_back(q.contains(column, n));
    return l.empty() ? "1 = 0" : "(" + join(l, " OR ") + ")";
  }
};

enum class Kind { Text, Int, Json, Id, Hash };
struct Column {
  const char* name;
  Kind kind;
};

struct SubjectTable {
  const char* name;
  std::vector<Column> columns;           // what export shows, in this order
  std::string (*where)(const Match& m);  // the rows about the subject
  const char* note;                      // export: what is pseudonymised or masked, and why
};

// ============================================================================================
// THE tables that hold rows about a data subject, in erase order (rows that point at others
// first). eraseSubject deletes exactly `where`, exportSubject shows exactly `where`, and the
// export's per-table notes come from here. To cover a new table (e.g. the consent ledger),
// add one entry; nothing else changes.
// Not listed on purpose: suppressions (one-way derivatives, written by the erasure),
// audit_log (kept: proof of the request; holds no pseudonym or clear value; export shows the
// entries about the subject), checkpoints (source positions, no personal data).
// ============================================================================================
const std::vector<SubjectTable>& subjectTables() {
  static const std::vector<SubjectTable> tables = {
      {"dead_letters",
       {{"id", Kind::Text},
        {"pipeline", Kind::Text},
        {"source", Kind::Text},
        {"event_id", Kind::Text},
        {"reason", Kind::Text},
        {"payload", Kind::Text},
        {"created_at", Kind::Int}},
       [](const Match& m) {
         return "(" + m.eventOfSubject("event_id") + " OR " + m.mentions("payload") + ")";
       },
       "events no stage or sink could store: the raw record when the source kept one, otherwise "
       "the event "
       "with its identity values pseudonymised"},
      {"consents",
       {{"id", Kind::Int},
        {"profile_id", Kind::Id},
        {"identity_type", Kind::Text},
        {"identity_hash", Kind::Text},
        {"purpose", Kind::Text},
        {"status", Kind::Text},
        {"source", Kind::Text},
        {"captured_at", Kind::Int},
        {"evidence", Kind::Text},
        {"notice_version", Kind::Text}},
       [](const Match& m) {
         return "(" + m.profileIn("profile_id") + " OR " +
                m.identityIn("identity_type", "identity_hash", false) + ")";
       },
       "the consent ledger: identity_hash is pseudonymised; evidence as captured (e.g. a TCF "
       "string)"},
      {"identity_conflicts",
       {{"type", Kind::Text},
        {"hash", Kind::Hash},
        {"reason", Kind::Text},
        {"profile_id", Kind::Text},
        {"other_profile", Kind::Text},
        {"first_at", Kind::Int},
        {"last_at", Kind::Int},
        {"occurrences", Kind::Int}},
       [](const Match& m) {
         return "(" + m.identityIn("type", "hash") + " OR " + m.profileTextIn("profile_id") +
                " OR " + m.profileTextIn("other_profile") + ")";
       },
       "identities a per-type limit kept away from a profile; hash is pseudonymised"},
      {"events",
       {{"id", Kind::Id},
        {"pipeline", Kind::Text},
        {"source", Kind::Text},
        {"profile_id", Kind::Id},
        {"channel", Kind::Text},
        {"type", Kind::Text},
        {"occurred_at", Kind::Int},
        {"ingested_at", Kind::Int},
        {"attributes", Kind::Json}},
       [](const Match& m) { return m.profileIn("profile_id"); },
       "attributes as stored: fields a pipeline declared personal were masked by its mask stage "
       "(hmac: "
       "pseudonymised, redact/drop: removed, generalise: coarsened) before they reached the store"},
      {"vault",
       {{"token", Kind::Text}, {"key_id", Kind::Text}, {"created_at", Kind::Int}, {"expires_at", Kind::Int}},
       [](const Match& m) {
         std::vector<std::string> l;
         for (const auto& t : m.s.tokens) l.push_back(SqlSession::textLiteral(t));
         std::string where = m.in("token", l);
         // A token is one value's (the same value gives the same token): erased only when no
         // other event or dead letter still carries it (the subject's own are deleted before).
         if (m.erasing && !l.empty()) {
           where += " AND NOT EXISTS (SELECT 1 FROM events e WHERE " +
                    m.q.containsExpr(m.q.jsonText("e.attributes"), "vault.token") +
                    ") AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE " +
                    m.q.containsExpr("d.payload", "vault.token") + ")";
         }
         return where;
       },
       "tokenisation vault rows of values tokenised in the subject's events: only the token and key id "
       "are shown; the sealed value is recovered by `omniloop detokenize` (audited)"},
      {"identities",
       {{"type", Kind::Text},
        {"hash", Kind::Hash},
        {"profile_id", Kind::Id},
        {"source", Kind::Text},
        {"first_seen", Kind::Int},
        {"last_seen", Kind::Int}},
       [](const Match& m) {
         return "(" + m.profileIn("profile_id") + " OR " + m.identityIn("type", "hash") + ")";
       },
       "hash is the identifier pseudonymised (normalised, then HMAC-SHA256 under the store's key, "
       "h1:<key id>:<hex>); the clear value is never stored. source: the system that sent it; "
       "first_seen/last_seen: when it was seen"},
      {"profile_merges",
       {{"id", Kind::Int},
        {"from_profile", Kind::Text},
        {"into_profile", Kind::Text},
        {"reason", Kind::Text},
        {"merged_at", Kind::Int}},
       [](const Match& m) {
         return "(" + m.profileTextIn("from_profile") + " OR " + m.profileTextIn("into_profile") +
                ")";
       },
       "profiles found to be the same person and folded into one"},
      {"profiles",
       {{"id", Kind::Id},
        {"created_at", Kind::Int},
        {"updated_at", Kind::Int},
        {"first_seen", Kind::Int},
        {"last_seen", Kind::Int},
        {"traits", Kind::Json}},
       [](const Match& m) { return m.profileIn("id"); },
       "traits are computed from the events (omniloop.yaml identity.traits)"},
  };
  return tables;
}

const SubjectTable& tableNamed(std::string_view name) {
  for (const SubjectTable& t : subjectTables()) {
    if (t.name == name) return t;
  }
  throw std::logic_error("no subject table " + std::string(name));
}

std::string selectList(const SqlSession& q, const SubjectTable& t) {
  std::vector<std::string> cols;
  for (const Column& c : t.columns) {
    switch (c.kind) {
      case Kind::Id:
        cols.push_back(q.idText(c.name));
        break;
      case Kind::Hash:
        cols.push_back(q.hashText(c.name));
        break;
      case Kind::Json:
        cols.push_back(q.jsonText(c.name));
        break;
      default:
        cols.push_back(c.name);
    }
  }
  return join(cols, ", ");
}

std::string lowerAscii(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The requested identities pseudonymised as ingestion does. Throws std::invalid_argument.
std::vector<std::pair<std::string, std::string>> pseudonymsOf(
    const RightsKeys& keys, const std::vector<SubjectIdentity>& identities,
    std::vector<std::string>& clear_needles) {
  if (identities.empty())
    throw std::invalid_argument("name at least one identity (--identity TYPE:VALUE)");
  IdentityKeyer keyer(keys.hasher, keys.normalize);
  std::vector<std::pair<std::string, std::string>> out;
  for (const SubjectIdentity& id : identities) {
    std::string hash;
    if (!keyer.pseudonymize(id.type, id.value, hash)) {
      throw std::invalid_argument(
          keys.hasher == nullptr
              ? "no pseudonymisation key: set key_file in omniloop.yaml or OMNILOOP_KEY"
              : "identity " + id.type + " has a value that does not normalise");
    }
    if (!privacy::KeyedHasher::isPseudonym(id.value)) {
      std::string normalized;
      if (privacy::normalizeIdentity(id.type, id.value, normalized, keys.normalize) &&
          normalized.size() >= 4) {
        clear_needles.push_back(lowerAscii(normalized));
      }
    }
    out.emplace_back(id.type, std::move(hash));
  }
  return out;
}

// Finds the subject's profiles (and every profile merged into them) and identities.
Subject findSubject(SqlSession& q,
                    const std::vector<std::pair<std::string, std::string>>& requested,
                    const std::vector<std::string>& clear_needles) {
  Subject s;
  s.requested = requested;
  std::set<std::string> profiles;
  for (const auto& [type, hash] : requested) {
    for (const auto& row :
         q.query("SELECT " + q.idText("profile_id") + " FROM identities WHERE type = " +
                     SqlSession::textLiteral(type) + " AND hash = " + q.hashLiteral(hash),
                 1)) {
      if (row[0]) profiles.insert(*row[0]);
    }
  }
  // Profiles folded into these (directly or through others).
  std::vector<std::string> frontier(profiles.begin(), profiles.end());
  while (!frontier.empty()) {
    std::vector<std::string> lits;
    for (const auto& p : frontier) lits.push_back(SqlSession::textLiteral(p));
    frontier.clear();
    for (const auto& row :
         q.query("SELECT from_profile FROM profile_merges WHERE into_profile IN (" +
                     join(lits, ", ") + ")",
                 1)) {
      if (row[0] && profiles.insert(*row[0]).second) frontier.push_back(*row[0]);
    }
  }
  s.profiles.assign(profiles.begin(), profiles.end());
  std::set<std::pair<std::string, std::string>> ids(requested.begin(), requested.end());
  if (!s.profiles.empty()) {
    const Match m{q, s};
    for (const auto& row : q.query("SELECT type, " + q.hashText("hash") +
                                       " FROM identities WHERE " + m.profileIn("profile_id"),
                                   2)) {
      if (row[0] && row[1]) ids.emplace(*row[0], *row[1]);
    }
  }
  s.identities.assign(ids.begin(), ids.end());
  for (const auto& [type, hash] : s.identities) s.needles.push_back(hash);
  for (const auto& n : clear_needles) s.needles.push_back(n);
  // Vault tokens ("tk1:<key id>:<hex>") in their events' attributes and their dead letters.
  std::set<std::string> tokens;
  const Match m{q, s};
  auto scan = [&](const std::string& sql) {
    for (const auto& row : q.query(sql, 1)) {
      if (!row[0]) continue;
      const std::string& text = *row[0];
      for (size_t at = text.find("tk1:"); at != std::string::npos; at = text.find("tk1:", at + 4)) {
        size_t end = at + 4;
        while (end < text.size() && (std::isxdigit(static_cast<unsigned char>(text[end])) || text[end] == ':')) ++end;
        if (end - at > 12) tokens.insert(text.substr(at, end - at));
      }
    }
  };
  if (!s.profiles.empty()) {
    scan("SELECT " + q.jsonText("attributes") + " FROM events WHERE " + m.profileIn("profile_id") + " AND " +
         q.containsExpr(q.jsonText("attributes"), "'tk1:'"));
  }
  scan("SELECT payload FROM dead_letters WHERE (" + m.eventOfSubject("event_id") + " OR " + m.mentions("payload") +
       ") AND " + q.containsExpr("payload", "'tk1:'"));
  s.tokens.assign(tokens.begin(), tokens.end());
  return s;
}

std::vector<std::string> derivatives(const RightsKeys& keys,
                                     const std::vector<std::pair<std::string, std::string>>& ids) {
  std::vector<std::string> out;
  if (keys.suppression_key == nullptr) return out;
  for (const auto& [type, hash] : ids)
    out.push_back(Suppressions::derive(*keys.suppression_key, type, hash));
  return out;
}

void appendCounts(std::string& out, const std::vector<TableCount>& counts) {
  event::JsonObjectWriter o(out);
  for (const TableCount& c : counts) o.integer(c.table, c.rows);
}

// The audit entries that name one of `subjects` (suppression derivatives).
std::vector<AuditEntry> auditAbout(SqlSession& q, const std::vector<std::string>& subjects) {
  std::vector<AuditEntry> out;
  if (subjects.empty()) return out;
  std::vector<std::string> preds;
  for (const auto& d : subjects) {
    preds.push_back("subject = " + SqlSession::textLiteral(d));
    preds.push_back(q.contains(q.jsonText("details"), d));
  }
  for (const auto& row :
       q.query("SELECT id, at, actor, action, subject, " + q.jsonText("details") +
                   " FROM audit_log WHERE " + join(preds, " OR ") + " ORDER BY id",
               6)) {
    out.push_back({std::stoll(row[0].value_or("0")), std::stoll(row[1].value_or("0")),
                   row[2].value_or(""), row[3].value_or(""), row[4].value_or(""),
                   row[5].value_or("{}")});
  }
  return out;
}

void appendAuditJson(std::string& out, const AuditEntry& a) {
  event::JsonObjectWriter o(out);
  o.integer("id", a.id)
      .text("at", event::formatTimestamp(a.at))
      .text("actor", a.actor)
      .text("action", a.action);
  o.textOrNull("subject", a.subject);
  o.raw("details", a.details.empty() ? "{}" : a.details);
}

void requireSubjectKeys(const RightsKeys& keys) {
  if (keys.suppression_key == nullptr) {
    throw std::invalid_argument(
        "no suppression key: set suppression_key_file in omniloop.yaml (or "
        "OMNILOOP_SUPPRESSION_KEY); "
        "with a SQLite store omniloop creates one next to the database");
  }
}

}  // namespace

std::string SqlSession::textLiteral(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    if (c == '\0') continue;
    out += c;
  }
  out += '\'';
  return out;
}

SubjectIdentity parseSubjectIdentity(std::string_view text, const std::vector<std::string>& known,
                                     const privacy::NormalizeOptions& normalize) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    throw std::invalid_argument(
        "an identity is not TYPE:VALUE: write e.g. email:jane@example.com or "
        "phone:+4930123456");
  }
  SubjectIdentity id{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1))};
  if (std::find(known.begin(), known.end(), id.type) == known.end()) {
    throw std::invalid_argument("unknown identity type '" + id.type + "': the store knows " +
                                join(known, ", ") + " (omniloop.yaml identity.types)");
  }
  if (privacy::KeyedHasher::isPseudonym(id.value)) return id;
  std::string normalized;
  if (!privacy::normalizeIdentity(id.type, id.value, normalized, normalize)) {
    throw std::invalid_argument("the " + id.type + " value given with --identity is malformed" +
                                (id.type == "email" ? std::string(": write it as name@domain")
                                 : id.type == "phone"
                                     ? std::string(": write it in E.164, e.g. +4930123456")
                                     : std::string(": it is empty")));
  }
  return id;
}

int64_t appendAudit(SqlSession& q, const AuditEntry& e) {
  const auto rows = q.query(
      "INSERT INTO audit_log (at, actor, action, subject, details) VALUES (" +
          std::to_string(e.at != 0 ? e.at : nowMicros()) + ", " + SqlSession::textLiteral(e.actor) +
          ", " + SqlSession::textLiteral(e.action) + ", " +
          (e.subject.empty() ? std::string("NULL") : SqlSession::textLiteral(e.subject)) + ", " +
          SqlSession::textLiteral(e.details.empty() ? "{}" : e.details) + ") RETURNING id",
      1);
  return rows.empty() || !rows[0][0] ? 0 : std::stoll(*rows[0][0]);
}

int64_t appendAudit(Store& store, const AuditEntry& entry) {
  int64_t id = 0;
  store.rightsTransaction(false, [&](SqlSession& q) { id = appendAudit(q, entry); });
  return id;
}

std::vector<AuditEntry> listAudit(Store& store, int64_t since) {
  std::vector<AuditEntry> out;
  store.rightsTransaction(false, [&](SqlSession& q) {
    out.clear();
    for (const auto& row :
         q.query("SELECT id, at, actor, action, subject, " + q.jsonText("details") +
                     " FROM audit_log WHERE at >= " + std::to_string(since) + " ORDER BY id",
                 6)) {
      out.push_back({std::stoll(row[0].value_or("0")), std::stoll(row[1].value_or("0")),
                     row[2].value_or(""), row[3].value_or(""), row[4].value_or(""),
                     row[5].value_or("{}")});
    }
  });
  return out;
}

EraseReport eraseSubject(Store& store, const RightsKeys& keys, const EraseRequest& request) {
  if (request.reason.empty())
    throw std::invalid_argument("give the reason for the erasure (--reason TEXT)");
  if (request.actor.empty()) throw std::invalid_argument("an erasure needs an actor");
  requireSubjectKeys(keys);
  std::vector<std::string> clear_needles;
  const auto requested = pseudonymsOf(keys, request.identities, clear_needles);
  EraseReport report;
  const bool clean = store.rightsTransaction(true, [&](SqlSession& q) {
    report = EraseReport{};
    const Subject s = findSubject(q, requested, clear_needles);
    const Match m{q, s, true};
    report.profiles = s.profiles.size();

    // The minimal proof of consent kept after erasure: per purpose, the latest status, when it
    // was captured, from which source and under which notice version. No identifier, no
    // evidence string; linked to the request only through the audit entry's suppression subject.
    std::map<std::string, std::string> proof;
    for (const auto& row : q.query(
             "SELECT purpose, status, source, captured_at, notice_version FROM consents WHERE " +
                 tableNamed("consents").where(m) + " ORDER BY captured_at",
             5)) {
      std::string item;
      {
        event::JsonObjectWriter o(item);
        o.text("purpose", row[0].value_or(""))
            .text("status", row[1].value_or(""))
            .text("source", row[2].value_or(""));
        o.text("captured_at", event::formatTimestamp(std::stoll(row[3].value_or("0"))));
        o.textOrNull("notice_version", row[4].value_or(""));
      }
      proof[row[0].value_or("")] = item;  // later rows replace earlier ones: the latest per purpose
    }

    for (const SubjectTable& t : subjectTables()) {
      const uint64_t n = q.exec("DELETE FROM " + std::string(t.name) + " WHERE " + t.where(m));
      report.deleted.push_back({t.name, n});
      if (n > 0) report.held = true;
    }
    const int64_t now = nowMicros();
    const std::vector<std::string> subjects = derivatives(keys, s.identities);
    for (size_t i = 0; i < s.identities.size(); ++i) {
      q.exec("INSERT INTO suppressions (type, hash, reason, created_at) VALUES (" +
             SqlSession::textLiteral(s.identities[i].first) + ", " +
             SqlSession::textLiteral(subjects[i]) + ", 'erased', " + std::to_string(now) +
             ") ON CONFLICT (type, hash) DO NOTHING");
    }
    report.suppressions = subjects.size();

    const std::vector<std::string> named = derivatives(keys, requested);
    std::string details;
    {
      event::JsonObjectWriter o(details);
      o.text("reason", request.reason).raw("held", report.held ? "true" : "false");
      std::vector<std::string> types;
      for (const auto& [type, hash] : requested) types.push_back(type);
      o.strings("requested_types", types);
      o.strings("subjects", subjects);
      o.integer("profiles", report.profiles);
      std::string rows;
      appendCounts(rows, report.deleted);
      o.raw("rows", rows);
      o.integer("suppressions", report.suppressions);
      std::string items = "[";
      for (const auto& [purpose, item] : proof) {
        if (items.size() > 1) items += ',';
        items += item;
      }
      items += ']';
      o.raw("consent_proof", items);
    }
    report.audit_id =
        appendAudit(q, {0, now, request.actor, "erase", named.empty() ? "" : named[0], details});
  });
  report.storage_clean = clean;
  return report;
}

std::string exportSubject(Store& store, const RightsKeys& keys,
                          const std::vector<SubjectIdentity>& identities,
                          const std::string& actor) {
  requireSubjectKeys(keys);
  std::vector<std::string> clear_needles;
  const auto requested = pseudonymsOf(keys, identities, clear_needles);
  std::string doc;
  store.rightsTransaction(false, [&](SqlSession& q) {
    doc.clear();
    const Subject s = findSubject(q, requested, clear_needles);
    const Match m{q, s};
    const int64_t now = nowMicros();
    std::vector<TableCount> counts;
    std::string tables;
    std::string notes;
    {
      event::JsonObjectWriter to(tables);
      event::JsonObjectWriter no(notes);
      for (const SubjectTable& t : subjectTables()) {
        no.text(t.name, t.note);
        std::string rows = "[";
        uint64_t n = 0;
        for (const auto& row : q.query("SELECT " + selectList(q, t) + " FROM " + t.name +
                                           " WHERE " + t.where(m) + " ORDER BY 1",
                                       static_cast<int>(t.columns.size()))) {
          if (n++) rows += ',';
          event::JsonObjectWriter r(rows);
          for (size_t c = 0; c < t.columns.size(); ++c) {
            const auto& v = row[c];
            if (!v) {
              r.raw(t.columns[c].name, "null");
            } else if (t.columns[c].kind == Kind::Int) {
              r.raw(t.columns[c].name, *v);
            } else if (t.columns[c].kind == Kind::Json) {
              r.raw(t.columns[c].name, v->empty() ? "{}" : *v);
            } else {
              r.text(t.columns[c].name, *v);
            }
          }
        }
        rows += ']';
        to.raw(t.name, rows);
        counts.push_back({t.name, n});
      }
    }
    const std::vector<std::string> subjects = derivatives(keys, s.identities);
    const std::vector<std::string> named = derivatives(keys, requested);
    std::string details;
    {
      event::JsonObjectWriter o(details);
      std::vector<std::string> types;
      for (const auto& [type, hash] : requested) types.push_back(type);
      o.strings("requested_types", types).strings("subjects", subjects);
      std::string rows;
      appendCounts(rows, counts);
      o.raw("rows", rows);
    }
    const int64_t audit_id =
        appendAudit(q, {0, now, actor, "export", named.empty() ? "" : named[0], details});
    std::string audit = "[";
    size_t i = 0;
    for (const AuditEntry& a : auditAbout(q, subjects)) {
      if (i++) audit += ',';
      appendAuditJson(audit, a);
    }
    audit += ']';

    event::JsonObjectWriter o(doc);
    o.text("format", "omniloop-subject-export/1").text("generated_at", event::formatTimestamp(now));
    o.integer("audit_id", audit_id);
    {
      std::string req = "[";
      for (size_t k = 0; k < identities.size(); ++k) {
        if (k) req += ',';
        event::JsonObjectWriter r(req);
        r.text("type", identities[k].type)
            .text("value", identities[k].value)
            .text("pseudonym", requested[k].second);
      }
      req += ']';
      o.raw("request", req);
    }
    o.strings("profiles", s.profiles);
    o.raw("tables", tables);
    o.raw("audit", audit);
    std::string privacy;
    {
      event::JsonObjectWriter p(privacy);
      p.text("pseudonymised",
             "identifiers (identities.hash, identity_conflicts.hash, consents.identity_hash) are "
             "stored only "
             "as HMAC-SHA256 pseudonyms under the store's key (h1:<key id>:<hex>), so a leaked "
             "store does not "
             "reveal them; the request above shows which clear value gave which pseudonym");
      p.text("masked",
             "event attributes a pipeline declared personal were masked before storage (see each "
             "pipeline's "
             "mask stage); what the store holds is shown as is");
      p.text("times", "microseconds since 1970-01-01 UTC");
      p.raw("tables", notes);
    }
    o.raw("privacy", privacy);
  });
  return doc;
}

std::optional<int64_t> parseDuration(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  if (text.size() < 2) return std::nullopt;
  int64_t n = 0;
  for (char c : text.substr(0, text.size() - 1)) {
    if (!std::isdigit(static_cast<unsigned char>(c)) || n > 1000000) return std::nullopt;
    n = n * 10 + (c - '0');
  }
  constexpr int64_t kSecond = 1000000;
  switch (text.back()) {
    case 'y':
      return n * 365 * 86400 * kSecond;
    case 'd':
      return n * 86400 * kSecond;
    case 'h':
      return n * 3600 * kSecond;
    case 'm':
      return n * 60 * kSecond;
    case 's':
      return n * kSecond;
    default:
      return std::nullopt;
  }
}

RetentionPolicy parseRetention(std::string_view json) {
  RetentionPolicy p;
  if (json.empty()) return p;
  const config::JsonValue v = config::parseJson(json);
  if (!v.isObject())
    throw std::invalid_argument(
        "retention: write a mapping, e.g. { default: 3y, call_center: 400d }");
  for (const auto& [key, value] : v.members) {
    const std::optional<int64_t> d = value.isString() ? parseDuration(value.string) : std::nullopt;
    if (!d || *d <= 0) {
      throw std::invalid_argument("retention." + key + ": write a duration such as 3y, 400d, 12h");
    }
    if (key == "default") {
      p.default_us = *d;
    } else if (key == "dead_letters") {
      p.dead_letters_us = *d;
    } else {
      p.by_name[key] = *d;
    }
  }
  return p;
}

PurgeReport purgeExpired(Store& store, const RetentionPolicy& policy, bool dry_run, size_t max_rows,
                         int64_t now, const std::string& actor) {
  PurgeReport report;
  if (policy.empty()) return report;
  // Events: the duration of their type, else of their channel, else the default.
  std::vector<std::string> names;
  for (const auto& [name, d] : policy.by_name) names.push_back(SqlSession::textLiteral(name));
  const std::string list = names.empty() ? "''" : join(names, ", ");
  const std::string when = "coalesce(occurred_at, ingested_at)";
  std::vector<std::string> expired;
  for (const auto& [name, d] : policy.by_name) {
    const std::string lit = SqlSession::textLiteral(name);
    const std::string cutoff = std::to_string(now - d);
    expired.push_back("(type = " + lit + " AND " + when + " < " + cutoff + ")");
    expired.push_back("(channel = " + lit + " AND (type IS NULL OR type NOT IN (" + list +
                      ")) AND " + when + " < " + cutoff + ")");
  }
  if (policy.default_us > 0) {
    expired.push_back("((type IS NULL OR type NOT IN (" + list +
                      ")) AND (channel IS NULL OR channel NOT IN (" + list + ")) AND " + when +
                      " < " + std::to_string(now - policy.default_us) + ")");
  }
  const int64_t dl = policy.dead_letters_us > 0 ? policy.dead_letters_us : policy.default_us;
  const std::string events_where = expired.empty() ? "1 = 0" : "(" + join(expired, " OR ") + ")";
  const std::string limit = max_rows > 0 ? " LIMIT " + std::to_string(max_rows) : "";
  // Profiles left with no events: they go with their identities, conflicts, merges and consents.
  const std::string orphan = "NOT EXISTS (SELECT 1 FROM events e WHERE e.profile_id = profiles.id)";
  const bool clean = store.rightsTransaction(!dry_run, [&](SqlSession& q) {
    report = PurgeReport{};
    auto count = [&](const std::string& table, const std::string& where) {
      const auto r = q.query("SELECT count(*) FROM " + table + " WHERE " + where, 1);
      return r.empty() || !r[0][0] ? uint64_t{0} : static_cast<uint64_t>(std::stoull(*r[0][0]));
    };
    uint64_t events = 0;
    if (dry_run) {
      events = count("events", events_where);
      if (max_rows > 0 && events > max_rows) {
        events = max_rows;
        report.more = true;
      }
    } else {
      // The events of this round, by rowid/ctid-free key: their ids.
      events = q.exec("DELETE FROM events WHERE id IN (SELECT id FROM events WHERE " +
                      events_where + limit + ")");
      report.more = max_rows > 0 && events >= max_rows;
    }
    report.deleted.push_back({"events", events});
    const std::string dl_where = dl > 0 ? "created_at < " + std::to_string(now - dl) : "1 = 0";
    report.deleted.push_back(
        {"dead_letters", dry_run ? count("dead_letters", dl_where)
                                 : q.exec("DELETE FROM dead_letters WHERE " + dl_where)});
    // Orphans: in a dry run, the profiles that would have no event left.
    const std::string orphan_where =
        dry_run ? "NOT EXISTS (SELECT 1 FROM events e WHERE e.profile_id = profiles.id AND NOT " +
                      events_where + ")"
                : orphan;
    const std::string orphan_ids = "SELECT id FROM profiles WHERE " + orphan_where;
    const std::string orphan_text =
        "SELECT " + q.idText("id") + " FROM profiles WHERE " + orphan_where;
    struct Dependent {
      const char* table;
      std::string where;
    };
    const std::vector<Dependent> dependents = {
        {"consents", "profile_id IN (" + orphan_ids + ")"},
        {"identity_conflicts",
         "profile_id IN (" + orphan_text + ") OR other_profile IN (" + orphan_text + ")"},
        {"identities", "profile_id IN (" + orphan_ids + ")"},
        {"profile_merges", "into_profile IN (" + orphan_text + ")"},
        {"profiles", orphan_where},
    };
    for (const Dependent& d : dependents) {
      report.deleted.push_back(
          {d.table, dry_run ? count(d.table, d.where)
                            : q.exec("DELETE FROM " + std::string(d.table) + " WHERE " + d.where)});
    }
    if (!dry_run) {
      std::string details;
      {
        event::JsonObjectWriter o(details);
        std::string rows;
        appendCounts(rows, report.deleted);
        o.raw("rows", rows).raw("more", report.more ? "true" : "false");
      }
      report.audit_id = appendAudit(q, {0, now, actor, "purge", "", details});
    }
  });
  (void)clean;
  return report;
}

std::string cliActor() {
  std::string user;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr)
    user = pw->pw_name;
  if (user.empty()) {
    if (const char* env = std::getenv("USER"); env != nullptr) user = env;
  }
  if (user.empty()) user = "uid " + std::to_string(::geteuid());
  return "cli:" + user;
}

}  // namespace omniloop::store
