// Outbound MQTT through `gyre up` as a user runs it: a component the Spin Python SDK built
// (fixtures/python/mqtt) publishes to a real mosquitto within its allowed_outbound_hosts,
// over real HTTP, and a subscriber in the test receives each message; other addresses are
// refused with Spin's warning.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "app/outbound_hosts.hpp"
#include "holding_broker.hpp"
#include "support/gyre_up.hpp"
#include "support/http_client.hpp"
#include "support/mosquitto_server.hpp"
#include "support/process.hpp"

namespace {

namespace fs = std::filesystem;
using gyre::testing::GyreUp;
using gyre::testing::http_request;

fs::path mqtt_app(const std::string& name, const std::string& allowed) {
  return gyre::testing::make_fixture_app("mqtt-" + name, "mqtt", "mqtt", "python-mqtt",
                                         "allowed_outbound_hosts = " + allowed + "\n");
}

// Percent-encoded for a query value.
std::string encoded(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  return out;
}

TEST(MqttUp, ASubscriberReceivesWhatThePythonSdkPublishes) {
  gyre::testing::MosquittoServer broker;
  ASSERT_NE(broker.port(), 0) << broker.output();
  GyreUp gyre(mqtt_app("publish", "[\"mqtt://127.0.0.1:" + std::to_string(broker.port()) + "\"]"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  gyre::testing::MqttSubscriber subscriber(broker.port(), "sensors/#");
  ASSERT_TRUE(subscriber.subscribed()) << broker.output();
  for (int qos : {0, 1}) {
    const std::string payload = "reading " + std::to_string(qos);
    auto r = http_request(gyre.port(), "GET",
                          "/?address=" + encoded(broker.url("py-" + std::to_string(qos))) +
                              "&topic=sensors/t&payload=" + encoded(payload) +
                              "&qos=" + std::to_string(qos));
    EXPECT_EQ(r.status, 200) << r.body;
    auto message = subscriber.next();
    ASSERT_TRUE(message.has_value()) << "qos " << qos;
    EXPECT_EQ(message->topic, "sensors/t");
    EXPECT_EQ(message->payload, payload);
    EXPECT_EQ(message->qos, qos);
  }
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

// A guest waiting on the broker holds no thread: more guests than the app has worker
// threads and lanes wait for their QoS 1 PUBACK at once (the stand-in broker sends none
// until all PUBLISHes are in), and each publish then succeeds.
TEST(MqttUp, ManyGuestsWaitOnTheBrokerAtOnce) {
  const int guests = 2 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) + 8;
  gyre::spin::mqtt::testing::HoldingBroker broker(guests);
  ASSERT_NE(broker.port(), 0);
  const std::string origin = "mqtt://127.0.0.1:" + std::to_string(broker.port());
  GyreUp gyre(mqtt_app("waiting", "[\"" + origin + "\"]"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  std::vector<std::future<gyre::testing::HttpResponse>> answers;
  for (int i = 0; i < guests; ++i) {
    answers.push_back(std::async(std::launch::async, [&, i] {
      const std::string n = std::to_string(i);
      return http_request(gyre.port(), "GET",
                          "/?address=" + encoded(origin + "?client_id=py-" + n) +
                              "&topic=t&payload=m" + n + "&qos=1");
    }));
  }
  // All of them wait at once, or a minute passes (a hang guard, not a timing).
  EXPECT_TRUE(broker.all_arrived(std::chrono::seconds(60))) << gyre.output();
  for (auto& answer : answers) {
    auto r = answer.get();
    EXPECT_EQ(r.status, 200) << r.body;
  }
  auto payloads = broker.payloads();
  std::sort(payloads.begin(), payloads.end());
  std::vector<std::string> expected;
  for (int i = 0; i < guests; ++i)
    expected.push_back("m" + std::to_string(i));
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(payloads, expected);
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(MqttUp, AnAddressNotAllowedIsRefusedWithSpinsWarning) {
  gyre::testing::MosquittoServer broker;
  ASSERT_NE(broker.port(), 0) << broker.output();
  GyreUp gyre(mqtt_app("denied", "[\"mqtt://127.0.0.1:1\"]"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  const std::string address = broker.url("py");
  auto r = http_request(gyre.port(), "GET", "/?address=" + encoded(address) + "&topic=t&payload=x");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(r.body, "err Error_ConnectionFailed: address " + address + " is not permitted");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
  EXPECT_NE(gyre.output().find(
                gyre::app::denied_message("mqtt", "127.0.0.1:" + std::to_string(broker.port()))),
            std::string::npos)
      << gyre.output();
}

}  // namespace
