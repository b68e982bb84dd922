#pragma once
// Source `crm.odbc`: contacts, leads and accounts of a CRM database read through unixODBC,
// incrementally by (modification time, id).
//
// Cursor (JSON): per table, the (modification time, id) of the last row appended. The next
// query asks for rows after it in that order (`mtime > ts OR (mtime = ts AND id > id)`), so rows
// modified in the same second are neither lost nor repeated, and a row modified again later
// comes again (its event key holds its modification time).
#include <omniloop/plugin.hpp>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "odbc_conn.h"

namespace omniloop::crm {

namespace sdk = omniloop::sdk;

// One mapped column: its SQL expression and where its value goes.
struct ColumnMap {
  std::string column;  // result column name (lower case)
  std::string target;  // attribute path, "$identities.<type>" or "$consent.<purpose>"
};

// One table (suitecrm) or the user's query (generic), read by its own cursor.
struct Feed {
  std::string name;    // "contacts", "leads", "accounts" or the generic feed's name
  std::string entity;  // "contact", "lead", "account": event types <entity>.snapshot/.deleted
  std::string module;  // SuiteCRM bean_module for e-mail addresses ("" = none)
  std::string sql;     // with :cursor_ts, :cursor_id and :batch_rows placeholders
  std::string id_column = "id";
  std::string modified_column = "date_modified";
  std::string deleted_column;  // "" = none
  std::vector<ColumnMap> columns;
  std::string ts = "0001-01-01 00:00:00";  // cursor
  std::string id;
};

class CrmSource : public sdk::SourceBase {
 public:
  explicit CrmSource(const sdk::Config& config);

  void resume(std::string_view cursor) override;
  ol_status read(sdk::BatchWriter& out, size_t max) override;

 private:
  void ensureConnected();
  QueryResult run(const std::string& sql);  // throws Retry / Error with a redacted message
  std::string redact(std::string text) const;
  std::string cursorText() const;
  // Appends the rows of one fetched page; false when the batch filled up.
  bool emitRows(sdk::BatchWriter& out, Feed& feed, const QueryResult& page);
  void loadEmails(const Feed& feed, const QueryResult& page);
  void loadAccounts(const QueryResult& page, int id_col);

  std::string connection_;  // with the secret substituted: never shown
  std::string secret_;
  std::string schema_;
  std::string channel_;
  int64_t batch_rows_;
  std::chrono::milliseconds poll_interval_;
  std::vector<std::string> dnc_purposes_, optout_purposes_;
  std::vector<Feed> feeds_;

  OdbcConnection conn_;
  std::chrono::steady_clock::time_point next_poll_{};
  struct Email {
    std::string address;
    bool opt_out = false;
    bool invalid = false;
  };
  std::map<std::string, std::vector<Email>> emails_;          // bean id -> addresses, primary first
  std::map<std::string, std::vector<std::string>> accounts_;  // contact id -> account ids
  std::string scratch_;
};

}  // namespace omniloop::crm
