#include "spin/key_value/redis_store.hpp"

#include <charconv>
#include <mutex>

#include "spin/redis/redis_client.hpp"
#include "spin/url_parts.hpp"

namespace gyre::spin::key_value {
namespace {

using Void = gyre::Result<void, Error>;

std::optional<int> parse_number(std::string_view text, int max) {
  int out = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size() || out < 0 || out > max)
    return std::nullopt;
  return out;
}

using redis::Reply;

std::string reply_text(const redisReply& reply) {
  return std::string(reply.str, reply.len);
}

// The provider's server and its idle connections, shared by every store the provider
// opens. Connections are redis::Client's, whose waits go through the calling guest's
// Suspender: a guest waiting on Redis holds no thread. So no lock is ever held across a
// command (a fiber that parked holding one would block the next fiber of its thread on
// it): each operation has a connection of its own while it runs.
struct Server {
  RedisUrl url;
  std::string address;  // the pool's key, and what errors name
  redis::Pool pool;

  // An idle connection (checked) or a new one.
  Outcome<std::unique_ptr<redis::Client>> take(Suspender* suspender) {
    auto client = pool.take(address, url, suspender);
    if (!client) return Error::other("redis: cannot connect to " + address + ": " + client.error());
    return std::move(client).value();
  }
};

// One command on `client`; a server error reply is an error too.
Outcome<Reply> command(redis::Client& client, const std::vector<std::string_view>& args,
                       Suspender* suspender) {
  auto reply = client.command(args, suspender);
  if (!reply) return Error::other("redis: " + std::move(reply).error().message);
  return std::move(reply).value();
}

Outcome<std::optional<Value>> optional_value(Outcome<Reply> reply) {
  if (!reply) return std::move(reply).error();
  if ((*reply)->type == REDIS_REPLY_NIL) return std::optional<Value>();
  if ((*reply)->type != REDIS_REPLY_STRING) return Error::other("redis: unexpected reply to GET");
  return std::optional<Value>(reply_text(**reply));
}

Void done(Outcome<Reply> reply) {
  if (!reply) return std::move(reply).error();
  return {};
}

// Transactions belong to a connection, so a compare-and-swap has one of its own for its
// whole life, and never gives it back: it may still be WATCHing a key.
class RedisCas final : public Cas {
 public:
  RedisCas(std::unique_ptr<redis::Client> client, std::string key)
      : client_(std::move(client)), key_(std::move(key)) {}

  // WATCH makes the EXEC in swap() fail if anyone changes the key in between.
  Outcome<std::optional<Value>> current(Suspender* suspender) override {
    if (auto watched = command(*client_, {"WATCH", key_}, suspender); !watched)
      return std::move(watched).error();
    return optional_value(command(*client_, {"GET", key_}, suspender));
  }

  gyre::Result<void, SwapError> swap(std::string_view value, Suspender* suspender) override {
    auto failed = [](Error error) { return SwapError{false, std::move(error.message)}; };
    if (auto multi = command(*client_, {"MULTI"}, suspender); !multi) return failed(multi.error());
    if (auto set = command(*client_, {"SET", key_, value}, suspender); !set)
      return failed(set.error());
    auto exec = command(*client_, {"EXEC"}, suspender);
    if (!exec) return failed(exec.error());
    if ((*exec)->type == REDIS_REPLY_NIL) return SwapError{true, "the value changed"};
    return {};
  }

 private:
  std::unique_ptr<redis::Client> client_;
  std::string key_;
};

// A store the guest opened. It keeps the connection its operations last used, so one
// guest's operations reuse one connection, and gives it back to the pool when the guest
// drops the store. Operations that overlap (the store is shared by whatever the guest
// does at once) take another from the pool meanwhile.
class RedisStore final : public Store {
 public:
  RedisStore(std::shared_ptr<Server> server, std::unique_ptr<redis::Client> client)
      : server_(std::move(server)), held_(std::move(client)) {}
  ~RedisStore() override { server_->pool.give_back(server_->address, std::move(held_)); }
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  Outcome<std::optional<Value>> get(std::string_view key, Suspender* suspender) override {
    return optional_value(run({"GET", key}, suspender));
  }
  Void set(std::string_view key, std::string_view value, Suspender* suspender) override {
    return done(run({"SET", key, value}, suspender));
  }
  Void remove(std::string_view key, Suspender* suspender) override {
    return done(run({"DEL", key}, suspender));
  }

  Outcome<bool> exists(std::string_view key, Suspender* suspender) override {
    auto reply = run({"EXISTS", key}, suspender);
    if (!reply) return std::move(reply).error();
    return (*reply)->type == REDIS_REPLY_INTEGER && (*reply)->integer > 0;
  }

  Outcome<std::vector<std::string>> keys(Suspender* suspender) override {
    auto reply = run({"KEYS", "*"}, suspender);
    if (!reply) return std::move(reply).error();
    std::vector<std::string> out;
    for (size_t i = 0; i < (*reply)->elements; ++i)
      out.push_back(reply_text(*(*reply)->element[i]));
    return out;
  }

  Outcome<MaybeKeyValues> get_many(const std::vector<std::string>& keys,
                                   Suspender* suspender) override {
    std::vector<std::string_view> args{"MGET"};
    args.insert(args.end(), keys.begin(), keys.end());
    auto reply = run(args, suspender);
    if (!reply) return std::move(reply).error();
    MaybeKeyValues out;
    for (size_t i = 0; i < (*reply)->elements && i < keys.size(); ++i) {
      const redisReply& item = *(*reply)->element[i];
      if (item.type == REDIS_REPLY_STRING) out.emplace_back(keys[i], reply_text(item));
    }
    return out;
  }

  Void set_many(const KeyValues& pairs, Suspender* suspender) override {
    std::vector<std::string_view> args{"MSET"};
    for (const auto& [key, value] : pairs) {
      args.push_back(key);
      args.push_back(value);
    }
    return done(run(args, suspender));
  }

  Void remove_many(const std::vector<std::string>& keys, Suspender* suspender) override {
    std::vector<std::string_view> args{"DEL"};
    args.insert(args.end(), keys.begin(), keys.end());
    return done(run(args, suspender));
  }

  Outcome<int64_t> increment(std::string_view key, int64_t delta, Suspender* suspender) override {
    auto reply = run({"INCRBY", key, std::to_string(delta)}, suspender);
    if (!reply) return std::move(reply).error();
    return static_cast<int64_t>((*reply)->integer);
  }

  Outcome<std::unique_ptr<Cas>> new_cas(std::string_view key, Suspender* suspender) override {
    auto client = server_->take(suspender);
    if (!client) return std::move(client).error();
    return std::unique_ptr<Cas>(
        std::make_unique<RedisCas>(std::move(client).value(), std::string(key)));
  }

 private:
  // Runs one command on the held connection (or another, when that one is in use or was
  // lost). A connection a failure left broken, or a guest stopped waiting on, is dropped
  // instead of kept: it may still owe a reply.
  Outcome<Reply> run(const std::vector<std::string_view>& args, Suspender* suspender) {
    std::unique_ptr<redis::Client> client;
    {
      std::lock_guard lock(mutex_);
      client = std::move(held_);
    }
    if (client == nullptr || client->broken()) {
      auto taken = server_->take(suspender);
      if (!taken) return std::move(taken).error();
      client = std::move(taken).value();
    }
    auto reply = command(*client, args, suspender);
    if (!client->broken()) {
      std::lock_guard lock(mutex_);
      if (held_ == nullptr) {
        held_ = std::move(client);
      } else {
        server_->pool.give_back(server_->address, std::move(client));
      }
    }
    return reply;
  }

  std::shared_ptr<Server> server_;
  std::mutex mutex_;  // guards held_ only, never across a command
  std::unique_ptr<redis::Client> held_;
};

class RedisProvider final : public StoreProvider {
 public:
  explicit RedisProvider(RedisUrl url) : server_(std::make_shared<Server>()) {
    server_->address =
        url.host.empty() ? "unix:" + url.socket_path : url.host + ":" + std::to_string(url.port);
    server_->url = std::move(url);
  }

  // Connecting now reports a server that cannot be reached to the guest at open.
  Outcome<std::shared_ptr<Store>> open(std::string_view, Suspender* suspender) override {
    auto client = server_->take(suspender);
    if (!client) return std::move(client).error();
    return std::shared_ptr<Store>(std::make_shared<RedisStore>(server_, std::move(client).value()));
  }

  std::string summary() const override { return "Redis at " + server_->address; }

 private:
  std::shared_ptr<Server> server_;
};

Result<RedisUrl, std::string> parse_unix(std::string_view rest) {
  RedisUrl out;
  out.port = 0;
  const size_t query = rest.find('?');
  out.socket_path = percent_decode(rest.substr(0, query));
  if (out.socket_path.empty()) return std::string("Invalid Redis URL: no socket path");
  if (query != std::string_view::npos) {
    std::string_view params = rest.substr(query + 1);
    while (!params.empty()) {
      const size_t amp = params.find('&');
      std::string_view param = params.substr(0, amp);
      params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
      const size_t eq = param.find('=');
      const std::string_view name = param.substr(0, eq);
      const std::string value =
          eq == std::string_view::npos ? "" : percent_decode(param.substr(eq + 1));
      if (name == "db") {
        auto db = parse_number(value, 1 << 30);
        if (!db) return std::string("Invalid Redis URL: bad database number");
        out.database = *db;
      } else if (name == "user") {
        out.username = value;
      } else if (name == "pass") {
        out.password = value;
      }
    }
  }
  return out;
}

Result<RedisUrl, std::string> parse_tcp(std::string_view rest) {
  RedisUrl out;
  rest = rest.substr(0, rest.find_first_of("?#"));
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    const size_t colon = userinfo.find(':');
    out.username = percent_decode(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) out.password = percent_decode(userinfo.substr(colon + 1));
    authority = authority.substr(at + 1);
  }
  auto split = split_authority(authority);
  if (!split) return std::string("Invalid Redis URL: bad host");
  out.host = std::move(split->host);
  const std::string_view port = split->port;
  if (out.host.empty()) return std::string("Invalid Redis URL: no host");
  if (!port.empty()) {
    auto number = parse_number(port, 65535);
    if (!number || *number == 0) return std::string("Invalid Redis URL: bad port");
    out.port = *number;
  }
  if (!path.empty()) {
    auto db = parse_number(path, 1 << 30);
    if (!db) return std::string("Invalid Redis URL: bad database number");
    out.database = *db;
  }
  return out;
}

}  // namespace

Result<RedisUrl, std::string> parse_redis_url(std::string_view url) {
  if (url.starts_with("redis://")) return parse_tcp(url.substr(8));
  if (url.starts_with("unix://")) return parse_unix(url.substr(7));
  if (url.starts_with("redis+unix://")) return parse_unix(url.substr(13));
  if (url.starts_with("rediss://"))
    return std::string("TLS connections to Redis (rediss://) are not supported yet");
  return std::string("Invalid Redis URL");
}

std::shared_ptr<StoreProvider> make_redis_provider(RedisUrl url) {
  return std::make_shared<RedisProvider>(std::move(url));
}

}  // namespace gyre::spin::key_value
