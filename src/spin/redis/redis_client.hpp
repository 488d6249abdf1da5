// A Redis client over hiredis on a non-blocking socket, and the app-wide pool of idle
// connections the outbound Redis capability reuses. Every wait for the server goes through
// wait_socket (base/socket_wait.hpp): a guest's call suspends its fiber and holds no
// thread; a call with no Suspender blocks in poll(2). The key-value Redis backend connects with it
// too, and the URL grammar is that backend's (key_value::parse_redis_url), so both capabilities
// accept the same addresses and reach the server the same way.
#pragma once

#include <hiredis/hiredis.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/suspender.hpp"
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
  static Result<std::unique_ptr<Client>, ConnectError> connect(const key_value::RedisUrl& url,
                                                               Suspender* suspender);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Runs one command (binary-safe arguments), its waits through `suspender`.
  Result<Reply, CommandError> command(const std::vector<std::string_view>& args,
                                      Suspender* suspender);

  // Whether a failure has left the connection unusable.
  bool broken() const { return context_ == nullptr || context_->err != 0 || retired_; }

  // Keeps the connection out of the pool: a command changed its state (a database, a
  // subscription, a transaction) in a way the next user must not inherit.
  void retire() { retired_ = true; }

 private:
  explicit Client(redisContext* context) : context_(context) {}
  // Waits for the socket; a failed wait leaves a reply unread, so the connection retires.
  std::optional<CommandError> wait(uint8_t ready, Suspender::Clock::time_point until,
                                   Suspender* suspender);
  // A non-blocking connect is made once the socket is writable; its error then says how.
  std::optional<std::string> finish_connect(Suspender* suspender);
  redisContext* context_;
  bool retired_ = false;
};

// Idle connections by address, shared by every instance of an app's components: a guest's
// `open` takes one (or connects), dropping the connection gives it back.
class Pool {
 public:
  Result<std::unique_ptr<Client>, std::string> take(const std::string& address,
                                                    const key_value::RedisUrl& url,
                                                    Suspender* suspender);
  void give_back(const std::string& address, std::unique_ptr<Client> client);

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<std::unique_ptr<Client>>> idle_;
};

}  // namespace gyre::spin::redis
