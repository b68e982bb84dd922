#pragma once
// The data subject's rights over the CDP store, the same on every backend that supports them
// (SQLite, PostgreSQL): erasure (Art. 17), access and portability export (Art. 15/20),
// retention purge, and the audit log that records each of them.
//
// The logic is written once, over SqlSession: a backend runs it inside one transaction that
// holds the store's writer lock (no batch write interleaves; see Store::rightsTransaction) and
// supplies the few dialect differences (how ids and pseudonyms are stored, JSON as text).
// Which tables hold rows about a subject is listed in ONE place: subjectTables() in
// subject_rights.cpp.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "privacy/keyed_hasher.h"
#include "privacy/normalize.h"

namespace omniloop::store {

class Store;

// SQL inside a rights transaction. Literals are inlined (values are validated ids, pseudonyms
// and normalised identifiers, quoted by textLiteral); statements run once, never per event.
class SqlSession {
 public:
  using Row = std::vector<std::optional<std::string>>;
  virtual ~SqlSession() = default;
  // A statement; the rows it changed.
  virtual uint64_t exec(const std::string& sql) = 0;
  // A query of `columns` columns, each as text (nullopt for NULL).
  virtual std::vector<Row> query(const std::string& sql, int columns) = 0;
  // A profile/event id or a pseudonym as its key columns store it (SQLite: BLOB).
  virtual std::string idLiteral(std::string_view id) const = 0;
  virtual std::string hashLiteral(std::string_view hash) const = 0;
  // Expressions giving the text form of a stored id / pseudonym column, and of a JSON column.
  virtual std::string idText(std::string_view column) const = 0;
  virtual std::string hashText(std::string_view column) const = 0;
  virtual std::string jsonText(std::string_view column) const = 0;
  // `column` contains `needle` (a plain substring test, case-insensitive for ASCII).
  virtual std::string contains(std::string_view column, std::string_view needle) const = 0;
  // The text expression `haystack` contains the text expression `needle` (case-sensitive).
  virtual std::string containsExpr(std::string_view haystack, std::string_view needle) const = 0;
  // 'text' with quotes doubled.
  static std::string textLiteral(std::string_view text);
};

// Keys the rights functions need; the same keys the store ingests with.
struct RightsKeys {
  const privacy::KeyedHasher* hasher = nullptr;           // pseudonymisation key
  const privacy::KeyedHasher* suppression_key = nullptr;  // suppression derivatives
  privacy::NormalizeOptions normalize;
};

// An identity as a requester gives it: "email:jane@example.com".
struct SubjectIdentity {
  std::string type;
  std::string value;  // clear (normalised before use) or a pseudonym "h1:..."
};

// Parses "TYPE:VALUE" and checks it: a type of the store's identity configuration (`known`),
// a value that normalises (a malformed email or phone is refused). Throws std::invalid_argument
// with a message saying what to write.
SubjectIdentity parseSubjectIdentity(std::string_view text, const std::vector<std::string>& known,
                                     const privacy::NormalizeOptions& normalize);

struct TableCount {
  std::string table;
  uint64_t rows = 0;
};

struct EraseRequest {
  std::vector<SubjectIdentity> identities;
  std::string reason;  // required: why (the request reference); no personal data please
  std::string actor;   // "cli:<os user>" or "api:token:<token id>"
};

struct EraseReport {
  bool held = false;                // any row about the subject existed
  std::vector<TableCount> deleted;  // per table, in erase order
  size_t profiles = 0;              // profiles removed (incl. merged ones)
  size_t suppressions = 0;          // suppression entries written (new or already present)
  int64_t audit_id = 0;
  bool storage_clean = true;  // SQLite: the WAL was checkpointed and truncated
};

// Erases the subject everywhere (see docs/privacy.md, "Rights of the data subject"). Throws
// StoreError (nothing changed) or std::invalid_argument (bad request, nothing changed).
EraseReport eraseSubject(Store& store, const RightsKeys& keys, const EraseRequest& request);

// The access/portability document (JSON) for the subject: every table's rows about it, the
// audit entries about it, and what is pseudonymised or masked and why. Writes an audit entry.
std::string exportSubject(Store& store, const RightsKeys& keys,
                          const std::vector<SubjectIdentity>& identities, const std::string& actor);

// Retention (omniloop.yaml `retention:`): how long rows are kept.
struct RetentionPolicy {
  int64_t default_us = 0;                  // 0: keep forever
  std::map<std::string, int64_t> by_name;  // channel or event type -> duration (µs)
  int64_t dead_letters_us = 0;             // 0: the default
  bool empty() const { return default_us == 0 && by_name.empty() && dead_letters_us == 0; }
};
// Parses the `retention:` section as JSON ({"default":"3y","call_center":"400d",...}).
// Durations: <n>y (365 d), <n>d, <n>h, <n>m (minutes), <n>s. Throws std::invalid_argument
// naming the key.
RetentionPolicy parseRetention(std::string_view json);
// "400d" -> microseconds; nullopt when malformed.
std::optional<int64_t> parseDuration(std::string_view text);

struct PurgeReport {
  std::vector<TableCount> deleted;  // (or, dry run, would be deleted)
  bool more = false;                // the round hit max_rows: more is due
  int64_t audit_id = 0;
};
// Deletes what the policy says has expired (events by occurred_at, else ingested_at; dead
// letters by created_at), then profiles left without events and identities, at most
// `max_rows` events per call (0: no bound). A dry run counts the same rows and changes
// nothing (no audit entry). `now` in µs.
PurgeReport purgeExpired(Store& store, const RetentionPolicy& policy, bool dry_run, size_t max_rows,
                         int64_t now, const std::string& actor);

struct AuditEntry {
  int64_t id = 0;
  int64_t at = 0;  // µs UTC
  std::string actor, action, subject;
  std::string details;  // JSON object
};
// Entries at or after `since` (µs), oldest first.
std::vector<AuditEntry> listAudit(Store& store, int64_t since);
// Writes one entry (for detokenisation, key rotation and the like). details: a JSON object
// without clear personal values. Returns its id.
int64_t appendAudit(Store& store, const AuditEntry& entry);
int64_t appendAudit(SqlSession& session, const AuditEntry& entry);

// The actor of CLI calls: "cli:<OS user>".
std::string cliActor();

}  // namespace omniloop::store
