#include "spin/mqtt/mqtt_client.hpp"

#include <mosquitto.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

#include "spin/url_parts.hpp"

namespace gyre::spin::mqtt {
namespace {

// A broker that stops answering fails the guest's call instead of holding it forever.
constexpr auto kDeadline = std::chrono::seconds(30);
constexpr size_t kMaxIdle = 16;

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

std::string describe(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::string("I/O: ") + std::strerror(errno);
  return mosquitto_strerror(rc);
}

}  // namespace

Result<MqttAddress, std::string> parse_mqtt_address(std::string_view address) {
  const size_t sep = address.find("://");
  if (sep == std::string_view::npos) return std::string("relative URL without a base");
  const std::string_view scheme = address.substr(0, sep);
  if (scheme == "mqtts" || scheme == "ssl" || scheme == "ws" || scheme == "wss")
    return std::string("the ") + std::string(scheme) + " transport is not supported";
  if (scheme != "mqtt" && scheme != "tcp") return std::string("Unsupported scheme");
  std::string_view rest = address.substr(sep + 3);
  const size_t query_at = rest.find('?');
  std::string_view query =
      query_at == std::string_view::npos ? std::string_view() : rest.substr(query_at + 1);
  query = query.substr(0, query.find('#'));
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  authority = authority.substr(authority.rfind('@') + 1);  // user info is ignored
  auto split = split_authority(authority);
  if (!split) {
    return std::string(split.error() == AuthorityError::kUnclosedIpv6 ? "invalid IPv6 address"
                                                                      : "invalid port number");
  }
  MqttAddress out;
  out.host = std::move(split->host);
  const std::string_view port = split->port;
  if (out.host.empty()) return std::string("empty host");
  if (!port.empty()) {
    unsigned number = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
    if (ec != std::errc() || end != port.data() + port.size() || number > 65535)
      return std::string("invalid port number");
    out.port = static_cast<int>(number);
  }
  bool has_id = false;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    const std::string name = percent_decode(pair.substr(0, eq), true);
    const std::string value =
        eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), true);
    if (name == "client_id") {
      out.client_id = value;
      has_id = true;
    } else if (name == "clean_session") {
      if (value != "true" && value != "false")
        return std::string("Can't parse clean session: ") + value;
      out.clean_session = value == "true";
    }
  }
  if (!has_id) return std::string("Client ID is not present");
  return out;
}

Client::Client(ClientOptions options) : options_(std::move(options)) {
  init_library();
  handle_ = mosquitto_new(options_.address.client_id.c_str(), options_.address.clean_session, this);
  if (handle_ == nullptr) return;
  mosquitto_int_option(handle_, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  if (!options_.username.empty()) {
    mosquitto_username_pw_set(handle_, options_.username.c_str(),
                              options_.password.empty() ? nullptr : options_.password.c_str());
  }
  mosquitto_connect_callback_set(
      handle_, [](::mosquitto*, void* self, int rc) { static_cast<Client*>(self)->connack_ = rc; });
  mosquitto_publish_callback_set(handle_, [](::mosquitto*, void* self, int mid) {
    static_cast<Client*>(self)->delivered_.insert(mid);
  });
}

Client::~Client() {
  if (handle_ == nullptr) return;
  if (connected_) mosquitto_disconnect(handle_);
  mosquitto_destroy(handle_);
}

template <class Done>
Result<void, PublishError> Client::loop_until(Done done) {
  const auto give_up = std::chrono::steady_clock::now() + kDeadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) {
      connected_ = false;
      mosquitto_disconnect(handle_);
      return PublishError{true, "the broker did not answer in time"};
    }
    if (const int rc = mosquitto_loop(handle_, 100, 1); rc != MOSQ_ERR_SUCCESS) {
      connected_ = false;
      return PublishError{true, describe(rc)};
    }
  }
  return {};
}

Result<void, PublishError> Client::connect() {
  // A pooled connection the broker has dropped since is made again.
  if (connected_ && mosquitto_loop(handle_, 0, 1) == MOSQ_ERR_SUCCESS) return {};
  connected_ = false;
  connack_ = -1;
  const int keep_alive = options_.keep_alive_secs;
  const int rc =
      mosquitto_connect(handle_, options_.address.host.c_str(), options_.address.port, keep_alive);
  if (rc != MOSQ_ERR_SUCCESS) return PublishError{true, describe(rc)};
  if (auto acked = loop_until([this] { return connack_ >= 0; }); !acked) return acked;
  if (connack_ != 0) {
    mosquitto_disconnect(handle_);
    return PublishError{true,
                        std::string("Connection refused: ") + mosquitto_connack_string(connack_)};
  }
  connected_ = true;
  return {};
}

Result<void, PublishError> Client::publish(std::string_view topic, std::string_view payload,
                                           Qos qos) {
  if (handle_ == nullptr) return PublishError{false, "cannot allocate an MQTT client"};
  if (auto connected = connect(); !connected) return connected;
  int mid = 0;
  const std::string name(topic);
  const int rc = mosquitto_publish(handle_, &mid, name.c_str(), static_cast<int>(payload.size()),
                                   payload.data(), static_cast<int>(qos), false);
  if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO) {
    connected_ = false;
    return PublishError{true, describe(rc)};
  }
  if (rc != MOSQ_ERR_SUCCESS) return PublishError{false, describe(rc)};
  auto delivered = loop_until([&] { return delivered_.count(mid) > 0; });
  delivered_.erase(mid);
  return delivered;
}

std::unique_ptr<Client> Pool::take(const std::string& key, const ClientOptions& options) {
  {
    std::lock_guard lock(mutex_);
    auto& idle = idle_[key];
    if (!idle.empty()) {
      std::unique_ptr<Client> client = std::move(idle.back());
      idle.pop_back();
      return client;
    }
  }
  return std::make_unique<Client>(options);
}

void Pool::give_back(const std::string& key, std::unique_ptr<Client> client) {
  if (client == nullptr) return;
  std::lock_guard lock(mutex_);
  auto& idle = idle_[key];
  if (idle.size() < kMaxIdle) idle.push_back(std::move(client));
}

}  // namespace gyre::spin::mqtt
