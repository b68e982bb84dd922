#pragma once
// Thin RAII over libpq: a connection with named prepared statements (re-prepared after a
// reconnect), results, binary array parameters for bulk statements, and a pipeline that sends
// several statements in one round trip.
//
// Errors become PgError (a StoreError): retryable for serialization failures and deadlocks
// (SQLSTATE class 40), lock timeouts (55P03), too many connections / server starting or
// shutting down (53300, 57P01-57P03) and a lost connection (class 08 or no SQLSTATE with the
// connection gone). Messages carry the server's primary message and SQLSTATE only: never the
// DETAIL (which can quote row values) and never the password.
#include <libpq-fe.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/store.h"

namespace omniloop::store::pg {

class PgError : public StoreError {
 public:
  PgError(const std::string& message, std::string sqlstate, bool retryable, bool connection_lost)
      : StoreError(message, retryable), sqlstate_(std::move(sqlstate)), connection_lost_(connection_lost) {}
  const std::string& sqlstate() const { return sqlstate_; }
  bool connectionLost() const { return connection_lost_; }

 private:
  std::string sqlstate_;
  bool connection_lost_;
};

// Whether a SQLSTATE names a transient condition worth retrying the transaction for.
bool isRetryableSqlstate(std::string_view sqlstate);

class Result {
 public:
  Result() = default;
  explicit Result(PGresult* r) : r_(r) {}
  ~Result() { PQclear(r_); }
  Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  Result& operator=(Result&& o) noexcept;
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;

  int rows() const { return r_ ? PQntuples(r_) : 0; }
  // "" for NULL.
  std::string_view text(int row, int column) const {
    return {PQgetvalue(r_, row, column), static_cast<size_t>(PQgetlength(r_, row, column))};
  }
  bool isNull(int row, int column) const { return PQgetisnull(r_, row, column) != 0; }
  int64_t integer(int row, int column) const;
  // Rows an INSERT/UPDATE/DELETE touched.
  uint64_t affected() const;

 private:
  PGresult* r_ = nullptr;
};

// A statement parameter: text (NUL-terminated, format 0) or binary (format 1, with length).
struct Param {
  const char* data = nullptr;  // nullptr: SQL NULL
  int length = 0;
  int format = 0;
};
inline Param text(const std::string& s) { return {s.c_str(), 0, 0}; }

// A one-dimensional array parameter (text[] or bigint[]) in PostgreSQL's binary format: no
// quoting or escaping on either side. Text that is not valid UTF-8, and NUL bytes, become
// U+FFFD (the server would refuse them). Reused across batches: no allocation once warm.
class ArrayParam {
 public:
  enum class Type { Text, BigInt };
  void clear(Type type = Type::Text);
  void add(std::string_view text);
  // Empty text as NULL.
  void addOrNull(std::string_view text) {
    if (text.empty()) {
      addNull();
    } else {
      add(text);
    }
  }
  void add(int64_t value);
  void addNull();
  size_t size() const { return count_; }
  // The parameter; valid until the next clear()/add().
  Param param();

 private:
  void putInt32(uint32_t v);
  std::string buf_;
  Type type_ = Type::Text;
  uint32_t count_ = 0;
  bool has_null_ = false;
};

class Connection {
 public:
  // `uri`: a libpq connection URI (postgresql://user:pass@host:port/db?param=value). `shown`:
  // the same with the password replaced by [secret], used in every message.
  Connection(std::string uri, std::string shown);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects (or reconnects after a loss) and runs `session_sql` (SET ...) on every new
  // session. Throws PgError (retryable when the server is unreachable or refuses for now).
  void connect();
  bool connected() const;
  void setSessionSql(std::string sql) { session_sql_ = std::move(sql); }

  // One or more statements without parameters; the last one's result.
  Result exec(const char* sql);
  // Declares a statement; it is prepared on first use on each session.
  int declare(std::string sql);
  // Runs declared statement `id`.
  Result run(int id, std::initializer_list<Param> params);

  // Several declared statements in one round trip: send() each, then finish() returns their
  // results in order, or throws the first statement's error (the transaction is then aborted).
  void pipelineBegin();
  void send(int id, std::initializer_list<Param> params);
  std::vector<Result> pipelineFinish();
  // pipelineFinish() in two halves, so the client can work while the server runs the
  // statements: pipelineSync() ends the pipeline and sends it all; pipelineResults() waits for
  // and returns the results (or throws), as pipelineFinish() does.
  void pipelineSync();
  std::vector<Result> pipelineResults();
  // A pipeline was synced and its results are not read yet.
  bool awaiting() const { return synced_; }
  // Statements sent since pipelineBegin().
  int sent() const { return sent_; }
  // Leaves a pipeline abandoned half-way (after an exception), discarding its results.
  void pipelineAbandon();

  const std::string& shown() const { return shown_; }

 private:
  Result check(PGresult* r, std::string_view what);
  [[noreturn]] void failConnection(std::string_view what);
  std::string scrub(std::string message) const;
  void prepare(int id);

  std::string uri_;
  std::string shown_;
  std::string password_;
  std::string session_sql_;
  PGconn* conn_ = nullptr;
  uint64_t session_ = 0;  // incremented on each new session
  struct Declared {
    std::string name;
    std::string sql;
    uint64_t prepared_in = 0;  // session it was prepared in (0 = never)
  };
  std::vector<Declared> declared_;
  int sent_ = 0;         // statements sent in the open pipeline
  bool synced_ = false;  // pipelineSync() ran, pipelineResults() not yet
  std::vector<const char*> values_;
  std::vector<int> lengths_, formats_;
};

// Appends `s` to `out` with invalid UTF-8 sequences and NUL bytes replaced by U+FFFD.
void appendValidUtf8(std::string& out, std::string_view s);
// Makes JSON text acceptable to jsonb in place: "\u0000" escapes become "\ufffd".
void neutralizeJsonNul(std::string& json);

}  // namespace omniloop::store::pg
