// A stand-in MQTT 3.1.1 broker on 127.0.0.1 that shows many publishers waiting on it at
// once: it accepts connections (CONNACK at once) and QoS 1 PUBLISHes, but sends no PUBACK
// until a given number of PUBLISHes have all arrived. mosquitto cannot be made to hold
// its acknowledgements, hence this; it speaks just enough of the protocol for a publisher.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gyre::spin::mqtt::testing {

class HoldingBroker {
 public:
  // Holds the PUBACKs of the first `count` QoS 1 PUBLISHes until all of them are in.
  explicit HoldingBroker(size_t count);
  ~HoldingBroker();
  HoldingBroker(const HoldingBroker&) = delete;
  HoldingBroker& operator=(const HoldingBroker&) = delete;

  uint16_t port() const { return port_; }
  // Waits (at most `guard`, a hang guard) until the held count has arrived. True when it
  // did; either way every held PUBACK then goes out, and later ones at once.
  bool all_arrived(std::chrono::seconds guard);
  // The payloads of the PUBLISHes received, in arrival order.
  std::vector<std::string> payloads();

 private:
  struct Client {
    int fd;
    std::string in;  // bytes not yet parsed
  };
  struct Ack {
    int fd;
    uint16_t packet_id;
  };
  void run();
  // Parses what `client` sent; false when it is gone.
  bool serve(Client& client);
  void release_locked();

  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  size_t holding_;
  std::vector<Ack> held_;
  std::vector<std::string> payloads_;
  std::thread thread_;
};

}  // namespace gyre::spin::mqtt::testing
