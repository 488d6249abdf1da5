// A synchronous MQTT 3.1.1 publisher over libmosquitto, and the app-wide pool of idle
// ones the outbound MQTT capability reuses. It behaves as Spin's (rumqttc) does: the
// address is `mqtt://host[:port]?client_id=ID` (`tcp://` too), the connection is made on
// the first publish, and a publish returns once the broker has the message as its QoS
// promises (QoS 0: sent; 1: PUBACK; 2: PUBCOMP).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

struct mosquitto;

namespace gyre::spin::mqtt {

struct MqttAddress {
  std::string host;
  int port = 1883;
  std::string client_id;
  bool clean_session = true;
};

// The address, or why it is not one (Spin's guest then gets `invalid-address`).
Result<MqttAddress, std::string> parse_mqtt_address(std::string_view address);

enum class Qos : uint8_t { kAtMostOnce, kAtLeastOnce, kExactlyOnce };

struct PublishError {
  bool connection_failed = false;  // the broker could not be reached or dropped us
  std::string message;
};

struct ClientOptions {
  MqttAddress address;
  std::string username;  // none when empty
  std::string password;
  int keep_alive_secs = 0;
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Result<void, PublishError> publish(std::string_view topic, std::string_view payload, Qos qos);

 private:
  Result<void, PublishError> connect();
  // Runs the network loop until `done` or a failure; a failure drops the connection.
  template <class Done>
  Result<void, PublishError> loop_until(Done done);

  ClientOptions options_;
  ::mosquitto* handle_ = nullptr;
  bool connected_ = false;
  int connack_ = -1;  // the CONNACK code once it came
  std::set<int> delivered_;
};

// Idle clients by their options, shared by every instance of an app's components.
class Pool {
 public:
  std::unique_ptr<Client> take(const std::string& key, const ClientOptions& options);
  void give_back(const std::string& key, std::unique_ptr<Client> client);

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<std::unique_ptr<Client>>> idle_;
};

}  // namespace gyre::spin::mqtt
