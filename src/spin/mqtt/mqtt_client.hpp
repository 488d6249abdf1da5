// An MQTT 3.1.1 publisher over libmosquitto, and the app-wide pool of idle ones the
// outbound MQTT capability reuses. It behaves as Spin's (rumqttc) does: the address is
// `mqtt://host[:port]?client_id=ID` (`tcp://` too), the connection is made on the first
// publish, and a publish returns once the broker has the message as its QoS promises
// (QoS 0: sent; 1: PUBACK; 2: PUBCOMP). It runs libmosquitto's non-blocking network
// steps itself and waits for the broker through wait_socket (base/socket_wait.hpp): a
// guest's publish parks its fiber and holds no thread; with no Suspender it blocks in
// poll(2).
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
#include "base/suspender.hpp"

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

  // Publishes, its waits through `suspender`.
  Result<void, PublishError> publish(std::string_view topic, std::string_view payload, Qos qos,
                                     Suspender* suspender);

  // Whether a failure left the client mid-exchange (a message it may still send or owe an
  // answer for): such a client never goes back to the pool, and its next publish starts
  // over with a fresh one.
  bool broken() const { return broken_; }

 private:
  // A fresh libmosquitto client, nothing queued, not connected.
  void make_handle();
  Result<void, PublishError> connect(Suspender* suspender);
  // Whether a pooled connection is still up (the broker may have dropped it since).
  bool still_connected();
  // Runs the network steps until `done` or a failure; a failure breaks the client.
  template <class Done>
  Result<void, PublishError> loop_until(Done done, Suspender* suspender);
  Result<void, PublishError> fail(PublishError error);

  ClientOptions options_;
  ::mosquitto* handle_ = nullptr;
  bool connected_ = false;
  bool broken_ = false;
  int connack_ = -1;  // the CONNACK code once it came
  std::set<int> delivered_;
};

// Idle clients by their options, shared by every instance of an app's components; a
// broken one given back is dropped.
class Pool {
 public:
  std::unique_ptr<Client> take(const std::string& key, const ClientOptions& options);
  void give_back(const std::string& key, std::unique_ptr<Client> client);

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<std::unique_ptr<Client>>> idle_;
};

}  // namespace gyre::spin::mqtt
