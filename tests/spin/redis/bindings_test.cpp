// Outbound Redis as a guest sees it: a C component (fixtures/c/outredis) imports Spin 1's
// and Spin 2's interfaces and Spin 4's spin:redis/redis@3.0.0 (async functions, which the
// guest lowers async), and each export runs one operation through one version and prints
// the outcome. The host is the real factor, given the component's allowed_outbound_hosts
// from a spin.toml, talking to a real redis-server.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "app/manifest.hpp"
#include "app/variables.hpp"
#include "component/instance.hpp"
#include "spin/redis/redis_factor.hpp"
#include "support/factor_harness.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace gyre::spin::redis {
namespace {

using component::Val;
using Args = std::vector<std::string>;

// The exports of the connection-based versions: Spin 2's, and Spin 4's 3.0.0 (the same
// functions and errors, async, lowered async). Each must behave exactly alike.
const char* const kConnectionVersions[] = {"v2", "v3"};

class RedisBindings : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(server_.port(), 0) << server_.output(); }
  void TearDown() override { stop(); }

  // Loads the app as `gyre up` would, with these allowed_outbound_hosts (TOML), and
  // instantiates the guest; returns the error, or "" when the guest is ready.
  std::string start(const std::string& allowed) {
    std::vector<std::unique_ptr<Factor>> factors;
    factors.push_back(make_factor());
    return app_.start(harness_,
                      gyre::testing::guest_manifest("redis", "allowed_outbound_hosts = " + allowed),
                      std::move(factors), "c-outredis");
  }

  void stop() {
    harness_.reset();
    app_.stop();
  }

  std::string call(const std::string& version, const std::string& address, const std::string& op,
                   const std::string& key = "", const Args& args = {}) {
    std::vector<Val> items;
    for (const std::string& arg : args)
      items.push_back(Val::string(arg));
    const Val params[] = {Val::string(address), Val::string(op), Val::string(key),
                          Val::list(std::move(items))};
    return harness_.call(version, params);
  }

  std::string allowed() const {
    return "[\"redis://127.0.0.1:" + std::to_string(server_.port()) + "\"]";
  }
  std::string cli(const std::string& args) const { return gyre::testing::redis_cli(server_, args); }

  gyre::testing::RedisServer server_;
  gyre::testing::GuestApp app_;  // before the harness: its guest goes first
  std::string& log_ = app_.log();
  gyre::testing::FactorHarness harness_;
};

TEST_F(RedisBindings, EveryFunctionOfSpin2AndSpin4WorksOnARealServer) {
  ASSERT_EQ(start(allowed()), "");
  const std::string url = server_.url();
  for (const char* version : kConnectionVersions) {
    SCOPED_TRACE(version);
    ASSERT_EQ(cli("FLUSHALL"), "OK");  // each version starts from an empty server
    EXPECT_EQ(call(version, url, "open"), "ok");
    EXPECT_EQ(call(version, url, "get", "k"), "ok(none)");
    EXPECT_EQ(call(version, url, "set", "k", {"hello"}), "ok");
    EXPECT_EQ(cli("GET k"), "hello");
    EXPECT_EQ(call(version, url, "get", "k"), "ok(\"hello\")");
    EXPECT_EQ(call(version, url, "set", "empty", {""}), "ok");
    EXPECT_EQ(call(version, url, "get", "empty"), "ok(\"\")");
    EXPECT_EQ(call(version, url, "incr", "n"), "ok(1)");
    EXPECT_EQ(call(version, url, "incr", "n"), "ok(2)");
    EXPECT_EQ(cli("GET n"), "2");
    EXPECT_EQ(call(version, url, "del", "", {"k", "n", "missing"}), "ok(2)");
    EXPECT_EQ(cli("EXISTS k"), "0");
    EXPECT_EQ(call(version, url, "sadd", "s", {"a", "b", "c"}), "ok(3)");
    EXPECT_EQ(call(version, url, "sadd", "s", {"a", "d"}), "ok(1)");
    EXPECT_EQ(call(version, url, "smembers", "s"), "ok([a,b,c,d])");
    EXPECT_EQ(call(version, url, "srem", "s", {"a", "x"}), "ok(1)");
    EXPECT_EQ(call(version, url, "smembers", "s"), "ok([b,c,d])");
    EXPECT_EQ(call(version, url, "smembers", "none"), "ok([])");
    EXPECT_EQ(call(version, url, "publish", "channel", {"message"}), "ok");
    // execute: every parameter case, and every result case (arrays flattened).
    EXPECT_EQ(call(version, url, "execute", "SET", {"e", "#42"}), "ok([status(OK)])");
    EXPECT_EQ(call(version, url, "execute", "INCRBY", {"e", "#-50"}), "ok([int64(-8)])");
    EXPECT_EQ(call(version, url, "execute", "GET", {"e"}), "ok([binary(\"-8\")])");
    EXPECT_EQ(call(version, url, "execute", "GET", {"missing"}), "ok([nil])");
    EXPECT_EQ(call(version, url, "execute", "RPUSH", {"l", "x", "#7"}), "ok([int64(2)])");
    EXPECT_EQ(call(version, url, "execute", "LRANGE", {"l", "#0", "#-1"}),
              "ok([binary(\"x\"),binary(\"7\")])");
    EXPECT_EQ(call(version, url, "execute", "MGET", {"e", "missing"}), "ok([binary(\"-8\"),nil])");
    EXPECT_EQ(call(version, url, "execute", "PING"), "ok([status(PONG)])");
  }
}

TEST_F(RedisBindings, ServerErrorsAreOtherErrorsForTheGuest) {
  ASSERT_EQ(start(allowed()), "");
  const std::string url = server_.url();
  for (const char* version : kConnectionVersions) {
    SCOPED_TRACE(version);
    EXPECT_EQ(call(version, url, "set", "text", {"abc"}), "ok");
    EXPECT_EQ(call(version, url, "incr", "text"),
              "err(other: ERR value is not an integer or out of range)");
    EXPECT_EQ(call(version, url, "sadd", "text", {"a"}),
              "err(other: WRONGTYPE Operation against a key holding the wrong kind of value)");
    EXPECT_EQ(call(version, url, "execute", "NOSUCHCOMMAND"),
              "err(other: ERR unknown command 'NOSUCHCOMMAND', with args beginning with: )");
  }
  EXPECT_EQ(call("v1", url, "incr", "text"), "err(error)");
  EXPECT_EQ(call("v1", url, "smembers", "text"), "err(error)");
  // The connection is still good afterwards.
  for (const char* version : kConnectionVersions)
    EXPECT_EQ(call(version, url, "get", "text"), "ok(\"abc\")") << version;
}

TEST_F(RedisBindings, EveryFunctionOfSpin1WorksOnARealServer) {
  ASSERT_EQ(start(allowed()), "");
  const std::string url = server_.url();
  EXPECT_EQ(call("v1", url, "get", "k"), "ok(\"\")");  // Spin 1: a missing key is empty
  EXPECT_EQ(call("v1", url, "set", "k", {"v1 value"}), "ok");
  EXPECT_EQ(cli("GET k"), "v1 value");
  EXPECT_EQ(call("v1", url, "get", "k"), "ok(\"v1 value\")");
  EXPECT_EQ(call("v1", url, "incr", "n"), "ok(1)");
  EXPECT_EQ(call("v1", url, "del", "", {"k", "n"}), "ok(2)");
  EXPECT_EQ(call("v1", url, "sadd", "s", {"x", "y"}), "ok(2)");
  EXPECT_EQ(call("v1", url, "smembers", "s"), "ok([x,y])");
  EXPECT_EQ(call("v1", url, "srem", "s", {"x"}), "ok(1)");
  EXPECT_EQ(cli("SMEMBERS s"), "y");
  EXPECT_EQ(call("v1", url, "publish", "channel", {"m"}), "ok");
  EXPECT_EQ(call("v1", url, "execute", "SET", {"e", "#5"}), "ok([status(OK)])");
  EXPECT_EQ(call("v1", url, "execute", "INCR", {"e"}), "ok([int64(6)])");
  EXPECT_EQ(call("v1", url, "execute", "GET", {"e"}), "ok([binary(\"6\")])");
  EXPECT_EQ(call("v1", url, "execute", "MGET", {"missing", "e"}), "ok([nil,binary(\"6\")])");
  // Every version reaches the same server.
  for (const char* version : kConnectionVersions)
    EXPECT_EQ(call(version, url, "get", "e"), "ok(\"6\")") << version;
}

// A subscriber on its own connection sees what the guest publishes, through every version.
TEST_F(RedisBindings, APublishedMessageReachesASubscriber) {
  ASSERT_EQ(start(allowed()), "");
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server_.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const timeval failsafe{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &failsafe, sizeof failsafe);
  std::string received;
  // Reads until `text` has come (or the connection ends).
  auto read_until = [&](const std::string& text) {
    char chunk[512];
    while (received.find(text) == std::string::npos) {
      const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      received.append(chunk, static_cast<size_t>(n));
    }
    return true;
  };
  const std::string subscribe = "SUBSCRIBE news\r\n";
  ASSERT_EQ(write(fd, subscribe.data(), subscribe.size()), static_cast<ssize_t>(subscribe.size()));
  ASSERT_TRUE(read_until("news\r\n:1\r\n")) << received;
  for (const std::string version : kConnectionVersions) {
    EXPECT_EQ(call(version, server_.url(), "publish", "news", {"from " + version}), "ok");
    EXPECT_TRUE(read_until("$7\r\nfrom " + version + "\r\n")) << received;
  }
  EXPECT_EQ(call("v1", server_.url(), "publish", "news", {"from v1"}), "ok");
  EXPECT_TRUE(read_until("$7\r\nfrom v1\r\n")) << received;
  close(fd);
}

// An address the component may not reach: Spin's warning on the terminal, and each
// version's own error; an address that is no URL is refused without a warning.
TEST_F(RedisBindings, AddressesNotAllowedAreRefusedWithSpinsWarning) {
  ASSERT_EQ(start("[\"redis://127.0.0.1:1\"]"), "");
  const std::string url = server_.url();
  const std::string warning =
      app::denied_message("redis", "127.0.0.1:" + std::to_string(server_.port()));
  for (const char* version : kConnectionVersions) {
    SCOPED_TRACE(version);
    EXPECT_EQ(call(version, url, "open"), "err(invalid-address)");
    EXPECT_EQ(log_, warning);
    log_.clear();
  }
  EXPECT_EQ(call("v1", url, "set", "k", {"v"}), "err(error)");
  EXPECT_EQ(log_, warning);
  log_.clear();
  for (const char* version : kConnectionVersions) {
    SCOPED_TRACE(version);
    EXPECT_EQ(call(version, "redis://example.com", "open"), "err(invalid-address)");
    EXPECT_EQ(log_, app::denied_message("redis", "example.com"));
    log_.clear();
    EXPECT_EQ(call(version, "not a url", "open"), "err(invalid-address)");
    EXPECT_EQ(log_, "");
  }
  // Nothing reached the server.
  EXPECT_EQ(cli("EXISTS k"), "0");
}

TEST_F(RedisBindings, AComponentWithoutAllowedHostsReachesNothing) {
  ASSERT_EQ(start("[]"), "");
  for (const char* version : kConnectionVersions)
    EXPECT_EQ(call(version, server_.url(), "open"), "err(invalid-address)") << version;
  EXPECT_EQ(call("v1", server_.url(), "get", "k"), "err(error)");
}

TEST_F(RedisBindings, AServerThatIsNotThereIsAnOtherError) {
  ASSERT_EQ(start("[\"redis://127.0.0.1:*\"]"), "");
  std::string url;
  {
    gyre::testing::RedisServer gone;  // a port that was just free, and is again
    ASSERT_NE(gone.port(), 0);
    url = gone.url();
  }
  for (const char* version : kConnectionVersions)
    EXPECT_EQ(call(version, url, "open"), "err(other: Connection refused)") << version;
  EXPECT_EQ(call("v1", url, "get", "k"), "err(error)");
}

// One app shares its connections: sequential opens, through any version, reuse the same one.
TEST_F(RedisBindings, ConnectionsArePooledAcrossOpens) {
  ASSERT_EQ(start(allowed()), "");
  int n = 0;
  for (const char* version : kConnectionVersions) {
    for (int i = 0; i < 5; ++i) {
      ++n;
      EXPECT_EQ(call(version, server_.url(), "incr", "n"), "ok(" + std::to_string(n) + ")")
          << version;
    }
  }
  for (int i = 0; i < 5; ++i) {
    ++n;
    EXPECT_EQ(call("v1", server_.url(), "incr", "n"), "ok(" + std::to_string(n) + ")");
  }
  // Ours, and redis-cli's own.
  EXPECT_NE(cli("INFO clients").find("connected_clients:2"), std::string::npos)
      << cli("INFO clients");
}

}  // namespace
}  // namespace gyre::spin::redis
