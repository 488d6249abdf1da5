#include "spin/mysql/mysql_client.hpp"

#include <mysql.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>
#include <type_traits>
#include <utility>

#include "base/socket_wait.hpp"

namespace gyre::spin::mysql {
namespace {

constexpr size_t kMaxIdlePerAddress = 16;
// The stack Connector/C runs each non-blocking call on (a coroutine of its own, without a
// guard page). Its default, 60 KiB, is tight for connecting, which resolves the host
// (getaddrinfo and its NSS modules) on that stack.
constexpr size_t kCallStackBytes = 256 * 1024;

MyError stopped_error() {
  return MyError{MyError::Kind::kOther, kStoppedWhileWaiting};
}

// The non-blocking calls on one connection. Connector/C runs each call on its own coroutine,
// which returns to us wherever the socket would block, saying what it waits for; the guest
// then waits through its Suspender (its fiber parks, no thread held), or in poll(2) without
// one, and the call goes on from there.
class Io {
 public:
  Io(MYSQL* connection, Suspender* suspender) : connection_(connection), suspender_(suspender) {}

  // Runs a call as Connector/C splits it: start(), then cont(ready) with what each wait
  // found, until the status is 0 (the call has its result).
  template <class Start, class Cont>
  void run(Start start, Cont cont) {
    int status = start();
    while (status != 0)
      status = cont(wait(status));
  }

  // run() for the shape of almost every call: FOO_start(&ret, handle, args...) and
  // FOO_cont(&ret, handle, ready); FOO's result.
  template <class R, class H, class... A>
  R call(int (*start)(R*, H*, A...), int (*cont)(R*, H*, int), H* handle,
         std::type_identity_t<A>... args) {
    R ret{};
    run([&] { return start(&ret, handle, args...); },
        [&](int ready) { return cont(&ret, handle, ready); });
    return ret;
  }

  // Whether the guest had to stop during a call: the connection is then shut down and its
  // calls failed, so it can only be closed.
  bool stopped() const { return stopped_; }

 private:
  // Waits for what `status` (MYSQL_WAIT_* bits) asks; the bits to continue the call with.
  int wait(int status) {
    constexpr int kSocketBits = MYSQL_WAIT_READ | MYSQL_WAIT_WRITE | MYSQL_WAIT_EXCEPT;
    if (!stopped_) {
      uint8_t ready = 0;
      if (status & (MYSQL_WAIT_READ | MYSQL_WAIT_EXCEPT)) ready |= kSocketReadable;
      if (status & MYSQL_WAIT_WRITE) ready |= kSocketWritable;
      std::optional<Suspender::Clock::time_point> until;
      if (status & MYSQL_WAIT_TIMEOUT) {
        until = Suspender::Clock::now() +
                std::chrono::milliseconds(mysql_get_timeout_value_ms(connection_));
      }
      switch (wait_socket(suspender_, mysql_get_socket(connection_), ready, until)) {
        case SocketWait::kReady:
          return status & kSocketBits;  // perhaps only woken: the call retries and asks again
        case SocketWait::kTimedOut:
          return MYSQL_WAIT_TIMEOUT;
        case SocketWait::kStopped:
          // The guest must give up now, but a call left suspended would keep what it holds
          // (a connecting socket, its coroutine). So the socket is shut down and every wait
          // from here on "times out": the call ends at once through Connector/C's own error
          // paths, and any I/O after that fails without waiting.
          stopped_ = true;
          ::shutdown(mysql_get_socket(connection_), SHUT_RDWR);
          break;
      }
    }
    return MYSQL_WAIT_TIMEOUT;
  }

  MYSQL* connection_;
  Suspender* suspender_;
  bool stopped_ = false;
};

// The parts of a mysql:// URL a connection needs.
struct Address {
  std::string user, password, host, database;
  unsigned port = 3306;
};

std::string percent_decoded(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const std::string hex(s.substr(i + 1, 2));
      char* end = nullptr;
      const long v = std::strtol(hex.c_str(), &end, 16);
      if (end == hex.c_str() + 2) {
        out.push_back(static_cast<char>(v));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

Result<Address, std::string> parse_address(std::string_view url) {
  constexpr std::string_view kScheme = "mysql://";
  if (!url.starts_with(kScheme)) return std::string("URL scheme must be mysql");
  std::string_view rest = url.substr(kScheme.size());
  const size_t query = rest.find('?');
  if (query != std::string_view::npos) rest = rest.substr(0, query);
  Address out;
  const size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    out.database = percent_decoded(rest.substr(slash + 1));
    rest = rest.substr(0, slash);
  }
  const size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view credentials = rest.substr(0, at);
    const size_t colon = credentials.find(':');
    out.user = percent_decoded(credentials.substr(0, colon));
    if (colon != std::string_view::npos)
      out.password = percent_decoded(credentials.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  std::string_view host = rest;
  if (host.starts_with("[")) {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return std::string("invalid IPv6 address");
    out.host = std::string(host.substr(1, close - 1));
    host = host.substr(close + 1);
    if (host.starts_with(":"))
      out.port = static_cast<unsigned>(std::stoul(std::string(host.substr(1))));
  } else {
    const size_t colon = host.find(':');
    out.host = std::string(host.substr(0, colon));
    if (colon != std::string_view::npos) {
      try {
        out.port = static_cast<unsigned>(std::stoul(std::string(host.substr(colon + 1))));
      } catch (const std::exception&) {
        return std::string("invalid port number");
      }
    }
  }
  if (out.host.empty()) return std::string("empty host");
  return out;
}

// Rust's Debug form of a string, as Spin's messages quote server errors.
std::string debug_quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

MyError statement_failed(MYSQL_STMT* stmt) {
  return MyError{MyError::Kind::kQueryFailed,
                 "Server(ServerError { code: " + std::to_string(mysql_stmt_errno(stmt)) +
                     ", message: " + debug_quoted(mysql_stmt_error(stmt)) +
                     ", state: " + debug_quoted(mysql_stmt_sqlstate(stmt)) + " })"};
}

Kind column_kind(const MYSQL_FIELD& f) {
  const bool is_unsigned = f.flags & UNSIGNED_FLAG;
  const bool binary = f.flags & BINARY_FLAG;
  switch (f.type) {
    case MYSQL_TYPE_DOUBLE:
      return Kind::kFloating64;
    case MYSQL_TYPE_FLOAT:
      return Kind::kFloating32;
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
      return is_unsigned ? Kind::kUint32 : Kind::kInt32;
    case MYSQL_TYPE_LONGLONG:
      return is_unsigned ? Kind::kUint64 : Kind::kInt64;
    case MYSQL_TYPE_SHORT:
      return is_unsigned ? Kind::kUint16 : Kind::kInt16;
    case MYSQL_TYPE_TINY:
      return is_unsigned ? Kind::kUint8 : Kind::kInt8;
    case MYSQL_TYPE_BLOB:
      return binary ? Kind::kBinary : Kind::kStr;
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
      return Kind::kBinary;
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_VAR_STRING:
      return binary ? Kind::kBinary : Kind::kStr;
    default:
      return Kind::kOther;
  }
}

bool is_integer(Kind k) {
  return k >= Kind::kInt8 && k <= Kind::kUint64;
}
bool is_unsigned(Kind k) {
  return k >= Kind::kUint8 && k <= Kind::kUint64;
}

// Frees the statement, telling the server (after reading what is left of its rows).
void close_statement(Io& io, MYSQL_STMT* stmt) {
  io.call(mysql_stmt_close_start, mysql_stmt_close_cont, stmt);
}

// The statement prepared, its parameters bound and executed.
Result<MYSQL_STMT*, MyError> run(Io& io, MYSQL* connection, std::string_view statement,
                                 const std::vector<MyValue>& params) {
  MYSQL_STMT* stmt = mysql_stmt_init(connection);
  if (stmt == nullptr) return MyError{MyError::Kind::kOther, mysql_error(connection)};
  auto fail = [&](MyError e) {
    close_statement(io, stmt);
    return e;
  };
  if (io.call(mysql_stmt_prepare_start, mysql_stmt_prepare_cont, stmt, statement.data(),
              statement.size()) != 0)
    return fail(statement_failed(stmt));
  const unsigned long required = mysql_stmt_param_count(stmt);
  if (required != params.size()) {
    return fail(MyError{MyError::Kind::kQueryFailed,
                        "Driver(StmtParamsMismatch { required: " + std::to_string(required) +
                            ", supplied: " + std::to_string(params.size()) + " })"});
  }
  std::vector<MYSQL_BIND> binds(params.size());
  std::vector<double> numbers(params.size());
  std::vector<int64_t> integers(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const MyValue& p = params[i];
    MYSQL_BIND& b = binds[i];
    std::memset(&b, 0, sizeof b);
    if (p.kind == Kind::kBoolean || is_integer(p.kind)) {
      integers[i] = is_unsigned(p.kind) ? static_cast<int64_t>(p.unsigned_integer) : p.integer;
      b.buffer_type = MYSQL_TYPE_LONGLONG;
      b.buffer = &integers[i];
      b.is_unsigned = is_unsigned(p.kind);
    } else if (p.kind == Kind::kFloating32 || p.kind == Kind::kFloating64) {
      numbers[i] = p.number;
      b.buffer_type = MYSQL_TYPE_DOUBLE;
      b.buffer = &numbers[i];
    } else if (p.kind == Kind::kStr || p.kind == Kind::kBinary) {
      b.buffer_type = p.kind == Kind::kStr ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
      b.buffer = const_cast<char*>(p.bytes.data());
      b.buffer_length = p.bytes.size();
    } else {
      b.buffer_type = MYSQL_TYPE_NULL;
    }
  }
  if (!params.empty() && mysql_stmt_bind_param(stmt, binds.data()) != 0)
    return fail(statement_failed(stmt));
  if (io.call(mysql_stmt_execute_start, mysql_stmt_execute_cont, stmt) != 0)
    return fail(statement_failed(stmt));
  return stmt;
}

Result<std::vector<MyValue>, MyError> fetch_row(
    MYSQL_STMT* stmt, const std::vector<MyColumn>& columns, std::vector<MYSQL_BIND>& binds,
    std::vector<int64_t>& integers, std::vector<double>& numbers,
    std::vector<unsigned long>& lengths, std::vector<my_bool>& nulls) {
  std::vector<MyValue> row(columns.size());
  for (size_t i = 0; i < columns.size(); ++i) {
    MyValue& v = row[i];
    const Kind k = columns[i].type;
    if (nulls[i]) continue;  // kNull
    v.kind = k;
    if (is_integer(k)) {
      v.integer = integers[i];
      v.unsigned_integer = static_cast<uint64_t>(integers[i]);
    } else if (k == Kind::kFloating32 || k == Kind::kFloating64) {
      v.number = numbers[i];
    } else {
      v.bytes.resize(lengths[i]);
      if (lengths[i] > 0) {
        MYSQL_BIND b;
        std::memset(&b, 0, sizeof b);
        b.buffer_type = MYSQL_TYPE_STRING;
        b.buffer = v.bytes.data();
        b.buffer_length = lengths[i];
        if (mysql_stmt_fetch_column(stmt, &b, static_cast<unsigned>(i), 0) != 0)
          return statement_failed(stmt);
      }
      if (k == Kind::kOther) {
        return MyError{MyError::Kind::kValueConversionFailed,
                       "Cannot convert value Bytes(" + debug_quoted(v.bytes) + ") in column " +
                           columns[i].name + " data type Other"};
      }
    }
    (void)binds;
  }
  return row;
}

Result<MyRows, MyError> collect(Io& io, MYSQL_STMT* stmt) {
  MyRows out;
  MYSQL_RES* meta = mysql_stmt_result_metadata(stmt);
  if (meta == nullptr) return out;
  const unsigned count = mysql_num_fields(meta);
  const MYSQL_FIELD* fields = mysql_fetch_fields(meta);
  for (unsigned i = 0; i < count; ++i)
    out.columns.push_back(MyColumn{fields[i].name, column_kind(fields[i])});
  mysql_free_result(meta);
  std::vector<MYSQL_BIND> binds(count);
  std::vector<int64_t> integers(count);
  std::vector<double> numbers(count);
  std::vector<unsigned long> lengths(count);
  std::vector<my_bool> nulls(count);
  for (unsigned i = 0; i < count; ++i) {
    MYSQL_BIND& b = binds[i];
    std::memset(&b, 0, sizeof b);
    const Kind k = out.columns[i].type;
    b.is_null = &nulls[i];
    b.length = &lengths[i];
    if (is_integer(k)) {
      b.buffer_type = MYSQL_TYPE_LONGLONG;
      b.buffer = &integers[i];
      b.is_unsigned = is_unsigned(k);
    } else if (k == Kind::kFloating32 || k == Kind::kFloating64) {
      b.buffer_type = MYSQL_TYPE_DOUBLE;
      b.buffer = &numbers[i];
    } else {
      b.buffer_type = MYSQL_TYPE_STRING;
    }
  }
  if (count > 0 && mysql_stmt_bind_result(stmt, binds.data()) != 0) return statement_failed(stmt);
  for (;;) {
    const int rc = io.call(mysql_stmt_fetch_start, mysql_stmt_fetch_cont, stmt);
    if (rc == MYSQL_NO_DATA) break;
    if (rc == 1) return statement_failed(stmt);
    auto row = fetch_row(stmt, out.columns, binds, integers, numbers, lengths, nulls);
    if (!row) return std::move(row).error();
    out.rows.push_back(std::move(row).value());
  }
  return out;
}

}  // namespace

MyPool::~MyPool() {
  for (auto& [address, connections] : idle_) {
    for (MYSQL* c : connections)
      mysql_close(c);
  }
}

Result<MYSQL*, MyError> MyPool::acquire(const std::string& address, Suspender* suspender) {
  // The lock guards the lists only: the pings wait for the server.
  for (;;) {
    MYSQL* c = nullptr;
    {
      std::lock_guard lock(mutex_);
      auto& idle = idle_[address];
      if (idle.empty()) break;
      c = idle.back();
      idle.pop_back();
    }
    Io io(c, suspender);
    if (io.call(mysql_ping_start, mysql_ping_cont, c) == 0) return c;
    mysql_close(c);
    if (io.stopped()) return stopped_error();
  }
  auto parsed = parse_address(address);
  if (!parsed) return MyError{MyError::Kind::kConnectionFailed, parsed.error()};
  MYSQL* c = mysql_init(nullptr);
  if (c == nullptr) return MyError{MyError::Kind::kConnectionFailed, "out of memory"};
  // utf8mb4 from the handshake on: no round trip for SET NAMES, and a reset
  // (mysql_reset_connection) goes back to it.
  if (mysql_options(c, MYSQL_OPT_NONBLOCK, &kCallStackBytes) != 0 ||
      mysql_options(c, MYSQL_SET_CHARSET_NAME, "utf8mb4") != 0) {
    MyError error{MyError::Kind::kConnectionFailed, mysql_error(c)};
    mysql_close(c);
    return error;
  }
  const Address& a = *parsed;
  Io io(c, suspender);
  if (io.call(mysql_real_connect_start, mysql_real_connect_cont, c, a.host.c_str(),
              a.user.empty() ? nullptr : a.user.c_str(), a.password.c_str(),
              a.database.empty() ? nullptr : a.database.c_str(), a.port, nullptr, 0UL) == nullptr) {
    MyError error =
        io.stopped() ? stopped_error() : MyError{MyError::Kind::kConnectionFailed, mysql_error(c)};
    mysql_close(c);
    return error;
  }
  return c;
}

void MyPool::release(const std::string& address, MYSQL* connection, Suspender* suspender) {
  // A pooled connection starts clean: no open transaction, temporary tables or variables.
  Io io(connection, suspender);
  if (io.call(mysql_reset_connection_start, mysql_reset_connection_cont, connection) == 0) {
    std::lock_guard lock(mutex_);
    auto& idle = idle_[address];
    if (idle.size() < kMaxIdlePerAddress) {
      idle.push_back(connection);
      return;
    }
  }
  mysql_close(connection);
}

MyConnection::MyConnection(std::shared_ptr<MyPool> pool, std::string address, MYSQL* connection)
    : pool_(std::move(pool)), address_(std::move(address)), connection_(connection) {}

MyConnection::~MyConnection() {
  // Closing only writes COM_QUIT, which the idle socket's send buffer takes at once.
  if (connection_ != nullptr) mysql_close(connection_);
}

void MyConnection::release(Suspender* suspender) {
  if (connection_ != nullptr)
    pool_->release(address_, std::exchange(connection_, nullptr), suspender);
}

void MyConnection::close() {
  // Its socket is shut down (Io::wait), so closing waits for nothing either.
  mysql_close(std::exchange(connection_, nullptr));
}

template <class T, class Use>
Result<T, MyError> MyConnection::with_statement(std::string_view statement,
                                                const std::vector<MyValue>& params,
                                                Suspender* suspender, Use use) {
  if (connection_ == nullptr) return stopped_error();
  Io io(connection_, suspender);
  auto stmt = run(io, connection_, statement, params);
  if (!stmt && io.stopped()) {
    close();
    return stopped_error();
  }
  if (!stmt) return std::move(stmt).error();
  Result<T, MyError> out = use(io, *stmt);
  close_statement(io, *stmt);
  if (io.stopped()) {
    close();
    return stopped_error();
  }
  return out;
}

Result<MyRows, MyError> MyConnection::query(std::string_view statement,
                                            const std::vector<MyValue>& params,
                                            Suspender* suspender) {
  return with_statement<MyRows>(statement, params, suspender,
                                [](Io& io, MYSQL_STMT* stmt) { return collect(io, stmt); });
}

Result<void, MyError> MyConnection::execute(std::string_view statement,
                                            const std::vector<MyValue>& params,
                                            Suspender* suspender) {
  return with_statement<void>(
      statement, params, suspender, [](Io& io, MYSQL_STMT* stmt) -> Result<void, MyError> {
        io.call(mysql_stmt_free_result_start, mysql_stmt_free_result_cont, stmt);
        return {};
      });
}

}  // namespace gyre::spin::mysql
