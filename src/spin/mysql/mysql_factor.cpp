#include "spin/mysql/mysql_factor.hpp"

#include "host/define.hpp"
#include "host/waiting.hpp"
#include "spin/mysql/mysql_client.hpp"
#include "spin/outbound_address.hpp"
#include "spin/rdbms_values.hpp"

namespace gyre::spin::mysql {

// rdbms-types parameters crossing as component values, as the guest sent them (row sets
// and errors are built here as spin::WitValue).
struct WitParams {
  std::vector<component::Val> items;
};

}  // namespace gyre::spin::mysql

namespace gyre::host {
template <>
struct WitType<spin::mysql::WitParams> {
  static bool matches(const ValueType& t) {
    return t.kind == ValueKind::kList && t.types[0]->kind == ValueKind::kVariant &&
           t.types[0]->labels.size() == 14;
  }
  static spin::mysql::WitParams from(const Val& v, Context&) { return {v.items}; }
};
}  // namespace gyre::host

namespace gyre::spin::mysql {
namespace {

using component::Val;
using host::Borrow;
using host::Context;
using host::Own;

constexpr const char* kV1 = "fermyon:spin/mysql";
constexpr const char* kV2 = "fermyon:spin/mysql@2.0.0";
// Spin 4: `async func`s, and query's rows come through a stream.
constexpr const char* kV3 = "spin:mysql/mysql@3.0.0";

// rdbms-types cases, in order: parameter-value and db-value share the first 14
// (db-null last of them), db-data-type has `other` where db-value has db-null.
constexpr uint32_t kDbNull = 13;
constexpr uint32_t kUnsupported = 14;

// The guest's error: rdbms-types' error@2.0.0, or Spin 1's mysql-error whose first case
// is `success`.
Val error_val(const MyError& e, uint32_t offset) {
  return Val::variant(static_cast<uint32_t>(e.kind) + offset, Val::string(e.message));
}

MyValue to_value(const Val& v) {
  MyValue out;
  const Val& p = v.items.empty() ? v : v.items[0];
  out.kind = v.bits >= kDbNull ? Kind::kNull : static_cast<Kind>(v.bits);
  switch (out.kind) {
    case Kind::kBoolean:
      out.integer = p.bits ? 1 : 0;
      break;
    case Kind::kInt8:
    case Kind::kInt16:
    case Kind::kInt32:
    case Kind::kInt64:
      out.integer = static_cast<int64_t>(p.bits);
      break;
    case Kind::kUint8:
    case Kind::kUint16:
    case Kind::kUint32:
    case Kind::kUint64:
      out.unsigned_integer = p.bits;
      break;
    case Kind::kFloating32:
    case Kind::kFloating64:
      out.number = p.number;
      break;
    case Kind::kStr:
    case Kind::kBinary:
      out.bytes = p.bytes;
      break;
    default:
      break;
  }
  return out;
}

std::vector<MyValue> to_values(const WitParams& params) {
  std::vector<MyValue> out;
  for (const Val& item : params.items)
    out.push_back(to_value(item));
  return out;
}

Val cell_val(const MyValue& v) {
  const auto index = static_cast<uint32_t>(v.kind);
  switch (v.kind) {
    case Kind::kBoolean:
      return Val::variant(index, Val::boolean(v.integer != 0));
    case Kind::kInt8:
      return Val::variant(index, Val::s8(static_cast<int8_t>(v.integer)));
    case Kind::kInt16:
      return Val::variant(index, Val::s16(static_cast<int16_t>(v.integer)));
    case Kind::kInt32:
      return Val::variant(index, Val::s32(static_cast<int32_t>(v.integer)));
    case Kind::kInt64:
      return Val::variant(index, Val::s64(v.integer));
    case Kind::kUint8:
      return Val::variant(index, Val::u8(static_cast<uint8_t>(v.unsigned_integer)));
    case Kind::kUint16:
      return Val::variant(index, Val::u16(static_cast<uint16_t>(v.unsigned_integer)));
    case Kind::kUint32:
      return Val::variant(index, Val::u32(static_cast<uint32_t>(v.unsigned_integer)));
    case Kind::kUint64:
      return Val::variant(index, Val::u64(v.unsigned_integer));
    case Kind::kFloating32:
      return Val::variant(index, Val::f32(static_cast<float>(v.number)));
    case Kind::kFloating64:
      return Val::variant(index, Val::f64(v.number));
    case Kind::kStr:
      return Val::variant(index, Val::string(v.bytes));
    case Kind::kBinary:
      return Val::variant(index, Val::byte_list(v.bytes));
    case Kind::kNull:
      return Val::variant(kDbNull);
    case Kind::kOther:
      break;
  }
  return Val::variant(kUnsupported);
}

Val row_set(const MyRows& rows) {
  std::vector<Val> columns;
  for (const MyColumn& c : rows.columns) {
    columns.push_back(Val::record(
        {Val::string(c.name),
         Val::enumeration(static_cast<uint32_t>(c.type) - (c.type == Kind::kOther ? 1 : 0))}));
  }
  std::vector<Val> out;
  for (const auto& row : rows.rows) {
    std::vector<Val> cells;
    for (const MyValue& v : row)
      cells.push_back(cell_val(v));
    out.push_back(Val::list(std::move(cells)));
  }
  return Val::record({Val::list(std::move(columns)), Val::list(std::move(out))});
}

struct Shared {
  std::shared_ptr<MyPool> pool;
  app::AllowedHosts allowed;  // a copy: the context's list lives only while adding
  Log log;
};

// As Spin: the address itself, as a mysql:// URL, must be allowed.
Result<std::unique_ptr<MyConnection>, MyError> open(const Shared& shared,
                                                    const std::string& address,
                                                    Suspender* suspender) {
  if (auto allowed = check_outbound(address, "mysql", shared.allowed, shared.log); !allowed) {
    if (allowed.error().invalid) return MyError{MyError::Kind::kOther, allowed.error().reason};
    return MyError{MyError::Kind::kConnectionFailed, "address " + address + " is not permitted"};
  }
  auto connection = shared.pool->acquire(address, suspender);
  if (!connection) return std::move(connection).error();
  return std::make_unique<MyConnection>(shared.pool, address, *connection);
}

// fermyon:spin/mysql@2.0.0 and spin:mysql/mysql@3.0.0: a `connection` resource.
void add_connection(component::HostImports& imports, const char* iface,
                    std::shared_ptr<const Shared> shared) {
  // A dropped connection goes back to the pool through the dropping guest's Suspender: the
  // reset that pooling needs waits for the server.
  host::define_resource<MyConnection>(imports, iface, "connection",
                                      [](component::HostCall& call, MyConnection& connection) {
                                        connection.release(host::suspender_of(call.instance));
                                      });
  host::define(imports, iface, "[static]connection.open",
               [shared](Context& cx, std::string address) {
                 using R = host::Result<Own<MyConnection>, WitValue>;
                 auto connection = open(*shared, address, host::suspender_of(cx.instance));
                 if (!connection) return R::err(WitValue{error_val(connection.error(), 0)});
                 return R::ok(Own<MyConnection>{std::move(connection).value()});
               });
  host::define(
      imports, iface, "[method]connection.execute",
      [](Context& cx, Borrow<MyConnection> self, std::string_view statement, WitParams params) {
        using R = host::Result<host::Unit, WitValue>;
        auto done = self->execute(statement, to_values(params), host::suspender_of(cx.instance));
        if (!done) return R::err(WitValue{error_val(done.error(), 0)});
        return R::ok({});
      });
}

void add_v2(component::HostImports& imports, std::shared_ptr<const Shared> shared) {
  add_connection(imports, kV2, shared);
  host::define(
      imports, kV2, "[method]connection.query",
      [](Context& cx, Borrow<MyConnection> self, std::string_view statement, WitParams params) {
        using R = host::Result<WitValue, WitValue>;
        auto rows = self->query(statement, to_values(params), host::suspender_of(cx.instance));
        if (!rows) return R::err(WitValue{error_val(rows.error(), 0)});
        return R::ok(WitValue{row_set(*rows)});
      });
}

// Spin 4: query's rows come through a stream (streamed_rows).
void add_v3(component::HostImports& imports, std::shared_ptr<const Shared> shared) {
  add_connection(imports, kV3, shared);
  host::define(
      imports, kV3, "[method]connection.query",
      [](Context& cx, Borrow<MyConnection> self, std::string_view statement, WitParams params) {
        using R = host::Result<StreamedRows, WitValue>;
        auto rows = self->query(statement, to_values(params), host::suspender_of(cx.instance));
        if (!rows) return R::err(WitValue{error_val(rows.error(), 0)});
        return R::ok(streamed_rows(row_set(*rows)));
      });
}

// Spin 1: every call opens a connection to `address` for itself.
void add_v1(component::HostImports& imports, std::shared_ptr<const Shared> shared) {
  host::define(
      imports, kV1, "query",
      [shared](Context& cx, std::string address, std::string_view statement, WitParams params) {
        using R = host::Result<WitValue, WitValue>;
        Suspender* suspender = host::suspender_of(cx.instance);
        auto connection = open(*shared, address, suspender);
        if (!connection) return R::err(WitValue{error_val(connection.error(), 1)});
        auto rows = (*connection)->query(statement, to_values(params), suspender);
        (*connection)->release(suspender);
        if (!rows) return R::err(WitValue{error_val(rows.error(), 1)});
        return R::ok(WitValue{row_set(*rows)});
      });
  host::define(
      imports, kV1, "execute",
      [shared](Context& cx, std::string address, std::string_view statement, WitParams params) {
        using R = host::Result<host::Unit, WitValue>;
        Suspender* suspender = host::suspender_of(cx.instance);
        auto connection = open(*shared, address, suspender);
        if (!connection) return R::err(WitValue{error_val(connection.error(), 1)});
        auto done = (*connection)->execute(statement, to_values(params), suspender);
        (*connection)->release(suspender);
        if (!done) return R::err(WitValue{error_val(done.error(), 1)});
        return R::ok({});
      });
}

class MysqlFactor final : public Factor {
 public:
  Result<void, std::string> configure_app(AppContext&) override {
    pool_ = std::make_shared<MyPool>();
    return {};
  }
  Result<void, std::string> add_component(component::HostImports& imports,
                                          const ComponentContext& component) override {
    if (!pool_) pool_ = std::make_shared<MyPool>();
    auto shared =
        std::make_shared<const Shared>(Shared{pool_, component.allowed_hosts, component.log});
    add_v1(imports, shared);
    add_v2(imports, shared);
    add_v3(imports, shared);
    return {};
  }

 private:
  std::shared_ptr<MyPool> pool_;
};

}  // namespace

std::unique_ptr<Factor> make_factor() {
  return std::make_unique<MysqlFactor>();
}

}  // namespace gyre::spin::mysql
