// MySQL and MariaDB connections over MariaDB Connector/C for the outbound mysql
// capability: a pool of idle connections per address, shared by the whole app, and the
// prepared statements a guest runs on one connection, with values typed as Spin types
// them (fermyon:spin/rdbms-types@2.0.0).
//
// Every call that talks to the server uses Connector/C's non-blocking API and waits on the
// socket through the calling guest's Suspender (base/socket_wait.hpp): a guest waiting on
// the database parks its fiber and holds no thread. With a null Suspender (set-up, tests
// without fibers) the waits block in poll(2).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/suspender.hpp"

typedef struct st_mysql MYSQL;

namespace gyre::spin::mysql {

// The cases of rdbms-types' parameter-value and db-value that carry data.
enum class Kind {
  kBoolean,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kFloating32,
  kFloating64,
  kStr,
  kBinary,
  kNull,
  kOther,
};

// A parameter or a cell: its case, an integer (signed or unsigned by case), a float, or
// bytes.
struct MyValue {
  Kind kind = Kind::kNull;
  int64_t integer = 0;
  uint64_t unsigned_integer = 0;
  double number = 0;
  std::string bytes;
};

struct MyColumn {
  std::string name;
  Kind type = Kind::kOther;  // db-data-type: kOther for "other"
};

struct MyRows {
  std::vector<MyColumn> columns;
  std::vector<std::vector<MyValue>> rows;
};

struct MyError {
  // rdbms-types error cases.
  enum class Kind {
    kConnectionFailed,
    kBadParameter,
    kQueryFailed,
    kValueConversionFailed,
    kOther
  };
  Kind kind = Kind::kOther;
  std::string message;
};

// Idle connections by address ("mysql://user:password@host:port/database"). Every idle
// connection has been reset (no open transaction, locks, temporary tables or variables).
class MyPool {
 public:
  ~MyPool();
  // An idle connection that still answers a ping, or a new one.
  Result<MYSQL*, MyError> acquire(const std::string& address, Suspender* suspender);
  // Resets `connection` and keeps it idle (or closes it: it failed, or enough are idle).
  void release(const std::string& address, MYSQL* connection, Suspender* suspender);

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<MYSQL*>> idle_;
};

// A guest's open connection: back to the pool by release(), when the guest drops it.
class MyConnection {
 public:
  MyConnection(std::shared_ptr<MyPool> pool, std::string address, MYSQL* connection);
  // Closes a connection never released (its instance ended without dropping it): the reset
  // that pooling needs waits for the server, and there is no guest here to wait through.
  ~MyConnection();
  MyConnection(const MyConnection&) = delete;
  MyConnection& operator=(const MyConnection&) = delete;

  Result<MyRows, MyError> query(std::string_view statement, const std::vector<MyValue>& params,
                                Suspender* suspender);
  Result<void, MyError> execute(std::string_view statement, const std::vector<MyValue>& params,
                                Suspender* suspender);
  // Hands the connection back to the pool (MyPool::release); the object is then spent.
  void release(Suspender* suspender);

 private:
  // Closes the connection at once: the guest was stopped in the middle of a call.
  void close();
  // Runs `statement`, hands it to `use` (what it reads), then frees it; a guest stopped
  // meanwhile closes the connection.
  template <class T, class Use>
  Result<T, MyError> with_statement(std::string_view statement, const std::vector<MyValue>& params,
                                    Suspender* suspender, Use use);

  std::shared_ptr<MyPool> pool_;
  std::string address_;
  MYSQL* connection_;  // null once released or closed
};

}  // namespace gyre::spin::mysql
