// A synchronous Redis client over hiredis, and the app-wide pool of idle connections the
// outbound Redis capability reuses. The key-value Redis backend connects with it too, and
// the URL grammar is that backend's (key_value::parse_redis_url), so both capabilities
// accept the same addresses and reach the server the same way.
#pragma once

#include <hiredis/hiredis.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "spin/key_value/redis_store.hpp"

namespace gyre::spin::redis {

struct ReplyDeleter {
  void operator()(redisReply* reply) const { freeReplyObject(reply); }
};
using Reply = std::unique_ptr<redisReply, ReplyDeleter>;

// What went wrong with a command: the server's error reply, or the connection's.
struct CommandError {
  bool from_server = false;  // an error reply: the connection is still good
  std::string message;       // as the server or hiredis words it
};

// Why connect() failed: no connection to the server, or the server refused the setup
// (AUTH, SELECT) on the connection it accepted.
struct ConnectError {
  bool connected = false;
  std::string message;  // as the server or hiredis words it
};

// One connection, made by connect(). Not thread-safe: one user at a time.
class Client {
 public:
  static Result<std::unique_ptr<Client>, ConnectError> connect(const key_value::RedisUrl& url);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Runs one command (binary-safe arguments).
  Result<Reply, CommandError> command(const std::vector<std::string_view>& args);

  // Whether a failure has left the connection unusable.
  bool broken() const { return context_ == nullptr || context_->err != 0 || retired_; }

  // Keeps the connection out of the pool: a command changed its state (a database, a
  // subscription, a transaction) in a way the next user must not inherit.
  void retire() { retired_ = true; }

 private:
  explicit Client(redisContext* context) : context_(context) {}
  redisContext* context_;
  bool retired_ = false;
};

// Idle connections by address, shared by every instance of an app's components: a guest's
// `open` takes one (or connects), dropping the connection gives it back.
class Pool {
 public:
  Result<std::unique_ptr<Client>, std::string> take(const std::string& address,
                                                    const key_value::RedisUrl& url);
  void give_back(const std::string& address, std::unique_ptr<Client> client);

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<std::unique_ptr<Client>>> idle_;
};

}  // namespace gyre::spin::redis
