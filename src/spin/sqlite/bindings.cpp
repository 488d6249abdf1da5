#include "spin/sqlite/bindings.hpp"

#include <tuple>
#include <variant>

#include "host/define.hpp"

namespace gyre::spin::sqlite {

// The `error` variant, the same in every version.
struct WitError {
  std::variant<host::Unit, host::Unit, host::Unit, host::Unit, std::string> value;
};

}  // namespace gyre::spin::sqlite

namespace gyre::host {
template <>
struct VariantLabels<spin::sqlite::WitError> {
  static constexpr const char* labels[] = {"no-such-database", "access-denied",
                                           "invalid-connection", "database-full", "io"};
};
template <>
struct RecordFields<spin::sqlite::Row> {
  static constexpr auto fields = std::make_tuple(std::pair{"values", &spin::sqlite::Row::values});
};
template <>
struct RecordFields<spin::sqlite::QueryResult> {
  static constexpr auto fields =
      std::make_tuple(std::pair{"columns", &spin::sqlite::QueryResult::columns},
                      std::pair{"rows", &spin::sqlite::QueryResult::rows});
};

// variant value { integer(s64), real(f64), text(string), blob(list<u8>), null }
template <>
struct WitType<spin::sqlite::Value> {
  using Value = spin::sqlite::Value;

  static bool matches(const ValueType& t) {
    static constexpr const char* kLabels[] = {"integer", "real", "text", "blob", "null"};
    if (t.kind != ValueKind::kVariant || t.labels.size() != std::size(kLabels)) return false;
    for (size_t i = 0; i < t.labels.size(); ++i) {
      if (t.labels[i] != kLabels[i]) return false;
    }
    const auto& p = t.types;
    return p[0] && p[0]->kind == ValueKind::kS64 && p[1] && p[1]->kind == ValueKind::kF64 && p[2] &&
           p[2]->kind == ValueKind::kString && p[3] && is_byte_list(*p[3]) && !p[4];
  }
  static Value from(const Val& v, Context&) {
    if (v.bits == 4) return spin::sqlite::Null{};
    const Val* payload = v.payload();
    if (payload == nullptr) throw ConversionError{"value case has no payload"};
    switch (v.bits) {
      case 0:
        return payload->as_signed();
      case 1:
        return payload->number;
      case 2:
        return payload->bytes;
      case 3:
        return spin::sqlite::Blob{payload->bytes};
      default:
        throw ConversionError{"value case out of range"};
    }
  }
  static Val to(Value v, Context&) {
    switch (v.index()) {
      case 0:
        return Val::variant(0, Val::s64(std::get<0>(v)));
      case 1:
        return Val::variant(1, Val::f64(std::get<1>(v)));
      case 2:
        return Val::variant(2, Val::string(std::move(std::get<2>(v))));
      case 3:
        return Val::variant(3, Val::byte_list(std::move(std::get<3>(v).bytes)));
      default:
        return Val::variant(4);
    }
  }
};
}  // namespace gyre::host

namespace gyre::spin::sqlite {
namespace {

using host::Borrow;
using host::Context;
using host::define;
using host::Own;
using host::Unit;

constexpr const char* kSpinV1 = "fermyon:spin/sqlite";
constexpr const char* kSpinV2 = "fermyon:spin/sqlite@2.0.0";
constexpr const char* kSpinV3 = "spin:sqlite/sqlite@3.1.0";
// Spin's connection table holds this many per instance, every version together.
constexpr size_t kMaxConnections = 256;

template <size_t I, class... A>
WitError error_case(A&&... payload) {
  return WitError{decltype(WitError::value)(std::in_place_index<I>, std::forward<A>(payload)...)};
}

WitError to_wit(Error e) {
  switch (e.kind) {
    case Error::Kind::kNoSuchDatabase:
      return error_case<0>();
    case Error::Kind::kAccessDenied:
      return error_case<1>();
    case Error::Kind::kInvalidConnection:
      return error_case<2>();
    case Error::Kind::kDatabaseFull:
      return error_case<3>();
    case Error::Kind::kIo:
      break;
  }
  return error_case<4>(std::move(e.message));
}

template <class T>
host::Result<T, WitError> answer(Outcome<T> outcome) {
  if (!outcome) return host::Result<T, WitError>::err(to_wit(std::move(outcome).error()));
  return host::Result<T, WitError>::ok(std::move(outcome).value());
}

// What one component may open: the app's databases, limited to its grants.
struct Access {
  std::shared_ptr<const Databases> databases;
  std::set<std::string, std::less<>> allowed;

  Outcome<std::unique_ptr<Connection>> open(Context& cx, std::string_view label) const {
    if (!allowed.count(label)) return Error{Error::Kind::kAccessDenied, {}};
    auto connection = databases->connect(label);
    if (!connection) return connection;
    if (host::table_of<Connection>(cx).size() >= kMaxConnections)
      return Error::io("too many connections opened");
    return connection;
  }
};
using AccessPtr = std::shared_ptr<const Access>;

// `[static]connection.open` (and Spin 4's open-async).
auto opener(AccessPtr access) {
  return [access](Context& cx, std::string_view database) {
    using R = host::Result<Own<Connection>, WitError>;
    auto connection = access->open(cx, database);
    if (!connection) return R::err(to_wit(std::move(connection).error()));
    return R::ok(Own<Connection>{std::move(connection).value()});
  };
}

// fermyon:spin/sqlite@2.0.0 and spin:sqlite/sqlite@3: open and execute on a `connection`.
void add_connection(component::HostImports& imports, const char* iface, AccessPtr access) {
  host::define_resource<Connection>(imports, iface, "connection");
  define(imports, iface, "[static]connection.open", opener(std::move(access)));
  define(
      imports, iface, "[method]connection.execute",
      [](Context&, Borrow<Connection> self, std::string_view statement,
         std::vector<Value> parameters) { return answer(self->execute(statement, parameters)); });
}

void add_spin_v3(component::HostImports& imports, AccessPtr access) {
  add_connection(imports, kSpinV3, access);
  auto rowid = [](Context&, Borrow<Connection> self) { return self->last_insert_rowid(); };
  auto changes = [](Context&, Borrow<Connection> self) { return self->changes(); };
  define(imports, kSpinV3, "[method]connection.last-insert-rowid", rowid);
  define(imports, kSpinV3, "[method]connection.changes", changes);
  // 3.1.0 (Spin 4): the same functions as `async func`s, lowered either way.
  define(imports, kSpinV3, "[static]connection.open-async", opener(std::move(access)));
  define(imports, kSpinV3, "[method]connection.last-insert-rowid-async", rowid);
  define(imports, kSpinV3, "[method]connection.changes-async", changes);
  // The columns at once, the rows through a stream, and how the statement ended through
  // a future. The statement has run to its end before the guest reads a row, so an error
  // is the call's own.
  define(imports, kSpinV3, "[method]connection.execute-async",
         [](Context&, Borrow<Connection> self, std::string_view statement,
            std::vector<Value> parameters) {
           using Done = host::Result<Unit, WitError>;
           using Rows = std::tuple<std::vector<std::string>, host::Stream<Row>, host::Future<Done>>;
           using R = host::Result<Rows, WitError>;
           auto result = self->execute(statement, parameters);
           if (!result) return R::err(to_wit(std::move(result).error()));
           return R::ok(Rows{std::move(result->columns), host::Stream<Row>{std::move(result->rows)},
                             host::Future<Done>{Done::ok({})}});
         });
}

// Spin 1: connections are u32 handles, the reps of the same table the resources use.
void add_spin_v1(component::HostImports& imports, AccessPtr access) {
  define(imports, kSpinV1, "open", [access](Context& cx, std::string_view database) {
    using R = host::Result<uint32_t, WitError>;
    auto connection = access->open(cx, database);
    if (!connection) return R::err(to_wit(std::move(connection).error()));
    return R::ok(host::table_of<Connection>(cx).insert(std::move(connection).value()));
  });
  define(
      imports, kSpinV1, "execute",
      [](Context& cx, uint32_t handle, std::string_view statement, std::vector<Value> parameters) {
        Connection* connection = host::table_of<Connection>(cx).get(handle);
        if (connection == nullptr) {
          return host::Result<QueryResult, WitError>::err(error_case<2>());
        }
        return answer(connection->execute(statement, parameters));
      });
  define(imports, kSpinV1, "close",
         [](Context& cx, uint32_t handle) { host::table_of<Connection>(cx).take(handle); });
}

}  // namespace

void add_bindings(component::HostImports& imports, std::shared_ptr<const Databases> databases,
                  std::set<std::string, std::less<>> allowed) {
  auto access = std::make_shared<const Access>(Access{std::move(databases), std::move(allowed)});
  add_spin_v1(imports, access);
  add_connection(imports, kSpinV2, access);
  add_spin_v3(imports, access);
}

}  // namespace gyre::spin::sqlite
