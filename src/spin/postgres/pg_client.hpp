// PostgreSQL connections over libpq for the outbound postgres capability: a pool of idle
// connections per address, shared by the whole app, and the statements a guest runs on
// one connection. Parameters go to the server as text (or bytea as binary) with the type
// the guest's value names, and results come back as text, decoded by the bindings.
//
// Every exchange with the server uses libpq's asynchronous interface on a non-blocking
// connection and waits for its socket through the calling guest's Suspender
// (base/socket_wait.hpp): a guest waiting on the database parks its fiber and holds no
// thread. A null Suspender waits in poll(2) (set-up, tests without fibers).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/suspender.hpp"

typedef struct pg_conn PGconn;

namespace gyre::spin::postgres {

// One statement parameter: its type (0 lets the server infer it), and its value as text,
// or as raw bytes when `binary`; absent for NULL.
struct PgParam {
  uint32_t oid = 0;
  std::optional<std::string> data;
  bool binary = false;
};

struct PgColumn {
  std::string name;
  uint32_t oid = 0;
  std::string type_name;  // pg_type.typname
};

// A query's answer, every value in PostgreSQL's text form (bytea as "\x..." hex).
struct PgRows {
  std::vector<PgColumn> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
};

// The server's report of a failed statement (spin:postgres@4 db-error).
struct PgDbError {
  std::string as_text;
  std::string severity;
  std::string code;
  std::string message;
  std::optional<std::string> detail;
  std::vector<std::pair<std::string, std::string>> extras;
};

struct PgError {
  enum class Kind { kConnectionFailed, kQueryFailed, kOther };
  Kind kind = Kind::kOther;
  std::string message;
  std::optional<PgDbError> db_error;  // kQueryFailed from the server
};

// Where to connect: a libpq connection string or URI, and the file of a root
// certificate to trust beside the system's (a connection-builder's set-ca-root).
struct PgTarget {
  std::string address;
  std::string root_ca_file;
  // The pool's key: connections to one address with different roots are not shared.
  std::string key() const { return root_ca_file.empty() ? address : address + '\n' + root_ca_file; }
};

// Idle connections by target, for every component of one app.
class PgPool : public std::enable_shared_from_this<PgPool> {
 public:
  ~PgPool();
  // An idle connection to `target`, or a new one, its waits suspending `suspender`.
  //
  // A new connection has the connect_timeout its address gives (at least 2 s, none when
  // zero or less), or 10 s when it gives none: libpq's own limit does not apply to an
  // asynchronous connect, and a guest should not wait minutes on an address that drops
  // its packets. As libpq's, the limit applies to each server address tried in turn; but
  // when it passes the attempt ends, where libpq would go on to the next host. (libpq
  // still resolves a host name inside PQconnectPoll, holding the thread meanwhile.)
  Result<PGconn*, PgError> acquire(const PgTarget& target, Suspender* suspender);
  // Takes back a connection (acquired for the target whose key is `key`) that is still
  // healthy and outside a transaction, and closes any other: it never waits on the
  // server (a connection left in a transaction is closed, not rolled back).
  void release(const std::string& key, PGconn* connection);

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<PGconn*>> idle_;
};

// A guest's open connection; back to the pool when the guest drops it.
class PgConnection {
 public:
  PgConnection(std::shared_ptr<PgPool> pool, std::string key, PGconn* connection);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // A statement's rows, or count of rows changed; waits for the server suspend
  // `suspender`, the calling guest's.
  Result<PgRows, PgError> query(std::string_view statement, const std::vector<PgParam>& params,
                                Suspender* suspender);
  Result<uint64_t, PgError> execute(std::string_view statement, const std::vector<PgParam>& params,
                                    Suspender* suspender);

 private:
  // pg_type's name for `oid` (its number when the server does not say); an error only when
  // the guest must stop.
  Result<std::string, PgError> type_name(uint32_t oid, Suspender* suspender);

  std::shared_ptr<PgPool> pool_;
  std::string key_;  // the pool's
  PGconn* connection_;
  std::map<uint32_t, std::string> type_names_;
};

// The TCP hosts of a libpq connection string or URI (and its `hostaddr`s), each "host" or
// "host:port" as Spin checks them; an error when the string does not parse, names no host
// (libpq would fall back to a unix socket) or names a unix socket.
Result<std::vector<std::string>, std::string> connection_hosts(const std::string& address);

// The file holding PEM `certificate` (one or more certificates), written once under the
// temporary folder and named by its digest; an error when the text holds none.
Result<std::filesystem::path, std::string> root_ca_file(const std::string& certificate);

}  // namespace gyre::spin::postgres
