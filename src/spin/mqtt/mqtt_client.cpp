#include "spin/mqtt/mqtt_client.hpp"

#include <mosquitto.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
#include <mutex>

#include "base/socket_wait.hpp"
#include "spin/url_parts.hpp"

namespace gyre::spin::mqtt {
namespace {

// A broker that stops answering fails the guest's call instead of holding it forever.
constexpr auto kDeadline = std::chrono::seconds(30);
// How often a wait comes back for the keep-alive's bookkeeping.
constexpr auto kKeepAliveCheck = std::chrono::seconds(1);
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
  make_handle();
}

void Client::make_handle() {
  if (handle_ != nullptr) mosquitto_destroy(handle_);
  connected_ = false;
  broken_ = false;
  delivered_.clear();
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
  // DISCONNECT is queued and written at once if the socket takes it; never waited for.
  if (connected_ && !broken_) mosquitto_disconnect(handle_);
  mosquitto_destroy(handle_);
}

Result<void, PublishError> Client::fail(PublishError error) {
  connected_ = false;
  broken_ = true;
  return error;
}

template <class Done>
Result<void, PublishError> Client::loop_until(Done done, Suspender* suspender) {
  const auto give_up = Suspender::Clock::now() + kDeadline;
  while (!done()) {
    const int fd = mosquitto_socket(handle_);
    if (fd < 0) return fail(PublishError{true, "the connection was lost"});
    if (mosquitto_want_write(handle_)) {
      if (const int rc = mosquitto_loop_write(handle_, 1); rc != MOSQ_ERR_SUCCESS)
        return fail(PublishError{true, describe(rc)});
      if (done()) break;  // a QoS 0 message counts as delivered once written
    }
    const uint8_t ready = kSocketReadable | (mosquitto_want_write(handle_) ? kSocketWritable : 0);
    // Back at least every second for the keep-alive (mosquitto_loop_misc).
    const auto until = std::min(give_up, Suspender::Clock::now() + kKeepAliveCheck);
    switch (wait_socket(suspender, fd, ready, until)) {
      case SocketWait::kReady:
        break;
      case SocketWait::kTimedOut:
        if (Suspender::Clock::now() >= give_up)
          return fail(PublishError{true, "the broker did not answer in time"});
        break;
      case SocketWait::kStopped:
        return fail(PublishError{false, kStoppedWhileWaiting});
    }
    if (socket_ready_now(fd, kSocketReadable)) {
      if (const int rc = mosquitto_loop_read(handle_, 1); rc != MOSQ_ERR_SUCCESS)
        return fail(PublishError{true, describe(rc)});
    }
    if (const int rc = mosquitto_loop_misc(handle_); rc != MOSQ_ERR_SUCCESS)
      return fail(PublishError{true, describe(rc)});
  }
  return {};
}

bool Client::still_connected() {
  if (!connected_) return false;
  const int fd = mosquitto_socket(handle_);
  if (fd < 0) return false;
  // What the broker sent meanwhile (a PINGRESP, or the end of the connection), then the
  // keep-alive's PINGREQ if one is due.
  if (socket_ready_now(fd, kSocketReadable) && mosquitto_loop_read(handle_, 1) != MOSQ_ERR_SUCCESS)
    return false;
  return mosquitto_loop_misc(handle_) == MOSQ_ERR_SUCCESS;
}

Result<void, PublishError> Client::connect(Suspender* suspender) {
  if (still_connected()) return {};
  // A connection the broker dropped is made again with a fresh client, so nothing it
  // had queued is sent again.
  if (connected_) make_handle();
  if (handle_ == nullptr) return PublishError{false, "cannot allocate an MQTT client"};
  connected_ = false;
  connack_ = -1;
  const int keep_alive = options_.keep_alive_secs;
  // The TCP connect does not wait; the CONNECT goes out once the socket is writable.
  const int rc = mosquitto_connect_async(handle_, options_.address.host.c_str(),
                                         options_.address.port, keep_alive);
  if (rc != MOSQ_ERR_SUCCESS) return fail(PublishError{true, describe(rc)});
  if (auto acked = loop_until([this] { return connack_ >= 0; }, suspender); !acked) return acked;
  if (connack_ != 0) {
    return fail(PublishError{
        true, std::string("Connection refused: ") + mosquitto_connack_string(connack_)});
  }
  connected_ = true;
  return {};
}

Result<void, PublishError> Client::publish(std::string_view topic, std::string_view payload,
                                           Qos qos, Suspender* suspender) {
  if (broken_) make_handle();
  if (handle_ == nullptr) return PublishError{false, "cannot allocate an MQTT client"};
  if (auto connected = connect(suspender); !connected) return connected;
  int mid = 0;
  const std::string name(topic);
  const int rc = mosquitto_publish(handle_, &mid, name.c_str(), static_cast<int>(payload.size()),
                                   payload.data(), static_cast<int>(qos), false);
  if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO)
    return fail(PublishError{true, describe(rc)});
  if (rc != MOSQ_ERR_SUCCESS) return PublishError{false, describe(rc)};
  auto delivered = loop_until([&] { return delivered_.count(mid) > 0; }, suspender);
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
  if (client == nullptr || client->broken()) return;
  std::lock_guard lock(mutex_);
  auto& idle = idle_[key];
  if (idle.size() < kMaxIdle) idle.push_back(std::move(client));
}

}  // namespace gyre::spin::mqtt
