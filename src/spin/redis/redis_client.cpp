#include "spin/redis/redis_client.hpp"

#include <signal.h>
#include <sys/time.h>

namespace gyre::spin::redis {
namespace {

constexpr timeval kConnectTimeout{5, 0};
// A server that stops answering fails the guest's call instead of holding it forever.
constexpr timeval kCommandTimeout{30, 0};
// Idle connections kept per address; more are closed when given back.
constexpr size_t kMaxIdle = 16;

// hiredis writes with write(2), which raises SIGPIPE on a connection the server closed;
// blocked in this thread for the call, and a SIGPIPE the call raised is consumed, so the
// process-wide disposition stays as it is.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_, &previous_);
  }
  ~SigpipeBlock() {
    sigset_t pending;
    sigpending(&pending);
    if (!was_pending_ && sigismember(&pending, SIGPIPE) == 1) {
      const timespec now{0, 0};
      sigtimedwait(&pipe_, nullptr, &now);
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_, previous_;
  bool was_pending_ = false;
};

}  // namespace

Result<std::unique_ptr<Client>, ConnectError> Client::connect(const key_value::RedisUrl& url) {
  redisContext* context =
      url.host.empty() ? redisConnectUnixWithTimeout(url.socket_path.c_str(), kConnectTimeout)
                       : redisConnectWithTimeout(url.host.c_str(), url.port, kConnectTimeout);
  if (context == nullptr) return ConnectError{false, "cannot allocate a Redis connection"};
  std::unique_ptr<Client> client(new Client(context));
  if (context->err != 0) return ConnectError{false, context->errstr};
  redisSetTimeout(context, kCommandTimeout);
  auto setup = [&](std::vector<std::string_view> args) -> Result<void, ConnectError> {
    auto reply = client->command(args);
    if (!reply) return ConnectError{true, std::move(reply).error().message};
    return {};
  };
  if (!url.password.empty()) {
    auto auth = url.username.empty() ? setup({"AUTH", url.password})
                                     : setup({"AUTH", url.username, url.password});
    if (!auth) return std::move(auth).error();
  }
  if (url.database != 0) {
    if (auto select = setup({"SELECT", std::to_string(url.database)}); !select)
      return std::move(select).error();
  }
  return client;
}

Client::~Client() {
  if (context_ != nullptr) redisFree(context_);
}

Result<Reply, CommandError> Client::command(const std::vector<std::string_view>& args) {
  if (context_ == nullptr || context_->err != 0)
    return CommandError{false, "the connection is broken"};
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (std::string_view arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  const SigpipeBlock no_sigpipe;
  Reply reply(static_cast<redisReply*>(
      redisCommandArgv(context_, static_cast<int>(argv.size()), argv.data(), lengths.data())));
  if (reply == nullptr) return CommandError{false, context_->errstr};
  if (reply->type == REDIS_REPLY_ERROR)
    return CommandError{true, std::string(reply->str, reply->len)};
  return reply;
}

Result<std::unique_ptr<Client>, std::string> Pool::take(const std::string& address,
                                                        const key_value::RedisUrl& url) {
  std::unique_ptr<Client> client;
  {
    std::lock_guard lock(mutex_);
    auto& idle = idle_[address];
    if (!idle.empty()) {
      client = std::move(idle.back());
      idle.pop_back();
    }
  }
  // The server may have closed an idle connection since (its timeout, a restart).
  if (client && client->command({"PING"})) return client;
  auto connected = Client::connect(url);
  if (!connected) return std::move(connected).error().message;
  return std::move(connected).value();
}

void Pool::give_back(const std::string& address, std::unique_ptr<Client> client) {
  if (client == nullptr || client->broken()) return;
  std::lock_guard lock(mutex_);
  auto& idle = idle_[address];
  if (idle.size() < kMaxIdle) idle.push_back(std::move(client));
}

}  // namespace gyre::spin::redis
