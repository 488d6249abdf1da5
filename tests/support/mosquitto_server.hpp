// A real mosquitto broker for tests: started on 127.0.0.1 on a free port with a temporary
// config (anonymous clients allowed), ready once it accepts connections, stopped (and its
// folder removed) when the object goes. And a subscriber speaking MQTT 3.1.1 itself, to
// see what a guest published without trusting the client library under test.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "support/server_process.hpp"

namespace gyre::testing {

class MosquittoServer {
 public:
  MosquittoServer();
  ~MosquittoServer();
  MosquittoServer(const MosquittoServer&) = delete;
  MosquittoServer& operator=(const MosquittoServer&) = delete;

  // 0 when it never started; then output() says why.
  uint16_t port() const { return server_.port(); }
  // "mqtt://127.0.0.1:<port>?client_id=<client_id>", as Spin's guests write it.
  std::string url(const std::string& client_id) const;
  // What mosquitto logged.
  std::string output() const;

 private:
  ServerProcess server_;
};

// One message as a subscriber received it.
struct MqttMessage {
  std::string topic;
  std::string payload;
  int qos = 0;  // as delivered: the lower of the publisher's and the subscription's
};

// A subscriber to one topic filter, subscribed (SUBACK received) when constructed.
class MqttSubscriber {
 public:
  MqttSubscriber(uint16_t port, const std::string& topic_filter, int qos = 2);
  ~MqttSubscriber();
  MqttSubscriber(const MqttSubscriber&) = delete;
  MqttSubscriber& operator=(const MqttSubscriber&) = delete;

  bool subscribed() const { return subscribed_; }
  // The next message, acknowledged as its QoS asks; nothing if none comes within a
  // generous while (a failsafe against a hung test, not a timing check).
  std::optional<MqttMessage> next();

 private:
  bool send_all(const std::string& bytes);
  // One packet: its first byte and its body; nothing on a closed or silent connection.
  std::optional<std::pair<uint8_t, std::string>> read_packet();

  int fd_ = -1;
  bool subscribed_ = false;
};

}  // namespace gyre::testing
