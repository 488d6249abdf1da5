#include "spin/mqtt/mqtt_factor.hpp"

#include <algorithm>
#include <variant>

#include "host/define.hpp"
#include "host/waiting.hpp"
#include "spin/mqtt/mqtt_client.hpp"
#include "spin/outbound_address.hpp"

namespace gyre::spin::mqtt {

// fermyon:spin/mqtt@2.0.0's error variant.
struct MqttError {
  // invalid-address, too-many-connections, connection-failed(string), other(string)
  std::variant<host::Unit, host::Unit, std::string, std::string> value;
};

}  // namespace gyre::spin::mqtt

namespace gyre::host {
template <>
struct VariantLabels<spin::mqtt::MqttError> {
  static constexpr const char* labels[] = {"invalid-address", "too-many-connections",
                                           "connection-failed", "other"};
};
template <>
struct EnumLabels<spin::mqtt::Qos> {
  static constexpr const char* labels[] = {"at-most-once", "at-least-once", "exactly-once"};
};
}  // namespace gyre::host

namespace gyre::spin::mqtt {
namespace {

using host::Borrow;
using host::Bytes;
using host::Context;
using host::define;
using host::Own;
using host::Unit;

constexpr const char* kV2 = "fermyon:spin/mqtt@2.0.0";
// Spin 4: the same functions as `async func`s.
constexpr const char* kV3 = "spin:mqtt/mqtt@3.0.0";
// Spin's resource table holds this many connections per instance.
constexpr size_t kMaxConnections = 1024;

template <size_t I, class... A>
MqttError error_case(A&&... payload) {
  return MqttError{decltype(MqttError::value)(std::in_place_index<I>, std::forward<A>(payload)...)};
}

// A guest's open connection; given back to the pool when the guest drops it.
struct Connection {
  std::shared_ptr<Pool> pool;
  std::string key;
  std::unique_ptr<Client> client;

  ~Connection() { pool->give_back(key, std::move(client)); }
};

struct Access {
  std::shared_ptr<Pool> pool;
  app::AllowedHosts allowed;
  Log log;

  bool allows(std::string_view address) const {
    return check_outbound(address, "mqtt", allowed, log).ok();
  }
};

// MQTT keep-alive is a 16-bit number of seconds, and libmosquitto wants 0 (none) or 5+.
int keep_alive(uint64_t seconds) {
  if (seconds == 0) return 0;
  return static_cast<int>(std::clamp<uint64_t>(seconds, 5, 65535));
}

class MqttFactor final : public Factor {
 public:
  Result<void, std::string> configure_app(AppContext&) override {
    pool_ = std::make_shared<Pool>();
    return {};
  }

  Result<void, std::string> add_component(component::HostImports& imports,
                                          const ComponentContext& component) override {
    if (!pool_) return std::string("the outbound MQTT factor was not configured");
    auto access =
        std::make_shared<const Access>(Access{pool_, component.allowed_hosts, component.log});
    for (const char* iface : {kV2, kV3})
      add_connection(imports, iface, access);
    return {};
  }

 private:
  std::shared_ptr<Pool> pool_;

  static void add_connection(component::HostImports& imports, const char* iface,
                             std::shared_ptr<const Access> access) {
    using Opened = host::Result<Own<Connection>, MqttError>;
    using Done = host::Result<Unit, MqttError>;
    host::define_resource<Connection>(imports, iface, "connection");
    define(imports, iface, "[static]connection.open",
           [access](Context& cx, std::string address, std::string username, std::string password,
                    uint64_t keep_alive_secs) -> Opened {
             if (!access->allows(address)) {
               return Opened::err(error_case<2>("address " + address + " is not permitted"));
             }
             auto parsed = parse_mqtt_address(address);
             if (!parsed) return Opened::err(error_case<0>());
             if (host::table_of<Connection>(cx).size() >= kMaxConnections)
               return Opened::err(error_case<1>());
             ClientOptions options{std::move(*parsed), std::move(username), std::move(password),
                                   keep_alive(keep_alive_secs)};
             std::string key = address + '\n' + options.username + '\n' + options.password + '\n' +
                               std::to_string(options.keep_alive_secs);
             auto client = access->pool->take(key, options);
             return Opened::ok(Own<Connection>{std::unique_ptr<Connection>(
                 new Connection{access->pool, std::move(key), std::move(client)})});
           });
    define(imports, iface, "[method]connection.publish",
           [](Context& cx, Borrow<Connection> c, std::string_view topic, Bytes payload,
              Qos qos) -> Done {
             const std::string_view bytes(reinterpret_cast<const char*>(payload.data()),
                                          payload.size());
             auto published =
                 c->client->publish(topic, bytes, qos, host::suspender_of(cx.instance));
             if (published) return Done::ok({});
             PublishError error = std::move(published).error();
             if (error.connection_failed) return Done::err(error_case<2>(std::move(error.message)));
             return Done::err(error_case<3>(std::move(error.message)));
           });
  }
};

}  // namespace

std::unique_ptr<Factor> make_factor() {
  return std::make_unique<MqttFactor>();
}

}  // namespace gyre::spin::mqtt
