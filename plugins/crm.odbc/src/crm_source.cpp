#include "crm_source.h"

#include "omniloop/redact.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace omniloop::crm {

namespace {

constexpr const char* kNoTime = "0001-01-01 00:00:00";  // cursor start; rows without a time

// A SQL string literal ('' doubles a quote): how cursor values reach the query.
std::string sqlQuote(std::string_view v) {
  std::string out = "'";
  for (char c : v) {
    out += c;
    if (c == '\'') out += '\'';
  }
  return out + "'";
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool truthy(const Cell& c) {
  if (!c) return false;
  const std::string v = lower(*c);
  return v == "1" || v == "t" || v == "true" || v == "y" || v == "yes" || v == "on";
}

void replaceAll(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// "YYYY-MM-DD HH:MM:SS[.ffffff]" (or with a T), taken as UTC as SuiteCRM stores it.
std::optional<int64_t> parseTime(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  char sep = 0;
  int used = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &se, &used) <
          7 ||
      (sep != ' ' && sep != 'T') || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
      se > 60) {
    if (std::sscanf(s.c_str(), "%4d-%2d-%2d", &y, &mo, &d) != 3 || s.size() != 10) {
      return std::nullopt;
    }
    h = mi = se = 0;
    used = 10;
  }
  int64_t micros = 0;
  if (static_cast<size_t>(used) < s.size() && s[static_cast<size_t>(used)] == '.') {
    int64_t scale = 100000;
    for (size_t i = static_cast<size_t>(used) + 1;
         i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, scale /= 10) {
      micros += (s[i] - '0') * scale;
    }
  }
  const int64_t secs =
      daysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
      mi * 60 + se;
  return secs * 1000000 + micros;
}

// The built-in SuiteCRM/SugarCRM 6.5-7 mapping.
const std::string kMtime = "COALESCE(t.date_modified, '0001-01-01 00:00:00')";
const std::string kId = "COALESCE(t.id, '')";

std::string suiteSql(const std::string& table, const std::string& columns) {
  return "SELECT " + columns + ", " + kMtime + " AS ol_mtime, " + kId + " AS ol_id FROM " + table +
         " t WHERE " + kMtime + " > :cursor_ts OR (" + kMtime + " = :cursor_ts AND " + kId +
         " > :cursor_id) ORDER BY ol_mtime, ol_id LIMIT :batch_rows";
}

const char* const kPersonCols =
    "t.deleted, t.salutation, t.first_name, t.last_name, t.title, t.department, t.birthdate, "
    "t.do_not_call, t.phone_mobile, t.phone_work, t.phone_home, t.primary_address_street, "
    "t.primary_address_city, t.primary_address_state, t.primary_address_postalcode, "
    "t.primary_address_country, t.lead_source, t.date_entered";

std::vector<ColumnMap> personMap() {
  return {{"salutation", "salutation"},
          {"first_name", "first_name"},
          {"last_name", "last_name"},
          {"title", "title"},
          {"department", "department"},
          {"birthdate", "birthdate"},
          {"primary_address_street", "address.street"},
          {"primary_address_city", "address.city"},
          {"primary_address_state", "address.state"},
          {"primary_address_postalcode", "address.postalcode"},
          {"primary_address_country", "address.country"},
          {"lead_source", "lead_source"},
          {"date_entered", "created_at"},
          {"phone_mobile", "$identities.phone"},
          {"phone_work", "$identities.phone"},
          {"phone_home", "$identities.phone"}};
}

std::vector<Feed> suiteFeeds() {
  std::vector<Feed> feeds(3);
  feeds[0].name = "contacts";
  feeds[0].entity = "contact";
  feeds[0].module = "Contacts";
  feeds[0].sql = suiteSql("contacts", std::string("t.id, ") + kPersonCols);
  feeds[0].columns = personMap();
  feeds[0].columns.push_back({"id", "$identities.crm_id"});
  feeds[1].name = "leads";
  feeds[1].entity = "lead";
  feeds[1].module = "Leads";
  feeds[1].sql =
      suiteSql("leads", std::string("t.id, ") + kPersonCols +
                            ", t.status, t.account_name, t.converted, t.contact_id, t.account_id");
  feeds[1].columns = personMap();
  feeds[1].columns.push_back({"status", "status"});
  feeds[1].columns.push_back({"account_name", "account_name"});
  feeds[1].columns.push_back({"account_id", "account_id"});
  // A converted lead names its contact: the same person, the same profile.
  feeds[1].columns.push_back({"contact_id", "$identities.crm_id"});
  feeds[2].name = "accounts";
  feeds[2].entity = "account";
  feeds[2].sql = suiteSql("accounts",
                          "t.id, t.deleted, t.name, t.account_type, t.industry, "
                          "t.billing_address_city, t.billing_address_country, t.website, "
                          "t.date_entered");
  feeds[2].columns = {{"name", "name"},
                      {"account_type", "account_type"},
                      {"industry", "industry"},
                      {"billing_address_city", "billing_address.city"},
                      {"billing_address_country", "billing_address.country"},
                      {"website", "website"},
                      {"date_entered", "created_at"}};
  for (Feed& f : feeds) {
    f.id_column = "ol_id";
    f.modified_column = "ol_mtime";
    f.deleted_column = "deleted";
  }
  return feeds;
}

std::string readSecretFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw sdk::Error("crm.odbc: cannot read password_file '" + path +
                     "' (check the path and that omniloop may read it)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

CrmSource::CrmSource(const sdk::Config& config)
    : schema_(config.str("schema", "suitecrm")),
      channel_(config.str("channel", "crm")),
      batch_rows_(config.integer("batch_rows", 500)),
      poll_interval_(static_cast<int64_t>(config.number("poll_interval", 30.0) * 1000.0)) {
  std::string conn = config.str("connection");
  if (conn.empty()) throw sdk::Error("crm.odbc: option 'connection' must not be empty");
  if (conn.find('=') == std::string::npos) conn = "DSN=" + conn;
  if (config.has("password_file") && config.has("password_env")) {
    throw sdk::Error("crm.odbc: give either 'password_file' or 'password_env', not both");
  }
  if (config.has("password_file")) {
    secret_ = readSecretFile(config.str("password_file"));
  } else if (config.has("password_env")) {
    const std::string var = config.str("password_env");
    const char* v = std::getenv(var.c_str());
    if (v == nullptr) {
      throw sdk::Error("crm.odbc: environment variable '" + var +
                       "' (option 'password_env') is not set");
    }
    secret_ = v;
  }
  if (!secret_.empty()) {
    std::string quoted = "{";
    for (char c : secret_) {
      quoted += c;
      if (c == '}') quoted += '}';
    }
    quoted += "}";
    if (conn.find("${password}") != std::string::npos) {
      replaceAll(conn, "${password}", quoted);
    } else {
      conn += (conn.back() == ';' ? "PWD=" : ";PWD=") + quoted;
    }
  }
  connection_ = conn;
  if (batch_rows_ < 1) throw sdk::Error("crm.odbc: option 'batch_rows' must be at least 1");
  if (poll_interval_.count() < 0) {
    throw sdk::Error("crm.odbc: option 'poll_interval' must not be negative");
  }
  const sdk::Config consent = config.object("consent_map");
  dnc_purposes_ = consent.strings("do_not_call");
  optout_purposes_ = consent.strings("email_opt_out");

  if (schema_ == "suitecrm") {
    feeds_ = suiteFeeds();
  } else if (schema_ == "generic") {
    Feed f;
    f.name = config.str("table", "query");
    f.entity = config.str("entity", "record");
    f.sql = config.str("query", "");
    if (f.sql.find(":cursor_ts") == std::string::npos ||
        f.sql.find(":cursor_id") == std::string::npos) {
      throw sdk::Error(
          "crm.odbc: schema 'generic' needs option 'query' with the cursor placeholders, e.g. "
          "... WHERE (date_modified > :cursor_ts) OR (date_modified = :cursor_ts AND id > "
          ":cursor_id) ORDER BY date_modified, id LIMIT :batch_rows");
    }
    f.id_column = lower(config.str("id_column", "id"));
    f.modified_column = lower(config.str("modified_column", "date_modified"));
    f.deleted_column = lower(config.str("deleted_column", ""));
    f.ts = config.str("start_ts", kNoTime);
    const sdk::Config cols = config.object("columns");
    for (const std::string& k : cols.keys()) f.columns.push_back({lower(k), cols.str(k)});
    feeds_.push_back(std::move(f));
  } else {
    throw sdk::Error("crm.odbc: option 'schema' must be 'suitecrm' or 'generic', not '" + schema_ +
                     "'");
  }
}

// PWD=... and Password=... values (plain or {braced}) and the secret itself become [secret]
// (omniloop's one redaction, omniloop/redact.hpp).
std::string CrmSource::redact(std::string text) const {
  return sdk::redactSecrets(sdk::redactSecretsOf(text, connection_), {secret_});
}

void CrmSource::ensureConnected() {
  if (conn_.connected()) return;
  if (auto f = conn_.connect(connection_)) {
    const std::string msg = redact("crm.odbc: " + f->message + " [connection " + connection_ + "]");
    if (f->transient) throw sdk::Retry(msg);
    throw sdk::Error(msg + " — check 'connection' and the ODBC driver/DSN configuration");
  }
}

QueryResult CrmSource::run(const std::string& sql) {
  ensureConnected();
  QueryResult r;
  if (auto f = conn_.query(sql, r)) {
    const std::string msg = redact("crm.odbc: " + f->message);
    if (f->transient) {
      conn_.disconnect();  // reconnect at the next try, then resume from the cursor
      throw sdk::Retry(msg);
    }
    // A statement error on a link that died (a terminated session, a SQLite file gone) is not
    // always reported as such: with a fresh connection, try once more. If that cannot be made,
    // the database is away (retry later); if the statement fails again, it is the statement.
    conn_.disconnect();
    if (auto g = conn_.connect(connection_)) {
      const std::string again = redact("; reconnecting: " + g->message);
      if (g->transient) throw sdk::Retry(msg + again);
      throw sdk::Error(msg + again);
    }
    if (auto g = conn_.query(sql, r)) {
      const std::string msg2 = redact("crm.odbc: " + g->message);
      conn_.disconnect();
      if (g->transient) throw sdk::Retry(msg2);
      throw sdk::Error(msg2 + " — check the tables and columns the query needs");
    }
  }
  return r;
}

std::string CrmSource::cursorText() const {
  std::string c = "{\"v\":1,\"feeds\":{";
  for (size_t i = 0; i < feeds_.size(); ++i) {
    if (i) c += ',';
    sdk::appendJsonString(c, feeds_[i].name);
    c += ":{\"ts\":";
    sdk::appendJsonString(c, feeds_[i].ts);
    c += ",\"id\":";
    sdk::appendJsonString(c, feeds_[i].id);
    c += '}';
  }
  return c + "}}";
}

void CrmSource::resume(std::string_view cursor) {
  if (cursor.empty()) return;
  sdk::JsonValue c;
  try {
    c = sdk::JsonValue::parse(cursor);
  } catch (const sdk::Error&) {
    throw sdk::Error(
        "crm.odbc: the checkpoint cursor was not written by crm.odbc; reset the pipeline's "
        "checkpoint");
  }
  const sdk::JsonValue* feeds = c.member("feeds");
  if (feeds == nullptr) return;
  for (Feed& f : feeds_) {
    const sdk::JsonValue* one = feeds->member(f.name);
    if (one == nullptr) continue;
    if (const auto* ts = one->member("ts"); ts && ts->isString()) f.ts = ts->text();
    if (const auto* id = one->member("id"); id && id->isString()) f.id = id->text();
  }
}

void CrmSource::loadEmails(const Feed& feed, const QueryResult& page) {
  emails_.clear();
  const int idc = page.column(feed.id_column);
  std::string in;
  for (const Row& row : page.rows) {
    if (!row[static_cast<size_t>(idc)] || row[static_cast<size_t>(idc)]->empty()) continue;
    if (!in.empty()) in += ',';
    in += sqlQuote(*row[static_cast<size_t>(idc)]);
  }
  if (in.empty()) return;
  const QueryResult r = run(
      "SELECT r.bean_id, e.email_address, e.opt_out, e.invalid_email, r.primary_address "
      "FROM email_addr_bean_rel r JOIN email_addresses e ON e.id = r.email_address_id "
      "WHERE COALESCE(r.deleted, 0) = 0 AND COALESCE(e.deleted, 0) = 0 AND r.bean_module = " +
      sqlQuote(feed.module) + " AND r.bean_id IN (" + in +
      ") ORDER BY r.bean_id, COALESCE(r.primary_address, 0) DESC, r.date_created, e.email_address");
  for (const Row& row : r.rows) {
    if (!row[0] || !row[1] || row[1]->empty()) continue;
    emails_[*row[0]].push_back(Email{*row[1], truthy(row[2]), truthy(row[3])});
  }
}

void CrmSource::loadAccounts(const QueryResult& page, int idc) {
  accounts_.clear();
  std::string in;
  for (const Row& row : page.rows) {
    if (!row[static_cast<size_t>(idc)] || row[static_cast<size_t>(idc)]->empty()) continue;
    if (!in.empty()) in += ',';
    in += sqlQuote(*row[static_cast<size_t>(idc)]);
  }
  if (in.empty()) return;
  const QueryResult r =
      run("SELECT contact_id, account_id FROM accounts_contacts WHERE COALESCE(deleted, 0) = 0 AND "
          "contact_id IN (" +
          in + ") ORDER BY contact_id, account_id");
  for (const Row& row : r.rows) {
    if (row[0] && row[1]) accounts_[*row[0]].push_back(*row[1]);
  }
}

bool CrmSource::emitRows(sdk::BatchWriter& out, Feed& feed, const QueryResult& page) {
  const int idc = page.column(feed.id_column);
  const int mtc = page.column(feed.modified_column);
  const int delc = feed.deleted_column.empty() ? -1 : page.column(feed.deleted_column);
  std::vector<std::pair<int, const ColumnMap*>> mapped;
  for (const ColumnMap& m : feed.columns) {
    const int at = page.column(m.column);
    if (at < 0) {
      throw sdk::Error("crm.odbc: " + feed.name + ": the query returns no column '" + m.column +
                       "' (named in the column mapping); add it to the SELECT list");
    }
    mapped.emplace_back(at, &m);
  }
  for (const Row& row : page.rows) {
    const std::string ts = row[static_cast<size_t>(mtc)].value_or(kNoTime);
    const Cell& idcell = row[static_cast<size_t>(idc)];
    const std::string id = idcell.value_or("");
    const size_t row_start = out.appended();
    sdk::EventBuilder ev = out.append();
    if (!ev) return false;
    if (id.empty()) {
      std::string raw = "{\"table\":";
      sdk::appendJsonString(raw, feed.name);
      raw += ",\"" + feed.modified_column + "\":";
      sdk::appendJsonString(raw, ts);
      raw += '}';
      ev.key(feed.name + ":null-id@" + ts)
          .deadLetter(raw, "crm.odbc: table " + feed.name + ", key " + feed.id_column +
                               " = NULL (row modified " + ts +
                               "): a row without a key cannot be followed; give it an id in the "
                               "CRM");
      feed.ts = ts;
      feed.id = "";
      continue;
    }
    const bool deleted = delc >= 0 && truthy(row[static_cast<size_t>(delc)]);
    const std::string key = feed.name + ":" + id + "@" + ts;
    std::optional<int64_t> when;
    if (ts != kNoTime) when = parseTime(ts);
    ev.key(key).channel(channel_).type(feed.entity + (deleted ? ".deleted" : ".snapshot"));
    if (when) ev.time(*when);
    ev.str("crm.table", feed.name).str("crm.id", id);
    // Identities in order (primary e-mail first). An event holds one value per identity type:
    // the first of each type goes on the snapshot, the others on <entity>.identity events that
    // link them to the same person through another identity of the row.
    std::vector<std::pair<std::string, std::string>> ids;
    if (schema_ == "suitecrm" && feed.entity == "account")
      ids.emplace_back("crm_id", "account/" + id);
    if (deleted) {
      if (schema_ == "suitecrm" && feed.entity == "contact") ids.emplace_back("crm_id", id);
    } else {
      for (const auto& [at, m] : mapped) {
        const Cell& v = row[static_cast<size_t>(at)];
        if (!v || v->empty()) continue;
        const std::string& target = m->target;
        if (target.rfind("$identities.", 0) == 0) {
          ids.emplace_back(target.substr(12), *v);
        } else if (target.rfind("$consent.", 0) == 0) {
          ev.consent(target.substr(9), truthy(v) ? "granted" : lower(*v));
        } else {
          ev.str(target, *v);
        }
      }
    }
    if (!deleted && !feed.module.empty()) {
      bool opted_out = false;
      int64_t valid = 0;
      auto it = emails_.find(id);
      if (it != emails_.end()) {
        for (const Email& e : it->second) {
          opted_out = opted_out || e.opt_out;
          if (e.invalid) {
            host().counter("invalid_emails");
            continue;
          }
          ids.emplace_back("email", e.address);
          ++valid;
        }
      }
      ev.i64("emails", valid);
      if (opted_out) {
        for (const std::string& p : optout_purposes_) ev.consent(p, sdk::Consent::Denied);
      }
      ev.boolean("email_opt_out", opted_out);
    }
    if (!deleted && schema_ == "suitecrm" && feed.entity != "account") {
      const int dnc = page.column("do_not_call");
      const bool no_calls = dnc >= 0 && truthy(row[static_cast<size_t>(dnc)]);
      ev.boolean("do_not_call", no_calls);
      if (no_calls) {
        for (const std::string& p : dnc_purposes_) ev.consent(p, sdk::Consent::Denied);
      }
    }
    if (!deleted && feed.name == "contacts" && schema_ == "suitecrm") {
      auto it = accounts_.find(id);
      scratch_ = "[";
      if (it != accounts_.end()) {
        for (size_t i = 0; i < it->second.size(); ++i) {
          if (i) scratch_ += ',';
          sdk::appendJsonString(scratch_, it->second[i]);
        }
      }
      scratch_ += ']';
      ev.json("account_ids", scratch_);
    }
    std::vector<std::string> seen;
    std::vector<size_t> extras;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (std::find(seen.begin(), seen.end(), ids[i].first) != seen.end()) {
        extras.push_back(i);
        continue;
      }
      seen.push_back(ids[i].first);
      ev.identity(ids[i].first, ids[i].second);
    }
    for (size_t n = 0; n < extras.size(); ++n) {
      const auto& [type, value] = ids[extras[n]];
      // The link: the row's crm_id, else its first identity of another type.
      const std::pair<std::string, std::string>* link = nullptr;
      for (const auto& candidate : ids) {
        if (candidate.first == type) continue;
        if (candidate.first == "crm_id") {
          link = &candidate;
          break;
        }
        if (link == nullptr) link = &candidate;
      }
      if (link == nullptr) {
        host().counter("unlinked_identities");
        continue;
      }
      sdk::EventBuilder x = out.append();
      if (!x) {
        while (out.appended() > row_start) out.discardLast();
        return false;
      }
      x.key(key + "#" + type + std::to_string(n + 1))
          .channel(channel_)
          .type(feed.entity + ".identity")
          .identity(link->first, link->second)
          .identity(type, value)
          .str("crm.table", feed.name)
          .str("crm.id", id);
      if (when) x.time(*when);
    }
    feed.ts = ts;
    feed.id = id;
  }
  return true;
}

ol_status CrmSource::read(sdk::BatchWriter& out, size_t max) {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_poll_) {
    out.cursor(cursorText());
    return OL_IDLE;
  }
  for (Feed& feed : feeds_) {
    const size_t room = max > out.appended() ? max - out.appended() : 0;
    if (room == 0) break;
    const int64_t limit = std::min<int64_t>(batch_rows_, static_cast<int64_t>(room));
    std::string sql = feed.sql;
    replaceAll(sql, ":cursor_ts", sqlQuote(feed.ts));
    replaceAll(sql, ":cursor_id", sqlQuote(feed.id));
    replaceAll(sql, ":batch_rows", std::to_string(limit));
    const QueryResult page = run(sql);
    if (page.rows.empty()) continue;
    if (page.column(feed.id_column) < 0 || page.column(feed.modified_column) < 0) {
      throw sdk::Error("crm.odbc: " + feed.name + ": the query must return the id column '" +
                       feed.id_column + "' and the modification column '" + feed.modified_column +
                       "' (options id_column, modified_column)");
    }
    if (!feed.module.empty()) loadEmails(feed, page);
    if (feed.name == "contacts" && schema_ == "suitecrm") {
      loadAccounts(page, page.column(feed.id_column));
    }
    emitRows(out, feed, page);
    out.cursor(cursorText());
    return OL_OK;
  }
  // Every feed is read up to now: let the database be until the next poll.
  conn_.disconnect();
  next_poll_ = now + poll_interval_;
  out.cursor(cursorText());
  return OL_IDLE;
}

}  // namespace omniloop::crm
