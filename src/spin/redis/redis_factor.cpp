#include "spin/redis/redis_factor.hpp"

#include <charconv>
#include <variant>

#include "host/define.hpp"
#include "host/waiting.hpp"
#include "spin/outbound_address.hpp"
#include "spin/redis/redis_client.hpp"

namespace gyre::spin::redis {

// The WIT-facing shapes (the same in redis-types and in fermyon:spin/redis@2.0.0).
struct Blob {
  std::string bytes;
};
struct RedisParameter {
  std::variant<int64_t, Blob> value;  // int64, binary
};
struct RedisResult {
  std::variant<host::Unit, std::string, int64_t, Blob> value;  // nil, status, int64, binary
};
// fermyon:spin/redis@2.0.0
struct V2Error {
  std::variant<host::Unit, host::Unit, host::Unit, std::string> value;
};
// fermyon:spin/redis-types
enum class V1Error : uint8_t { kSuccess, kError };

}  // namespace gyre::spin::redis

namespace gyre::host {
template <>
struct WitType<spin::redis::Blob> {
  static bool matches(const ValueType& t) { return is_byte_list(t); }
  static spin::redis::Blob from(const Val& v, Context&) { return {v.bytes}; }
  static Val to(spin::redis::Blob v, Context&) { return Val::byte_list(std::move(v.bytes)); }
};
template <>
struct VariantLabels<spin::redis::RedisParameter> {
  static constexpr const char* labels[] = {"int64", "binary"};
};
template <>
struct VariantLabels<spin::redis::RedisResult> {
  static constexpr const char* labels[] = {"nil", "status", "int64", "binary"};
};
template <>
struct VariantLabels<spin::redis::V2Error> {
  static constexpr const char* labels[] = {"invalid-address", "too-many-connections", "type-error",
                                           "other"};
};
template <>
struct EnumLabels<spin::redis::V1Error> {
  static constexpr const char* labels[] = {"success", "error"};
};
}  // namespace gyre::host

namespace gyre::spin::redis {
namespace {

using host::Borrow;
using host::Context;
using host::define;
using host::Own;
using host::Unit;

constexpr const char* kV1 = "fermyon:spin/redis";
constexpr const char* kV1Types = "fermyon:spin/redis-types";
constexpr const char* kV2 = "fermyon:spin/redis@2.0.0";
// Spin 4: the same functions as `async func`s.
constexpr const char* kV3 = "spin:redis/redis@3.0.0";
// Spin's resource table holds this many connections per instance.
constexpr size_t kMaxConnections = 1024;

// Why an operation failed, before each interface words it.
struct Failure {
  enum class Kind { kInvalidAddress, kTooManyConnections, kTypeError, kOther } kind;
  std::string message;
};
template <class T>
using Outcome = gyre::Result<T, Failure>;

Failure other(std::string message) {
  return {Failure::Kind::kOther, std::move(message)};
}

V2Error to_v2(Failure f) {
  using V = decltype(V2Error::value);
  switch (f.kind) {
    case Failure::Kind::kInvalidAddress:
      return {V(std::in_place_index<0>)};
    case Failure::Kind::kTooManyConnections:
      return {V(std::in_place_index<1>)};
    case Failure::Kind::kTypeError:
      return {V(std::in_place_index<2>)};
    case Failure::Kind::kOther:
      break;
  }
  return {V(std::in_place_index<3>, std::move(f.message))};
}

// What one component may reach, and where the denials go.
struct Access {
  std::shared_ptr<Pool> pool;
  app::AllowedHosts allowed;
  Log log;

  bool allows(std::string_view address) const {
    return check_outbound(address, "redis", allowed, log).ok();
  }
};
using AccessPtr = std::shared_ptr<const Access>;

// A guest's open connection; given back to the pool when the guest drops it.
struct Connection {
  std::shared_ptr<Pool> pool;
  std::string address;
  std::unique_ptr<Client> client;

  ~Connection() { pool->give_back(address, std::move(client)); }
};

Outcome<std::unique_ptr<Connection>> connect(const Access& access, const std::string& address,
                                             Suspender* suspender) {
  auto url = key_value::parse_redis_url(address);
  if (!url) return Failure{Failure::Kind::kInvalidAddress, {}};
  auto client = access.pool->take(address, *url, suspender);
  if (!client) return other(std::move(client).error());
  return std::unique_ptr<Connection>(new Connection{access.pool, address, std::move(*client)});
}

// A connection as one host call uses it: its waits for the server suspend the calling
// guest (host/waiting.hpp), whichever instance holds the connection.
struct Session {
  Connection& connection;
  Suspender* suspender;
};

Session session(Context& cx, Connection& connection) {
  return {connection, host::suspender_of(cx.instance)};
}

std::string text(const redisReply& reply) {
  return std::string(reply.str, reply.len);
}

Outcome<Reply> run(Session c, const std::vector<std::string_view>& args) {
  auto reply = c.connection.client->command(args, c.suspender);
  if (!reply) return other(std::move(reply).error().message);
  return std::move(reply).value();
}

Failure incompatible() {
  return other("Response was of incompatible type");
}

// The operations, as Spin runs them.
Outcome<Unit> publish(Session c, std::string_view channel, const Blob& payload) {
  auto reply = run(c, {"PUBLISH", channel, payload.bytes});
  if (!reply) return std::move(reply).error();
  return Unit{};
}

Outcome<std::optional<Blob>> get(Session c, std::string_view key) {
  auto reply = run(c, {"GET", key});
  if (!reply) return std::move(reply).error();
  if ((*reply)->type == REDIS_REPLY_NIL) return std::optional<Blob>();
  if ((*reply)->type != REDIS_REPLY_STRING) return incompatible();
  return std::optional<Blob>(Blob{text(**reply)});
}

Outcome<Unit> set(Session c, std::string_view key, const Blob& value) {
  auto reply = run(c, {"SET", key, value.bytes});
  if (!reply) return std::move(reply).error();
  return Unit{};
}

Outcome<int64_t> integer(Outcome<Reply> reply) {
  if (!reply) return std::move(reply).error();
  if ((*reply)->type != REDIS_REPLY_INTEGER) return incompatible();
  return static_cast<int64_t>((*reply)->integer);
}

Outcome<uint32_t> count(Outcome<Reply> reply) {
  auto n = integer(std::move(reply));
  if (!n) return std::move(n).error();
  if (*n < 0 || *n > int64_t{UINT32_MAX}) return incompatible();
  return static_cast<uint32_t>(*n);
}

std::vector<std::string_view> command_with(std::string_view name, std::string_view key,
                                           const std::vector<std::string>& values) {
  std::vector<std::string_view> args{name};
  if (!key.empty() || name != "DEL") args.push_back(key);
  args.insert(args.end(), values.begin(), values.end());
  return args;
}

Outcome<int64_t> incr(Session c, std::string_view key) {
  return integer(run(c, {"INCRBY", key, "1"}));
}

Outcome<uint32_t> del(Session c, const std::vector<std::string>& keys) {
  return count(run(c, command_with("DEL", "", keys)));
}

Outcome<uint32_t> sadd(Session c, std::string_view key, const std::vector<std::string>& v) {
  return count(run(c, command_with("SADD", key, v)));
}

Outcome<uint32_t> srem(Session c, std::string_view key, const std::vector<std::string>& v) {
  return count(run(c, command_with("SREM", key, v)));
}

Outcome<std::vector<std::string>> smembers(Session c, std::string_view key) {
  auto reply = run(c, {"SMEMBERS", key});
  if (!reply) return std::move(reply).error();
  if ((*reply)->type != REDIS_REPLY_ARRAY) return incompatible();
  std::vector<std::string> out;
  for (size_t i = 0; i < (*reply)->elements; ++i) {
    const redisReply& item = *(*reply)->element[i];
    if (item.type != REDIS_REPLY_STRING) return incompatible();
    out.push_back(text(item));
  }
  return out;
}

// A reply as Spin flattens it: arrays into their items, in order. The connection speaks
// RESP2 (hiredis 0.14), so these are every type a reply can have.
Outcome<Unit> flatten(const redisReply& reply, std::vector<RedisResult>& out) {
  using V = decltype(RedisResult::value);
  switch (reply.type) {
    case REDIS_REPLY_NIL:
      out.push_back({V(std::in_place_index<0>)});
      return Unit{};
    case REDIS_REPLY_STATUS:
      out.push_back({V(std::in_place_index<1>, text(reply))});
      return Unit{};
    case REDIS_REPLY_INTEGER:
      out.push_back({V(std::in_place_index<2>, static_cast<int64_t>(reply.integer))});
      return Unit{};
    case REDIS_REPLY_STRING:
      out.push_back({V(std::in_place_index<3>, Blob{text(reply)})});
      return Unit{};
    case REDIS_REPLY_ARRAY:
      for (size_t i = 0; i < reply.elements; ++i) {
        if (auto item = flatten(*reply.element[i], out); !item) return item;
      }
      return Unit{};
    default:
      return incompatible();
  }
}

// Commands after which the connection is not as a fresh one is: it leaves the pool.
bool changes_connection(std::string_view command) {
  std::string upper(command);
  for (char& ch : upper)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  for (const char* name : {"SELECT", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "MULTI", "WATCH",
                           "CLIENT", "AUTH", "HELLO", "MONITOR", "RESET", "READONLY", "QUIT"}) {
    if (upper == name) return true;
  }
  return false;
}

Outcome<std::vector<RedisResult>> execute(Session c, std::string_view command,
                                          const std::vector<RedisParameter>& arguments) {
  if (changes_connection(command)) c.connection.client->retire();
  std::vector<std::string> numbers;  // the text of int64 arguments, kept alive for the call
  numbers.reserve(arguments.size());
  std::vector<std::string_view> args{command};
  for (const RedisParameter& argument : arguments) {
    if (const auto* n = std::get_if<int64_t>(&argument.value)) {
      numbers.push_back(std::to_string(*n));
      args.push_back(numbers.back());
    } else {
      args.push_back(std::get<Blob>(argument.value).bytes);
    }
  }
  auto reply = run(c, args);
  if (!reply) return std::move(reply).error();
  std::vector<RedisResult> out;
  if (auto flat = flatten(**reply, out); !flat) return std::move(flat).error();
  return out;
}

// ---- fermyon:spin/redis@2.0.0 and spin:redis/redis@3.0.0 --------------------------------

template <class T>
host::Result<T, V2Error> answer(Outcome<T> outcome) {
  if (!outcome) return host::Result<T, V2Error>::err(to_v2(std::move(outcome).error()));
  return host::Result<T, V2Error>::ok(std::move(outcome).value());
}

void add_connection(component::HostImports& imports, const char* iface, AccessPtr access) {
  using Opened = host::Result<Own<Connection>, V2Error>;
  using Conn = Borrow<Connection>;
  host::define_resource<Connection>(imports, iface, "connection");
  define(imports, iface, "[static]connection.open",
         [access](Context& cx, std::string address) -> Opened {
           if (!access->allows(address))
             return Opened::err(to_v2({Failure::Kind::kInvalidAddress, {}}));
           if (host::table_of<Connection>(cx).size() >= kMaxConnections)
             return Opened::err(to_v2({Failure::Kind::kTooManyConnections, {}}));
           auto connection = connect(*access, address, host::suspender_of(cx.instance));
           if (!connection) return Opened::err(to_v2(std::move(connection).error()));
           return Opened::ok(Own<Connection>{std::move(*connection)});
         });
  define(imports, iface, "[method]connection.publish",
         [](Context& cx, Conn c, std::string_view channel, Blob payload) {
           return answer(publish(session(cx, *c), channel, payload));
         });
  define(imports, iface, "[method]connection.get", [](Context& cx, Conn c, std::string_view key) {
    return answer(get(session(cx, *c), key));
  });
  define(imports, iface, "[method]connection.set",
         [](Context& cx, Conn c, std::string_view key, Blob value) {
           return answer(set(session(cx, *c), key, value));
         });
  define(imports, iface, "[method]connection.incr", [](Context& cx, Conn c, std::string_view key) {
    return answer(incr(session(cx, *c), key));
  });
  define(imports, iface, "[method]connection.del",
         [](Context& cx, Conn c, std::vector<std::string> keys) {
           return answer(del(session(cx, *c), keys));
         });
  define(imports, iface, "[method]connection.sadd",
         [](Context& cx, Conn c, std::string_view key, std::vector<std::string> values) {
           return answer(sadd(session(cx, *c), key, values));
         });
  define(imports, iface, "[method]connection.smembers",
         [](Context& cx, Conn c, std::string_view key) {
           return answer(smembers(session(cx, *c), key));
         });
  define(imports, iface, "[method]connection.srem",
         [](Context& cx, Conn c, std::string_view key, std::vector<std::string> values) {
           return answer(srem(session(cx, *c), key, values));
         });
  define(imports, iface, "[method]connection.execute",
         [](Context& cx, Conn c, std::string_view command, std::vector<RedisParameter> arguments) {
           return answer(execute(session(cx, *c), command, arguments));
         });
}

// ---- fermyon:spin/redis (Spin 1) -------------------------------------------------------

// Spin 1 connects for every call, and every failure is the one `error`.
template <class O>
struct outcome_value;
template <class T>
struct outcome_value<Outcome<T>> {
  using type = T;
};

template <class Op>
auto v1_call(Context& cx, const Access& access, const std::string& address, Op op) {
  using T = typename outcome_value<std::invoke_result_t<Op, Session>>::type;
  using R = host::Result<T, V1Error>;
  if (!access.allows(address)) return R::err(V1Error::kError);
  Suspender* suspender = host::suspender_of(cx.instance);
  auto connection = connect(access, address, suspender);
  if (!connection) return R::err(V1Error::kError);
  auto outcome = op(Session{**connection, suspender});
  if (!outcome) return R::err(V1Error::kError);
  return R::ok(std::move(outcome).value());
}

template <class T>
Outcome<int64_t> widen(Outcome<T> n) {
  if (!n) return std::move(n).error();
  return static_cast<int64_t>(*n);
}

void add_v1(component::HostImports& imports, AccessPtr access) {
  // redis-types declares only types; its functions are none.
  imports.interface(kV1Types);
  define(imports, kV1, "publish",
         [access](Context& cx, std::string address, std::string channel, Blob payload) {
           return v1_call(cx, *access, address,
                          [&](Session c) { return publish(c, channel, payload); });
         });
  define(imports, kV1, "get", [access](Context& cx, std::string address, std::string key) {
    return v1_call(cx, *access, address, [&](Session c) -> Outcome<Blob> {
      auto value = get(c, key);
      if (!value) return std::move(value).error();
      return value->value_or(Blob{});
    });
  });
  define(imports, kV1, "set",
         [access](Context& cx, std::string address, std::string key, Blob value) {
           return v1_call(cx, *access, address, [&](Session c) { return set(c, key, value); });
         });
  define(imports, kV1, "incr", [access](Context& cx, std::string address, std::string key) {
    return v1_call(cx, *access, address, [&](Session c) { return incr(c, key); });
  });
  define(imports, kV1, "del",
         [access](Context& cx, std::string address, std::vector<std::string> keys) {
           return v1_call(cx, *access, address, [&](Session c) { return widen(del(c, keys)); });
         });
  define(
      imports, kV1, "sadd",
      [access](Context& cx, std::string address, std::string key, std::vector<std::string> values) {
        return v1_call(cx, *access, address,
                       [&](Session c) { return widen(sadd(c, key, values)); });
      });
  define(imports, kV1, "smembers", [access](Context& cx, std::string address, std::string key) {
    return v1_call(cx, *access, address, [&](Session c) { return smembers(c, key); });
  });
  define(
      imports, kV1, "srem",
      [access](Context& cx, std::string address, std::string key, std::vector<std::string> values) {
        return v1_call(cx, *access, address,
                       [&](Session c) { return widen(srem(c, key, values)); });
      });
  define(imports, kV1, "execute",
         [access](Context& cx, std::string address, std::string command,
                  std::vector<RedisParameter> arguments) {
           return v1_call(cx, *access, address,
                          [&](Session c) { return execute(c, command, arguments); });
         });
}

class RedisFactor final : public Factor {
 public:
  Result<void, std::string> configure_app(AppContext&) override {
    pool_ = std::make_shared<Pool>();
    return {};
  }

  Result<void, std::string> add_component(component::HostImports& imports,
                                          const ComponentContext& component) override {
    if (!pool_) return std::string("the outbound Redis factor was not configured");
    auto access =
        std::make_shared<const Access>(Access{pool_, component.allowed_hosts, component.log});
    add_v1(imports, access);
    add_connection(imports, kV2, access);
    add_connection(imports, kV3, access);
    return {};
  }

 private:
  std::shared_ptr<Pool> pool_;
};

}  // namespace

std::unique_ptr<Factor> make_factor() {
  return std::make_unique<RedisFactor>();
}

}  // namespace gyre::spin::redis
