#include "spin/redis/redis_client.hpp"

#include <signal.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "base/socket_wait.hpp"

namespace gyre::spin::redis {
namespace {

constexpr std::chrono::seconds kConnectTimeout{5};
// A server that stops answering fails the guest's call instead of holding it forever.
constexpr std::chrono::seconds kCommandTimeout{30};
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

Result<std::unique_ptr<Client>, ConnectError> Client::connect(const key_value::RedisUrl& url,
                                                              Suspender* suspender) {
  redisContext* context = url.host.empty() ? redisConnectUnixNonBlock(url.socket_path.c_str())
                                           : redisConnectNonBlock(url.host.c_str(), url.port);
  if (context == nullptr) return ConnectError{false, "cannot allocate a Redis connection"};
  std::unique_ptr<Client> client(new Client(context));
  if (context->err != 0) return ConnectError{false, context->errstr};
  if (auto failed = client->finish_connect(suspender)) return ConnectError{false, *failed};
  auto setup = [&](std::vector<std::string_view> args) -> Result<void, ConnectError> {
    auto reply = client->command(args, suspender);
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

std::optional<std::string> Client::finish_connect(Suspender* suspender) {
  const auto until = Suspender::Clock::now() + kConnectTimeout;
  for (;;) {
    switch (wait_socket(suspender, context_->fd, kSocketWritable, until)) {
      case SocketWait::kReady:
        break;
      case SocketWait::kTimedOut:
        return "Connection timed out";
      case SocketWait::kStopped:
        return kStoppedWhileWaiting;
    }
    int error = 0;
    socklen_t size = sizeof error;
    if (getsockopt(context_->fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
    if (error != 0) return std::strerror(error);
    // Writable and no error: connected (a spurious wake finds it not writable yet).
    if (socket_ready_now(context_->fd, kSocketWritable)) return std::nullopt;
  }
}

std::optional<CommandError> Client::wait(uint8_t ready, Suspender::Clock::time_point until,
                                         Suspender* suspender) {
  switch (wait_socket(suspender, context_->fd, ready, until)) {
    case SocketWait::kReady:
      return std::nullopt;
    case SocketWait::kTimedOut:
      retired_ = true;
      return CommandError{false, "the server did not answer in time"};
    case SocketWait::kStopped:
      retired_ = true;
      return CommandError{false, kStoppedWhileWaiting};
  }
  return std::nullopt;
}

Result<Reply, CommandError> Client::command(const std::vector<std::string_view>& args,
                                            Suspender* suspender) {
  if (broken()) return CommandError{false, "the connection is broken"};
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (std::string_view arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()), argv.data(),
                             lengths.data()) != REDIS_OK)
    return CommandError{false, context_->errstr};
  const auto until = Suspender::Clock::now() + kCommandTimeout;
  for (int done = 0; !done;) {
    int written;
    {
      const SigpipeBlock no_sigpipe;  // never across a suspension: another guest's turn
      written = redisBufferWrite(context_, &done);
    }
    if (written != REDIS_OK) return CommandError{false, context_->errstr};
    if (!done) {
      if (auto failed = wait(kSocketWritable, until, suspender)) return *failed;
    }
  }
  for (;;) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(context_, &raw) != REDIS_OK)
      return CommandError{false, context_->errstr};
    if (raw != nullptr) {
      Reply reply(static_cast<redisReply*>(raw));
      if (reply->type == REDIS_REPLY_ERROR)
        return CommandError{true, std::string(reply->str, reply->len)};
      return reply;
    }
    if (auto failed = wait(kSocketReadable, until, suspender)) return *failed;
    if (redisBufferRead(context_) != REDIS_OK) return CommandError{false, context_->errstr};
  }
}

Result<std::unique_ptr<Client>, std::string> Pool::take(const std::string& address,
                                                        const key_value::RedisUrl& url,
                                                        Suspender* suspender) {
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
  if (client && client->command({"PING"}, suspender)) return client;
  auto connected = Client::connect(url, suspender);
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
