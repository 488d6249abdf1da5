#include "spin/postgres/pg_client.hpp"

#include <libpq-fe.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/sha256.hpp"

namespace gyre::spin::postgres {
namespace {

constexpr size_t kMaxIdlePerAddress = 16;

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

std::string field(const PGresult* result, int code) {
  const char* value = PQresultErrorField(result, code);
  return value ? value : "";
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

// Runs a statement with parameters; the result, or the failure as the guest sees it.
Result<PGresult*, PgError> run(PGconn* connection, std::string_view statement,
                               const std::vector<PgParam>& params) {
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
  PGresult* result = PQexecParams(connection, text.c_str(), static_cast<int>(params.size()),
                                  types.data(), values.data(), lengths.data(), formats.data(), 0);
  const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  PgError error = query_failed(result, connection);
  PQclear(result);
  return error;
}

}  // namespace

PgPool::~PgPool() {
  for (auto& [address, connections] : idle_) {
    for (PGconn* c : connections)
      PQfinish(c);
  }
}

Result<PGconn*, PgError> PgPool::acquire(const PgTarget& target) {
  {
    std::lock_guard lock(mutex_);
    auto& idle = idle_[target.key()];
    while (!idle.empty()) {
      PGconn* c = idle.back();
      idle.pop_back();
      if (PQstatus(c) == CONNECTION_OK) return c;
      PQfinish(c);
    }
  }
  // The address expands as a connection string or URI; a root certificate is one more
  // setting after it.
  const char* keywords[] = {"dbname", target.root_ca_file.empty() ? nullptr : "sslrootcert",
                            nullptr};
  const char* values[] = {target.address.c_str(), target.root_ca_file.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keywords, values, 1);
  if (c == nullptr) return PgError{PgError::Kind::kConnectionFailed, "out of memory", {}};
  if (PQstatus(c) != CONNECTION_OK) {
    PgError error{PgError::Kind::kConnectionFailed, trimmed(PQerrorMessage(c)), {}};
    PQfinish(c);
    return error;
  }
  PGresult* setup = PQexec(c, kSessionSetup);
  const bool ok = setup && PQresultStatus(setup) == PGRES_COMMAND_OK;
  PQclear(setup);
  if (!ok) {
    PgError error{PgError::Kind::kConnectionFailed, trimmed(PQerrorMessage(c)), {}};
    PQfinish(c);
    return error;
  }
  return c;
}

void PgPool::release(const std::string& key, PGconn* connection) {
  const bool reusable =
      PQstatus(connection) == CONNECTION_OK && PQtransactionStatus(connection) == PQTRANS_IDLE;
  if (reusable) {
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
                                            const std::vector<PgParam>& params) {
  auto result = run(connection_, statement, params);
  if (!result) return std::move(result).error();
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
  for (PgColumn& column : out.columns)
    column.type_name = type_name(column.oid);
  return out;
}

Result<uint64_t, PgError> PgConnection::execute(std::string_view statement,
                                                const std::vector<PgParam>& params) {
  auto result = run(connection_, statement, params);
  if (!result) return std::move(result).error();
  const char* tuples = PQcmdTuples(*result);
  const uint64_t count = (tuples && *tuples) ? std::strtoull(tuples, nullptr, 10) : 0;
  PQclear(*result);
  return count;
}

std::string PgConnection::type_name(uint32_t oid) {
  if (auto it = type_names_.find(oid); it != type_names_.end()) return it->second;
  const std::string id = std::to_string(oid);
  const char* values[] = {id.c_str()};
  PGresult* r = PQexecParams(connection_, "SELECT typname FROM pg_type WHERE oid = $1::oid", 1,
                             nullptr, values, nullptr, nullptr, 0);
  std::string name = id;
  if (r && PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) name = PQgetvalue(r, 0, 0);
  PQclear(r);
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
