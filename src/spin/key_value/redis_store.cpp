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

// One connection to the server, made on first use and again after it breaks. Not
// thread-safe: the provider's shared one is used under its mutex, a CAS's by its owner.
// Its waits block the thread (no Suspender): a fiber must not park while it holds that
// mutex, so the key-value interfaces run on the worker threads (trigger/http_app.cpp).
class Connection {
 public:
  explicit Connection(RedisUrl url) : url_(std::move(url)) {}

  Void connect() {
    if (client_ != nullptr && !client_->broken()) return {};
    client_.reset();
    auto client = redis::Client::connect(url_, nullptr);
    if (!client) {
      redis::ConnectError error = std::move(client).error();
      if (!error.connected)
        return Error::other("redis: cannot connect to " + address() + ": " + error.message);
      return Error::other("redis: " + error.message);
    }
    client_ = std::move(client).value();
    return {};
  }

  // Runs one command; a server error reply is an error too. A connection the failure
  // left broken is made again on the next call.
  Outcome<Reply> command(const std::vector<std::string_view>& args) {
    if (auto connected = connect(); !connected) return std::move(connected).error();
    auto reply = client_->command(args, nullptr);
    if (!reply) return Error::other("redis: " + std::move(reply).error().message);
    return std::move(reply).value();
  }

  std::string address() const {
    return url_.host.empty() ? "unix:" + url_.socket_path
                             : url_.host + ":" + std::to_string(url_.port);
  }

 private:
  RedisUrl url_;
  std::unique_ptr<redis::Client> client_;
};

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

class RedisCas final : public Cas {
 public:
  RedisCas(std::unique_ptr<Connection> connection, std::string key)
      : connection_(std::move(connection)), key_(std::move(key)) {}

  // WATCH makes the EXEC in swap() fail if anyone changes the key in between.
  Outcome<std::optional<Value>> current() override {
    if (auto watched = connection_->command({"WATCH", key_}); !watched)
      return std::move(watched).error();
    return optional_value(connection_->command({"GET", key_}));
  }

  gyre::Result<void, SwapError> swap(std::string_view value) override {
    auto failed = [](Error error) { return SwapError{false, std::move(error.message)}; };
    if (auto multi = connection_->command({"MULTI"}); !multi) return failed(multi.error());
    if (auto set = connection_->command({"SET", key_, value}); !set) return failed(set.error());
    auto exec = connection_->command({"EXEC"});
    if (!exec) return failed(exec.error());
    if ((*exec)->type == REDIS_REPLY_NIL) return SwapError{true, "the value changed"};
    return {};
  }

 private:
  std::unique_ptr<Connection> connection_;
  std::string key_;
};

class RedisStore final : public Store {
 public:
  RedisStore(std::shared_ptr<Connection> connection, std::shared_ptr<std::mutex> mutex,
             RedisUrl url)
      : connection_(std::move(connection)), mutex_(std::move(mutex)), url_(std::move(url)) {}

  Outcome<std::optional<Value>> get(std::string_view key) override {
    return optional_value(run({"GET", key}));
  }
  Void set(std::string_view key, std::string_view value) override {
    return done(run({"SET", key, value}));
  }
  Void remove(std::string_view key) override { return done(run({"DEL", key})); }

  Outcome<bool> exists(std::string_view key) override {
    auto reply = run({"EXISTS", key});
    if (!reply) return std::move(reply).error();
    return (*reply)->type == REDIS_REPLY_INTEGER && (*reply)->integer > 0;
  }

  Outcome<std::vector<std::string>> keys() override {
    auto reply = run({"KEYS", "*"});
    if (!reply) return std::move(reply).error();
    std::vector<std::string> out;
    for (size_t i = 0; i < (*reply)->elements; ++i)
      out.push_back(reply_text(*(*reply)->element[i]));
    return out;
  }

  Outcome<MaybeKeyValues> get_many(const std::vector<std::string>& keys) override {
    std::vector<std::string_view> args{"MGET"};
    args.insert(args.end(), keys.begin(), keys.end());
    auto reply = run(args);
    if (!reply) return std::move(reply).error();
    MaybeKeyValues out;
    for (size_t i = 0; i < (*reply)->elements && i < keys.size(); ++i) {
      const redisReply& item = *(*reply)->element[i];
      if (item.type == REDIS_REPLY_STRING) out.emplace_back(keys[i], reply_text(item));
    }
    return out;
  }

  Void set_many(const KeyValues& pairs) override {
    std::vector<std::string_view> args{"MSET"};
    for (const auto& [key, value] : pairs) {
      args.push_back(key);
      args.push_back(value);
    }
    return done(run(args));
  }

  Void remove_many(const std::vector<std::string>& keys) override {
    std::vector<std::string_view> args{"DEL"};
    args.insert(args.end(), keys.begin(), keys.end());
    return done(run(args));
  }

  Outcome<int64_t> increment(std::string_view key, int64_t delta) override {
    auto reply = run({"INCRBY", key, std::to_string(delta)});
    if (!reply) return std::move(reply).error();
    return static_cast<int64_t>((*reply)->integer);
  }

  // Transactions belong to a connection, so each compare-and-swap gets its own.
  Outcome<std::unique_ptr<Cas>> new_cas(std::string_view key) override {
    auto connection = std::make_unique<Connection>(url_);
    if (auto connected = connection->connect(); !connected) return std::move(connected).error();
    return std::unique_ptr<Cas>(
        std::make_unique<RedisCas>(std::move(connection), std::string(key)));
  }

 private:
  Outcome<Reply> run(const std::vector<std::string_view>& args) {
    std::lock_guard lock(*mutex_);
    return connection_->command(args);
  }

  std::shared_ptr<Connection> connection_;
  std::shared_ptr<std::mutex> mutex_;
  RedisUrl url_;
};

class RedisProvider final : public StoreProvider {
 public:
  explicit RedisProvider(RedisUrl url)
      : url_(std::move(url)),
        connection_(std::make_shared<Connection>(url_)),
        mutex_(std::make_shared<std::mutex>()) {}

  Outcome<std::shared_ptr<Store>> open(std::string_view) override {
    {
      std::lock_guard lock(*mutex_);
      if (auto connected = connection_->connect(); !connected) return std::move(connected).error();
    }
    return std::shared_ptr<Store>(std::make_shared<RedisStore>(connection_, mutex_, url_));
  }

  std::string summary() const override { return "Redis at " + connection_->address(); }

 private:
  RedisUrl url_;
  std::shared_ptr<Connection> connection_;
  std::shared_ptr<std::mutex> mutex_;
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
