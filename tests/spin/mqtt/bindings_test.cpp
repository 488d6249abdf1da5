// Outbound MQTT as a guest sees it: a C component (fixtures/c/outmqtt) opens a connection
// and publishes through fermyon:spin/mqtt@2.0.0 (export `publish`) or through Spin 4's
// spin:mqtt/mqtt@3.0.0, whose async functions the guest lowers async (`publish-v3`). The
// host is the real factor, given the component's allowed_outbound_hosts from a spin.toml,
// talking to a real mosquitto; a subscriber in the test receives what the guest published.
#include <gtest/gtest.h>

#include "app/manifest.hpp"
#include "app/variables.hpp"
#include "component/instance.hpp"
#include "spin/mqtt/mqtt_factor.hpp"
#include "support/factor_harness.hpp"
#include "support/mosquitto_server.hpp"
#include "support/process.hpp"

namespace gyre::spin::mqtt {
namespace {

using component::Val;
using gyre::testing::MqttMessage;
using gyre::testing::MqttSubscriber;

// The guest's exports, one per interface version: Spin 2's, and Spin 4's 3.0.0 (the same
// functions and errors, async, lowered async). Each must behave exactly alike.
const char* const kVersions[] = {"publish", "publish-v3"};

// A client id of its own for each version, so that each opens its own connection.
std::string client_id(const std::string& name, const std::string& version) {
  return name + "-" + version;
}

class MqttBindings : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(broker_.port(), 0) << broker_.output(); }
  void TearDown() override { stop(); }

  // Loads the app as `gyre up` would, with these allowed_outbound_hosts (TOML), and
  // instantiates the guest; returns the error, or "" when the guest is ready.
  std::string start(const std::string& allowed) {
    std::vector<std::unique_ptr<Factor>> factors;
    factors.push_back(make_factor());
    return app_.start(harness_,
                      gyre::testing::guest_manifest("mqtt", "allowed_outbound_hosts = " + allowed),
                      std::move(factors), "c-outmqtt");
  }

  void stop() {
    harness_.reset();
    app_.stop();
  }

  struct Publish {
    std::string address;
    std::string topic = "gyre/test";
    std::vector<std::string> payloads;
    int qos = 0;
    std::string username;
    std::string password;
    uint64_t keep_alive = 30;
  };

  // Runs the export `version`.
  std::string publish(const std::string& version, const Publish& p) {
    std::vector<Val> items;
    for (const std::string& payload : p.payloads)
      items.push_back(Val::string(payload));
    const Val params[] = {Val::string(p.address),
                          Val::string(p.username),
                          Val::string(p.password),
                          Val::u64(p.keep_alive),
                          Val::string(p.topic),
                          Val::list(std::move(items)),
                          Val::u8(static_cast<uint8_t>(p.qos))};
    return harness_.call(version, params);
  }

  std::string allowed() const {
    return "[\"mqtt://127.0.0.1:" + std::to_string(broker_.port()) + "\"]";
  }

  gyre::testing::MosquittoServer broker_;
  gyre::testing::GuestApp app_;  // before the harness: its guest goes first
  std::string& log_ = app_.log();
  gyre::testing::FactorHarness harness_;
};

TEST_F(MqttBindings, ASubscriberReceivesWhatTheGuestPublishesAtEachQos) {
  ASSERT_EQ(start(allowed()), "");
  MqttSubscriber subscriber(broker_.port(), "gyre/#");
  ASSERT_TRUE(subscriber.subscribed()) << broker_.output();
  for (const char* version : kVersions) {
    SCOPED_TRACE(version);
    for (int qos : {0, 1, 2}) {
      const std::string payload = "message at qos " + std::to_string(qos);
      EXPECT_EQ(publish(version, {.address = broker_.url(client_id("gyre-guest", version)),
                                  .topic = "gyre/q" + std::to_string(qos),
                                  .payloads = {payload},
                                  .qos = qos}),
                "ok");
      std::optional<MqttMessage> message = subscriber.next();
      ASSERT_TRUE(message.has_value()) << "qos " << qos;
      EXPECT_EQ(message->topic, "gyre/q" + std::to_string(qos));
      EXPECT_EQ(message->payload, payload);
      EXPECT_EQ(message->qos, qos);
    }
  }
  EXPECT_EQ(log_, "");
}

TEST_F(MqttBindings, ManyMessagesOnOneConnectionArriveInOrder) {
  ASSERT_EQ(start(allowed()), "");
  MqttSubscriber subscriber(broker_.port(), "gyre/test", 1);
  ASSERT_TRUE(subscriber.subscribed()) << broker_.output();
  for (const char* version : kVersions) {
    SCOPED_TRACE(version);
    const std::string address = broker_.url(client_id("gyre-many", version));
    EXPECT_EQ(publish(version, {.address = address,
                                .payloads = {"one", std::string("two\0bytes", 9), ""},
                                .qos = 1,
                                .username = "user",
                                .password = "secret"}),
              "ok");
    for (const std::string& expected :
         {std::string("one"), std::string("two\0bytes", 9), std::string()}) {
      auto message = subscriber.next();
      ASSERT_TRUE(message.has_value());
      EXPECT_EQ(message->payload, expected);
      EXPECT_EQ(message->qos, 1);
    }
    // Again, on the app's pooled connection.
    EXPECT_EQ(publish(version, {.address = address, .payloads = {"again"}, .qos = 1}), "ok");
    auto again = subscriber.next();
    ASSERT_TRUE(again.has_value());
    EXPECT_EQ(again->payload, "again");
  }
}

// An address the component may not reach: Spin's warning on the terminal and its
// connection-failed error; the broker sees nothing.
TEST_F(MqttBindings, AddressesNotAllowedAreRefusedWithSpinsWarning) {
  ASSERT_EQ(start("[\"mqtt://127.0.0.1:1\"]"), "");
  MqttSubscriber subscriber(broker_.port(), "gyre/#", 0);
  ASSERT_TRUE(subscriber.subscribed());
  const std::string address = broker_.url("denied");
  for (const char* version : kVersions) {
    SCOPED_TRACE(version);
    EXPECT_EQ(publish(version, {.address = address, .payloads = {"x"}}),
              "err(connection-failed: address " + address + " is not permitted)");
    EXPECT_EQ(log_, app::denied_message("mqtt", "127.0.0.1:" + std::to_string(broker_.port())));
    log_.clear();
    EXPECT_EQ(publish(version, {.address = "no url"}),
              "err(connection-failed: address no url is not permitted)");
    EXPECT_EQ(log_, "");
  }
}

TEST_F(MqttBindings, AnAddressWithoutAClientIdIsInvalid) {
  ASSERT_EQ(start(allowed()), "");
  const std::string address = "mqtt://127.0.0.1:" + std::to_string(broker_.port());
  for (const char* version : kVersions) {
    SCOPED_TRACE(version);
    EXPECT_EQ(publish(version, {.address = address, .payloads = {"x"}}), "err(invalid-address)");
    EXPECT_EQ(publish(version, {.address = address + "?client_id=id&clean_session=maybe"}),
              "err(invalid-address)");
  }
}

// As in Spin, open only checks the address: the broker is first reached by a publish.
TEST_F(MqttBindings, ABrokerThatIsNotThereFailsThePublish) {
  ASSERT_EQ(start("[\"mqtt://127.0.0.1:*\"]"), "");
  std::vector<std::string> addresses;  // one per version
  {
    gyre::testing::MosquittoServer gone;  // a port that was just free, and is again
    ASSERT_NE(gone.port(), 0);
    for (const char* version : kVersions)
      addresses.push_back(gone.url(client_id("nobody", version)));
  }
  for (size_t i = 0; i < std::size(kVersions); ++i) {
    SCOPED_TRACE(kVersions[i]);
    EXPECT_EQ(publish(kVersions[i], {.address = addresses[i]}), "ok");
    EXPECT_EQ(publish(kVersions[i], {.address = addresses[i], .payloads = {"x"}}),
              "err(connection-failed: I/O: Connection refused)");
  }
}

}  // namespace
}  // namespace gyre::spin::mqtt
