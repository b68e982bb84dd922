#include "store/postgres_db.h"

#include <charconv>
#include <cstring>

namespace omniloop::store::pg {

namespace {

std::string_view field(const PGresult* r, int code) {
  const char* v = r ? PQresultErrorField(r, code) : nullptr;
  return v ? std::string_view(v) : std::string_view();
}

// libpq messages end with a newline and may span lines; keep the first line.
std::string firstLine(const char* message) {
  std::string m = message ? message : "";
  const size_t nl = m.find('\n');
  if (nl != std::string::npos) m.resize(nl);
  return m;
}

}  // namespace

bool isRetryableSqlstate(std::string_view s) {
  return s.starts_with("40") ||  // serialization_failure 40001, deadlock_detected 40P01
         s.starts_with("08") ||  // connection exceptions
         s == "55P03" ||         // lock_not_available (lock_timeout)
         s == "53300" ||         // too_many_connections
         s == "57P01" || s == "57P02" || s == "57P03";  // shutdown / crash / cannot connect now
}

Result& Result::operator=(Result&& o) noexcept {
  if (this != &o) {
    PQclear(r_);
    r_ = o.r_;
    o.r_ = nullptr;
  }
  return *this;
}

int64_t Result::integer(int row, int column) const {
  const std::string_view t = text(row, column);
  int64_t v = 0;
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

uint64_t Result::affected() const {
  const char* n = r_ ? PQcmdTuples(r_) : nullptr;
  if (n == nullptr || *n == '\0') return 0;
  uint64_t v = 0;
  std::from_chars(n, n + std::strlen(n), v);
  return v;
}

Connection::Connection(std::string uri, std::string shown) : uri_(std::move(uri)), shown_(std::move(shown)) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(uri_.c_str(), &err);
  if (opts == nullptr) {
    std::string why = scrub(firstLine(err));
    PQfreemem(err);
    throw StoreError("store URI " + shown_ + " is not a valid PostgreSQL connection URI (" + why +
                     "): write postgresql://user:password@host:port/database");
  }
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (std::strcmp(o->keyword, "password") == 0 && o->val != nullptr) password_ = o->val;
  }
  PQconninfoFree(opts);
}

Connection::~Connection() {
  if (conn_ != nullptr) PQfinish(conn_);
}

std::string Connection::scrub(std::string message) const {
  if (password_.size() < 2) return message;
  for (size_t at = message.find(password_); at != std::string::npos; at = message.find(password_, at)) {
    message.replace(at, password_.size(), "[secret]");
    at += 8;
  }
  return message;
}

bool Connection::connected() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

void Connection::connect() {
  if (connected()) return;
  synced_ = false;
  if (conn_ != nullptr) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
  // Fallbacks first: the URI's own parameters (expanded from dbname) override them.
  const char* keys[] = {"application_name", "connect_timeout", "dbname", nullptr};
  const char* values[] = {"omniloop", "10", uri_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keys, values, 1);
  if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
    const std::string why = scrub(firstLine(conn_ ? PQerrorMessage(conn_) : "out of memory"));
    if (conn_ != nullptr) {
      PQfinish(conn_);
      conn_ = nullptr;
    }
    // Unreachable or refusing for now: the caller may retry; a bad password will not heal,
    // but retrying it a few times with backoff is harmless and the message says what to fix.
    throw PgError("cannot connect to PostgreSQL store " + shown_ + ": " + why, "08001", true, true);
  }
  if (PQsetClientEncoding(conn_, "UTF8") != 0) {
    const std::string why = scrub(firstLine(PQerrorMessage(conn_)));
    throw PgError("PostgreSQL store " + shown_ + ": cannot use UTF8 client encoding: " + why, "", false, false);
  }
  ++session_;
  if (!session_sql_.empty()) exec(session_sql_.c_str());
}

void Connection::failConnection(std::string_view what) {
  const std::string why = scrub(firstLine(conn_ ? PQerrorMessage(conn_) : "not connected"));
  throw PgError(std::string(what) + ": connection to the PostgreSQL store lost (" + why + ")", "08006", true, true);
}

Result Connection::check(PGresult* r, std::string_view what) {
  Result result(r);
  const ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return result;
  if (r == nullptr || PQstatus(conn_) != CONNECTION_OK) failConnection(what);
  const std::string sqlstate(field(r, PG_DIAG_SQLSTATE));
  std::string primary(field(r, PG_DIAG_MESSAGE_PRIMARY));
  if (primary.empty()) primary = firstLine(PQresultErrorMessage(r));
  const bool lost = sqlstate.starts_with("08") || sqlstate.starts_with("57P");
  throw PgError(std::string(what) + ": " + scrub(primary) + " (SQLSTATE " + sqlstate + ")", sqlstate,
                isRetryableSqlstate(sqlstate), lost);
}

Result Connection::exec(const char* sql) {
  if (!connected()) failConnection("PostgreSQL store");
  return check(PQexec(conn_, sql), "PostgreSQL store");
}

int Connection::declare(std::string sql) {
  Declared d;
  d.name = "omniloop_" + std::to_string(declared_.size());
  d.sql = std::move(sql);
  declared_.push_back(std::move(d));
  return static_cast<int>(declared_.size()) - 1;
}

void Connection::prepare(int id) {
  Declared& d = declared_.at(static_cast<size_t>(id));
  if (d.prepared_in == session_) return;
  check(PQprepare(conn_, d.name.c_str(), d.sql.c_str(), 0, nullptr), "PostgreSQL store: prepare");
  d.prepared_in = session_;
}

Result Connection::run(int id, std::initializer_list<Param> params) {
  if (!connected()) failConnection("PostgreSQL store");
  prepare(id);
  values_.clear();
  lengths_.clear();
  formats_.clear();
  for (const Param& p : params) {
    values_.push_back(p.data);
    lengths_.push_back(p.length);
    formats_.push_back(p.format);
  }
  return check(PQexecPrepared(conn_, declared_[static_cast<size_t>(id)].name.c_str(), static_cast<int>(values_.size()),
                              values_.data(), lengths_.data(), formats_.data(), 0),
               "PostgreSQL store");
}

void Connection::pipelineBegin() {
  if (!connected()) failConnection("PostgreSQL store");
  // Statements must be prepared outside the pipeline: prepare every declared one now.
  for (size_t i = 0; i < declared_.size(); ++i) prepare(static_cast<int>(i));
  if (PQenterPipelineMode(conn_) != 1) failConnection("PostgreSQL store: pipeline");
  sent_ = 0;
}

void Connection::send(int id, std::initializer_list<Param> params) {
  values_.clear();
  lengths_.clear();
  formats_.clear();
  for (const Param& p : params) {
    values_.push_back(p.data);
    lengths_.push_back(p.length);
    formats_.push_back(p.format);
  }
  if (PQsendQueryPrepared(conn_, declared_.at(static_cast<size_t>(id)).name.c_str(), static_cast<int>(values_.size()),
                          values_.data(), lengths_.data(), formats_.data(), 0) != 1) {
    PQexitPipelineMode(conn_);
    failConnection("PostgreSQL store: send");
  }
  ++sent_;
}

void Connection::pipelineAbandon() {
  if (conn_ == nullptr || PQpipelineStatus(conn_) == PQ_PIPELINE_OFF) return;
  if (PQstatus(conn_) == CONNECTION_OK) {
    try {
      if (synced_) {
        pipelineResults();
      } else {
        pipelineFinish();
      }
    } catch (...) {
    }
  }
  if (PQpipelineStatus(conn_) != PQ_PIPELINE_OFF && PQexitPipelineMode(conn_) != 1) {
    PQfinish(conn_);  // cannot get out of it: start a new session next time
    conn_ = nullptr;
    synced_ = false;
  }
}

std::vector<Result> Connection::pipelineFinish() {
  pipelineSync();
  return pipelineResults();
}

void Connection::pipelineSync() {
  if (PQpipelineSync(conn_) != 1) failConnection("PostgreSQL store: pipeline sync");
  synced_ = true;
}

std::vector<Result> Connection::pipelineResults() {
  std::vector<Result> results;
  synced_ = false;
  // Every statement's result, then the sync point. The first error wins; the statements after
  // it report PIPELINE_ABORTED.
  std::string error;
  std::string sqlstate;
  bool lost = false;
  for (;;) {
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr) {  // the end of one statement's results, or a lost connection
      if (PQstatus(conn_) != CONNECTION_OK) {
        lost = true;
        break;
      }
      continue;
    }
    const ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_PIPELINE_SYNC) {
      PQclear(r);
      break;
    }
    if (st == PGRES_FATAL_ERROR && error.empty()) {
      sqlstate = field(r, PG_DIAG_SQLSTATE);
      std::string primary(field(r, PG_DIAG_MESSAGE_PRIMARY));
      if (primary.empty()) primary = firstLine(PQresultErrorMessage(r));
      error = scrub(primary);
    }
    results.emplace_back(r);
  }
  if (lost || PQexitPipelineMode(conn_) != 1) {
    if (PQstatus(conn_) != CONNECTION_OK) failConnection("PostgreSQL store");
  }
  if (!error.empty()) {
    throw PgError("PostgreSQL store: " + error + " (SQLSTATE " + sqlstate + ")", sqlstate,
                  isRetryableSqlstate(sqlstate), sqlstate.starts_with("08") || sqlstate.starts_with("57P"));
  }
  return results;
}

void appendValidUtf8(std::string& out, std::string_view s) {
  static constexpr char kReplacement[] = "\xEF\xBF\xBD";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t run = 0;  // start of the pending run of valid bytes
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c >= 0x01 && c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
    }
    bool ok = len != 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) ok = (p[i + k] & 0xC0) == 0x80;
    if (ok && len == 3) {
      ok = !(c == 0xE0 && p[i + 1] < 0xA0) && !(c == 0xED && p[i + 1] >= 0xA0);  // overlong, surrogate
    } else if (ok && len == 4) {
      ok = !(c == 0xF0 && p[i + 1] < 0x90) && !(c == 0xF4 && p[i + 1] >= 0x90);
    }
    if (ok) {
      i += len;
      continue;
    }
    out.append(s.data() + run, i - run);
    out.append(kReplacement, 3);
    ++i;
    run = i;
  }
  out.append(s.data() + run, n - run);
}

void neutralizeJsonNul(std::string& json) {
  for (size_t i = json.find('\\'); i != std::string::npos && i + 1 < json.size(); i = json.find('\\', i)) {
    if (json[i + 1] == 'u' && json.compare(i + 2, 4, "0000") == 0) json.replace(i + 2, 4, "fffd");
    i += 2;  // skip the escaped character (so "\\\\u0000" stays as written)
  }
}

namespace {

constexpr uint32_t kTextOid = 25;
constexpr uint32_t kBigIntOid = 20;
constexpr size_t kHeader = 20;  // ndim, flags, element type, length, lower bound

void putBigEndian32(char* at, uint32_t v) {
  at[0] = static_cast<char>(v >> 24);
  at[1] = static_cast<char>(v >> 16);
  at[2] = static_cast<char>(v >> 8);
  at[3] = static_cast<char>(v);
}

// True when every byte is ASCII and none is NUL (nothing to fix for the server).
bool plainAscii(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    // A high bit anywhere, or a zero byte anywhere.
    if ((w & 0x8080808080808080ULL) != 0 || ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL) != 0) {
      return false;
    }
  }
  for (; i < s.size(); ++i) {
    if (p[i] == 0 || p[i] >= 0x80) return false;
  }
  return true;
}

}  // namespace

void ArrayParam::clear(Type type) {
  type_ = type;
  count_ = 0;
  has_null_ = false;
  buf_.assign(kHeader, '\0');
}

void ArrayParam::putInt32(uint32_t v) {
  char b[4];
  putBigEndian32(b, v);
  buf_.append(b, 4);
}

void ArrayParam::add(std::string_view text) {
  ++count_;
  const size_t at = buf_.size();
  buf_.append(4, '\0');
  if (plainAscii(text)) {
    buf_.append(text);
  } else {
    appendValidUtf8(buf_, text);
  }
  putBigEndian32(buf_.data() + at, static_cast<uint32_t>(buf_.size() - at - 4));
}

void ArrayParam::add(int64_t value) {
  ++count_;
  putInt32(8);
  putInt32(static_cast<uint32_t>(static_cast<uint64_t>(value) >> 32));
  putInt32(static_cast<uint32_t>(static_cast<uint64_t>(value)));
}

void ArrayParam::addNull() {
  ++count_;
  has_null_ = true;
  putInt32(0xFFFFFFFFu);  // length -1
}

Param ArrayParam::param() {
  if (buf_.size() < kHeader) clear(type_);
  char* h = buf_.data();
  const uint32_t oid = type_ == Type::Text ? kTextOid : kBigIntOid;
  if (count_ == 0) {  // an empty array has no dimensions
    putBigEndian32(h, 0);
    putBigEndian32(h + 4, 0);
    putBigEndian32(h + 8, oid);
    return {buf_.data(), 12, 1};
  }
  putBigEndian32(h, 1);
  putBigEndian32(h + 4, has_null_ ? 1 : 0);
  putBigEndian32(h + 8, oid);
  putBigEndian32(h + 12, count_);
  putBigEndian32(h + 16, 1);
  return {buf_.data(), static_cast<int>(buf_.size()), 1};
}

}  // namespace omniloop::store::pg
