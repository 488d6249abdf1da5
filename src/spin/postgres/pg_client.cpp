#include "spin/postgres/pg_client.hpp"

#include <libpq-fe.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/sha256.hpp"
#include "base/socket_wait.hpp"

namespace gyre::spin::postgres {
namespace {

using Clock = Suspender::Clock;

constexpr size_t kMaxIdlePerAddress = 16;

// How long each server address may take to connect when the address sets no
// connect_timeout, and the least it may set (as libpq, which reads 1 as 2).
constexpr std::chrono::seconds kDefaultConnectTimeout{10};
constexpr std::chrono::seconds kLeastConnectTimeout{2};

// Settings that make the text forms the bindings decode the same on every server.
constexpr const char* kSessionSetup =
    "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; "
    "SET extra_float_digits = 3";

std::string trimmed(const char* text) {
  std::string out = text ? text : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
    out.pop_back();
  return out;
}

std::string text_of(const char* text) {
  return text ? text : "";
}

std::string field(const PGresult* result, int code) {
  return text_of(PQresultErrorField(result, code));
}

PgError connection_failed(PGconn* connection) {
  return {PgError::Kind::kConnectionFailed, trimmed(PQerrorMessage(connection)), {}};
}

PgError query_failed(const PGresult* result, PGconn* connection) {
  PgError error{PgError::Kind::kQueryFailed, {}, std::nullopt};
  if (result == nullptr || PQresultErrorField(result, PG_DIAG_SQLSTATE) == nullptr) {
    error.message = trimmed(PQerrorMessage(connection));
    return error;
  }
  PgDbError db;
  db.as_text = trimmed(PQresultErrorMessage(result));
  db.severity = field(result, PG_DIAG_SEVERITY);
  db.code = field(result, PG_DIAG_SQLSTATE);
  db.message = field(result, PG_DIAG_MESSAGE_PRIMARY);
  if (const char* detail = PQresultErrorField(result, PG_DIAG_MESSAGE_DETAIL)) db.detail = detail;
  const std::pair<int, const char*> extras[] = {
      {PG_DIAG_MESSAGE_HINT, "hint"},
      {PG_DIAG_SCHEMA_NAME, "schema"},
      {PG_DIAG_TABLE_NAME, "table"},
      {PG_DIAG_COLUMN_NAME, "column"},
      {PG_DIAG_DATATYPE_NAME, "datatype"},
      {PG_DIAG_CONSTRAINT_NAME, "constraint"},
      {PG_DIAG_STATEMENT_POSITION, "position"},
      {PG_DIAG_CONTEXT, "where"},
  };
  for (const auto& [code, name] : extras) {
    if (const char* value = PQresultErrorField(result, code)) db.extras.emplace_back(name, value);
  }
  error.message = db.as_text;
  error.db_error = std::move(db);
  return error;
}

// Why an exchange with the server gave no result: the error the guest sees, and whether
// it is only that the guest must stop (its call traps, whatever it returns).
struct Failure {
  PgError error;
  bool stopped = false;
};

Failure stopped() {
  return {{PgError::Kind::kOther, kStoppedWhileWaiting, {}}, true};
}

// Waits until the connection's socket is ready for `ready` (SocketReady bits). Input that
// OpenSSL has read from the socket and decrypted but libpq has not yet taken (libpq reads
// less than a TLS record may hold) leaves the socket quiet, so a reader then goes on at
// once; a record only partly arrived is not such input, and its reader waits.
SocketWait wait_on(PGconn* connection, Suspender* suspender, uint8_t ready) {
  if (ready & kSocketReadable) {
    auto* tls = static_cast<SSL*>(PQsslStruct(connection, "OpenSSL"));
    if (tls != nullptr && SSL_pending(tls) > 0) return SocketWait::kReady;
  }
  return wait_socket(suspender, PQsocket(connection), ready, std::nullopt);
}

// Sends what a PQsend* call queued and collects its results, waiting on the socket
// whenever libpq would block, as libpq's documentation of non-blocking connections asks.
// Like PQexec: the last result (null when none came), stopping early at COPY or a lost
// connection, which then stay as they are (the pool closes such a connection).
Result<PGresult*, Failure> finish(PGconn* connection, Suspender* suspender) {
  auto lost = [&] { return Failure{query_failed(nullptr, connection)}; };
  // The server may answer while the statement is still going out: its input is read
  // meanwhile, or both sides could wait on full buffers.
  for (;;) {
    const int flushed = PQflush(connection);
    if (flushed == 0) break;
    if (flushed < 0) return lost();
    if (wait_on(connection, suspender, kSocketReadable | kSocketWritable) == SocketWait::kStopped)
      return stopped();
    if (PQconsumeInput(connection) == 0) return lost();
  }
  PGresult* last = nullptr;
  for (;;) {
    while (PQisBusy(connection)) {
      std::optional<Failure> failure;
      if (wait_on(connection, suspender, kSocketReadable) == SocketWait::kStopped)
        failure = stopped();
      else if (PQconsumeInput(connection) == 0)
        failure = lost();
      if (failure) {
        PQclear(last);
        return std::move(*failure);
      }
    }
    // Not busy: PQgetResult does not wait.
    PGresult* result = PQgetResult(connection);
    if (result == nullptr) break;
    PQclear(last);
    last = result;
    const ExecStatusType status = PQresultStatus(result);
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT || status == PGRES_COPY_BOTH ||
        PQstatus(connection) == CONNECTION_BAD)
      break;
  }
  return last;
}

// Runs a statement with parameters; the result, or the failure as the guest sees it.
Result<PGresult*, Failure> run(PGconn* connection, std::string_view statement,
                               const std::vector<PgParam>& params, Suspender* suspender) {
  std::vector<Oid> types;
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  for (const PgParam& p : params) {
    types.push_back(p.oid);
    values.push_back(p.data ? p.data->c_str() : nullptr);
    lengths.push_back(p.data ? static_cast<int>(p.data->size()) : 0);
    formats.push_back(p.binary ? 1 : 0);
  }
  const std::string text(statement);
  if (PQsendQueryParams(connection, text.c_str(), static_cast<int>(params.size()), types.data(),
                        values.data(), lengths.data(), formats.data(), 0) == 0)
    return Failure{query_failed(nullptr, connection)};
  auto finished = finish(connection, suspender);
  if (!finished) return std::move(finished).error();
  PGresult* result = *finished;
  const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  Failure failure{query_failed(result, connection)};
  PQclear(result);
  return failure;
}

// The time each server address may take to connect, by the connection's connect_timeout
// as libpq reads it (whole seconds; none when zero or less), or the default; an error
// when the setting is no integer, in libpq's words.
Result<std::optional<Clock::duration>, std::string> connect_timeout(PGconn* connection) {
  std::optional<std::string> given;
  if (PQconninfoOption* options = PQconninfo(connection)) {
    for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
      if (std::string_view(o->keyword) == "connect_timeout" && o->val != nullptr) given = o->val;
    }
    PQconninfoFree(options);
  }
  if (!given) return std::optional<Clock::duration>(kDefaultConnectTimeout);
  errno = 0;
  char* end = nullptr;
  const long seconds = std::strtol(given->c_str(), &end, 10);
  while (*end != '\0' && std::isspace(static_cast<unsigned char>(*end)))
    ++end;
  if (end == given->c_str() || errno != 0 || seconds != static_cast<int>(seconds) || *end != '\0')
    return "invalid integer value \"" + *given + "\" for connection option \"connect_timeout\"";
  if (seconds <= 0) return std::optional<Clock::duration>();
  return std::optional<Clock::duration>(
      std::max<Clock::duration>(kLeastConnectTimeout, std::chrono::seconds(seconds)));
}

// The failure to connect in time, in libpq's words: it has begun its report of the server
// address it was trying ("connection to server at ... failed: ") after those of the
// addresses tried before, and its blocking connect would end it so.
PgError connect_timed_out(PGconn* connection) {
  std::string message = text_of(PQerrorMessage(connection));
  if (!message.ends_with(": ")) {
    message = trimmed(message.c_str());
    if (!message.empty()) message += '\n';
    message += "connection to server at \"" + text_of(PQhost(connection)) + "\", port " +
               text_of(PQport(connection)) + " failed: ";
  }
  return {PgError::Kind::kConnectionFailed, message + "timeout expired", {}};
}

// Drives libpq's asynchronous connect to its end, each server address tried within
// `timeout` (restarted when libpq moves on to another, as its blocking connect does).
std::optional<PgError> complete_connect(PGconn* connection, Suspender* suspender,
                                        std::optional<Clock::duration> timeout) {
  std::optional<Clock::time_point> until;
  std::string trying;  // the server address being tried
  // Before the first poll, libpq's documentation says to wait as if it asked to write.
  PostgresPollingStatusType status = PGRES_POLLING_WRITING;
  for (;;) {
    if (status == PGRES_POLLING_OK) return std::nullopt;
    if (status == PGRES_POLLING_FAILED) return connection_failed(connection);
    if (status == PGRES_POLLING_READING || status == PGRES_POLLING_WRITING) {
      if (timeout) {
        std::string now_trying = text_of(PQhost(connection)) + '\n' +
                                 text_of(PQhostaddr(connection)) + '\n' +
                                 text_of(PQport(connection));
        if (now_trying != trying) {
          trying = std::move(now_trying);
          until = Clock::now() + *timeout;
        }
      }
      // libpq may open another socket for each address: asked for every wait.
      const int socket = PQsocket(connection);
      if (socket < 0) return connection_failed(connection);
      const uint8_t ready = status == PGRES_POLLING_READING ? kSocketReadable : kSocketWritable;
      switch (wait_socket(suspender, socket, ready, until)) {
        case SocketWait::kReady:
          break;
        case SocketWait::kTimedOut:
          return connect_timed_out(connection);
        case SocketWait::kStopped:
          return stopped().error;
      }
    }
    status = PQconnectPoll(connection);
  }
}

// A new connection to `target`, set up for the bindings.
Result<PGconn*, PgError> connect(const PgTarget& target, Suspender* suspender) {
  // The address expands as a connection string or URI; a root certificate is one more
  // setting after it.
  const char* keywords[] = {"dbname", target.root_ca_file.empty() ? nullptr : "sslrootcert",
                            nullptr};
  const char* values[] = {target.address.c_str(), target.root_ca_file.c_str(), nullptr};
  PGconn* c = PQconnectStartParams(keywords, values, 1);
  if (c == nullptr) return PgError{PgError::Kind::kConnectionFailed, "out of memory", {}};
  auto fail = [c](PgError error) {
    PQfinish(c);
    return error;
  };
  if (PQstatus(c) == CONNECTION_BAD) return fail(connection_failed(c));
  auto timeout = connect_timeout(c);
  if (!timeout) return fail({PgError::Kind::kConnectionFailed, timeout.error(), {}});
  if (auto failed = complete_connect(c, suspender, *timeout)) return fail(std::move(*failed));
  // From here on no libpq call waits on the socket itself: every wait is wait_on's.
  if (PQsetnonblocking(c, 1) != 0) return fail(connection_failed(c));
  if (PQsendQuery(c, kSessionSetup) == 0) return fail(connection_failed(c));
  auto setup = finish(c, suspender);
  if (!setup) {
    Failure failure = std::move(setup).error();
    return fail(failure.stopped ? std::move(failure.error) : connection_failed(c));
  }
  const bool ok = *setup && PQresultStatus(*setup) == PGRES_COMMAND_OK;
  PQclear(*setup);
  if (!ok) return fail(connection_failed(c));
  return c;
}

// Whether a connection can go back to the pool: healthy and outside a transaction.
bool reusable(PGconn* connection) {
  return PQstatus(connection) == CONNECTION_OK && PQtransactionStatus(connection) == PQTRANS_IDLE;
}

// Whether an idle connection can serve again. An idle connection hears from its server
// mostly when the server is closing it: an error, then the end of the stream, which may
// arrive apart (the error read, the end not yet there, looked like a healthy connection).
// So one with anything to read is not used again; the socket is only looked at.
bool still_usable(PGconn* connection) {
  if (PQstatus(connection) != CONNECTION_OK) return false;
  if (socket_ready_now(PQsocket(connection), kSocketReadable)) return false;
  return reusable(connection);
}

}  // namespace

PgPool::~PgPool() {
  for (auto& [address, connections] : idle_) {
    for (PGconn* c : connections)
      PQfinish(c);
  }
}

Result<PGconn*, PgError> PgPool::acquire(const PgTarget& target, Suspender* suspender) {
  for (;;) {
    PGconn* idle = nullptr;
    {
      std::lock_guard lock(mutex_);
      auto& connections = idle_[target.key()];
      if (connections.empty()) break;
      idle = connections.back();
      connections.pop_back();
    }
    if (still_usable(idle)) return idle;
    PQfinish(idle);
  }
  return connect(target, suspender);
}

void PgPool::release(const std::string& key, PGconn* connection) {
  // PQfinish only queues its goodbye on a non-blocking connection: nothing here waits.
  if (reusable(connection)) {
    std::lock_guard lock(mutex_);
    auto& idle = idle_[key];
    if (idle.size() < kMaxIdlePerAddress) {
      idle.push_back(connection);
      return;
    }
  }
  PQfinish(connection);
}

PgConnection::PgConnection(std::shared_ptr<PgPool> pool, std::string key, PGconn* connection)
    : pool_(std::move(pool)), key_(std::move(key)), connection_(connection) {}

PgConnection::~PgConnection() {
  pool_->release(key_, connection_);
}

Result<PgRows, PgError> PgConnection::query(std::string_view statement,
                                            const std::vector<PgParam>& params,
                                            Suspender* suspender) {
  auto result = run(connection_, statement, params, suspender);
  if (!result) return std::move(result).error().error;
  PGresult* r = *result;
  PgRows out;
  const int rows = PQntuples(r);
  const int columns = PQnfields(r);
  // As Spin: a query without rows reports no columns either.
  if (rows > 0) {
    for (int c = 0; c < columns; ++c) {
      const uint32_t oid = PQftype(r, c);
      out.columns.push_back(PgColumn{PQfname(r, c), oid, {}});
    }
  }
  for (int i = 0; i < rows; ++i) {
    std::vector<std::optional<std::string>> row;
    for (int c = 0; c < columns; ++c) {
      if (PQgetisnull(r, i, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(r, i, c), PQgetlength(r, i, c)));
      }
    }
    out.rows.push_back(std::move(row));
  }
  PQclear(r);
  for (PgColumn& column : out.columns) {
    auto name = type_name(column.oid, suspender);
    if (!name) return std::move(name).error();
    column.type_name = std::move(*name);
  }
  return out;
}

Result<uint64_t, PgError> PgConnection::execute(std::string_view statement,
                                                const std::vector<PgParam>& params,
                                                Suspender* suspender) {
  auto result = run(connection_, statement, params, suspender);
  if (!result) return std::move(result).error().error;
  const char* tuples = PQcmdTuples(*result);
  const uint64_t count = (tuples && *tuples) ? std::strtoull(tuples, nullptr, 10) : 0;
  PQclear(*result);
  return count;
}

Result<std::string, PgError> PgConnection::type_name(uint32_t oid, Suspender* suspender) {
  if (auto it = type_names_.find(oid); it != type_names_.end()) return it->second;
  const std::string id = std::to_string(oid);
  auto result = run(connection_, "SELECT typname FROM pg_type WHERE oid = $1::oid",
                    {PgParam{0, id, false}}, suspender);
  // A lookup the server fails leaves the type its number.
  if (!result && result.error().stopped) return std::move(result).error().error;
  std::string name = id;
  if (result) {
    if (PQntuples(*result) == 1) name = PQgetvalue(*result, 0, 0);
    PQclear(*result);
  }
  type_names_[oid] = name;
  return name;
}

Result<std::vector<std::string>, std::string> connection_hosts(const std::string& address) {
  char* message = nullptr;
  PQconninfoOption* options = PQconninfoParse(address.c_str(), &message);
  if (options == nullptr) {
    std::string error = message ? trimmed(message) : "invalid connection string";
    PQfreemem(message);
    return error;
  }
  std::string hosts_text;
  std::string ports_text;
  std::string addresses_text;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    if (std::string_view(o->keyword) == "host") hosts_text = o->val;
    if (std::string_view(o->keyword) == "port") ports_text = o->val;
    if (std::string_view(o->keyword) == "hostaddr") addresses_text = o->val;
  }
  PQconninfoFree(options);
  auto split = [](const std::string& text) {
    std::vector<std::string> parts;
    if (text.empty()) return parts;
    size_t start = 0;
    for (;;) {
      const size_t comma = text.find(',', start);
      parts.push_back(text.substr(start, comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return parts;
  };
  auto hosts = split(hosts_text);
  // libpq connects to `hostaddr` in place of `host` when both are given: check both.
  for (std::string& address : split(addresses_text))
    hosts.push_back(std::move(address));
  const auto ports = split(ports_text);
  if (hosts.empty()) return std::string("host missing");
  std::vector<std::string> out;
  for (size_t i = 0; i < hosts.size(); ++i) {
    if (hosts[i].empty() || hosts[i][0] == '/' || hosts[i][0] == '@')
      return std::string("Unix sockets are not supported on WebAssembly");
    // As Spin: a host's own port, by position.
    std::string host = hosts[i].find(':') != std::string::npos ? "[" + hosts[i] + "]" : hosts[i];
    if (i < ports.size() && !ports[i].empty()) host += ":" + ports[i];
    out.push_back(std::move(host));
  }
  return out;
}

Result<std::filesystem::path, std::string> root_ca_file(const std::string& certificate) {
  std::unique_ptr<BIO, decltype(&BIO_free)> in(
      BIO_new_mem_buf(certificate.data(), static_cast<int>(certificate.size())), BIO_free);
  X509* parsed = in ? PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr) : nullptr;
  if (parsed == nullptr) return std::string("no PEM certificate found");
  X509_free(parsed);
  namespace fs = std::filesystem;
  const fs::path file =
      fs::temp_directory_path() / ("gyre-pg-root-" + Sha256().update(certificate).hex() + ".pem");
  std::error_code error;
  if (!fs::exists(file, error)) {
    // Written aside and renamed, so a concurrent reader never sees half of it.
    const fs::path part = file.string() + "." + std::to_string(::getpid()) + ".part";
    std::ofstream(part, std::ios::binary) << certificate;
    fs::rename(part, file, error);
    if (error) return "cannot write the root certificate: " + error.message();
  }
  return file;
}

}  // namespace gyre::spin::postgres
