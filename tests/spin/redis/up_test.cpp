// Outbound Redis through `gyre up` as a user runs it: a component the Spin Python SDK
// built (fixtures/python/redis) talks to a real redis-server within its
// allowed_outbound_hosts, over real HTTP; other addresses are refused with Spin's warning.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "app/outbound_hosts.hpp"
#include "support/gyre_up.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/redis_server.hpp"

namespace {

namespace fs = std::filesystem;
using gyre::testing::GyreUp;

fs::path redis_app(const std::string& name, const std::string& allowed) {
  return gyre::testing::make_fixture_app("redis-" + name, "redis", "redis", "python-redis",
                                         "allowed_outbound_hosts = " + allowed + "\n");
}

std::pair<int, std::string> op(const GyreUp& gyre, const std::string& query) {
  return gyre::testing::get_query(gyre, query);
}

TEST(RedisUp, EveryOperationOfThePythonSdkReachesTheServer) {
  gyre::testing::RedisServer server;
  ASSERT_NE(server.port(), 0) << server.output();
  GyreUp gyre(redis_app("ops", "[\"" + server.url() + "\"]"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  const std::string at = "address=" + server.url() + "&";
  const std::pair<int, std::string> ok{200, "ok"};
  EXPECT_EQ(op(gyre, at + "op=open"), ok);
  EXPECT_EQ(op(gyre, at + "op=get&key=k").second, "none");
  EXPECT_EQ(op(gyre, at + "op=set&key=k&value=hello"), ok);
  EXPECT_EQ(gyre::testing::redis_cli(server, "GET k"), "hello");
  EXPECT_EQ(op(gyre, at + "op=get&key=k").second, "hello");
  EXPECT_EQ(op(gyre, at + "op=incr&key=n").second, "1");
  EXPECT_EQ(op(gyre, at + "op=sadd&key=s&value=a,b,c").second, "3");
  EXPECT_EQ(op(gyre, at + "op=srem&key=s&value=b").second, "1");
  EXPECT_EQ(op(gyre, at + "op=smembers&key=s").second, "a,c");
  EXPECT_EQ(op(gyre, at + "op=del&value=k,n,missing").second, "2");
  EXPECT_EQ(op(gyre, at + "op=publish&key=news&value=hi"), ok);
  EXPECT_EQ(op(gyre, at + "op=execute&key=SET&value=e,7").second, "RedisResult_Status(OK)");
  EXPECT_EQ(op(gyre, at + "op=execute&key=INCRBY&value=e,5").second, "RedisResult_Int64(12)");
  EXPECT_EQ(op(gyre, at + "op=execute&key=MGET&value=e,missing").second,
            "RedisResult_Binary(12),RedisResult_Nil()");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(RedisUp, AnAddressNotAllowedIsRefusedWithSpinsWarning) {
  gyre::testing::RedisServer server;
  ASSERT_NE(server.port(), 0) << server.output();
  GyreUp gyre(redis_app("denied", "[\"redis://127.0.0.1:1\"]"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  EXPECT_EQ(op(gyre, "address=" + server.url() + "&op=set&key=k&value=v"),
            std::pair(409, std::string("err Error_InvalidAddress")));
  EXPECT_EQ(gyre::testing::redis_cli(server, "EXISTS k"), "0");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
  EXPECT_NE(gyre.output().find(
                gyre::app::denied_message("redis", "127.0.0.1:" + std::to_string(server.port()))),
            std::string::npos)
      << gyre.output();
}

// A guest waiting on Redis holds no thread: more guests than the app has worker threads and
// lanes wait in BLPOP at once, and each gets its item once the test pushes them.
TEST(RedisUp, ManyGuestsWaitOnTheServerAtOnce) {
  gyre::testing::RedisServer server;
  ASSERT_NE(server.port(), 0) << server.output();
  GyreUp gyre(redis_app("waiting", "[\"" + server.url() + "\"]"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  const int guests = 2 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) + 8;
  const std::string query = "address=" + server.url() + "&op=execute&key=BLPOP&value=gate,60";
  std::vector<std::future<std::pair<int, std::string>>> answers;
  for (int i = 0; i < guests; ++i)
    answers.push_back(std::async(std::launch::async, [&] { return op(gyre, query); }));
  // All of them wait at once, or a minute passes (a hang guard, not a timing).
  int waiting = 0;
  for (int tries = 0; tries < 600 && (waiting = gyre::testing::blocked_clients(server)) < guests;
       ++tries)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(waiting, guests) << gyre.output();
  std::string push = "RPUSH gate";
  for (int i = 0; i < guests; ++i)
    push += " item";
  gyre::testing::redis_cli(server, push);
  for (auto& answer : answers) {
    EXPECT_EQ(answer.get(),
              std::pair(200, std::string("RedisResult_Binary(gate),RedisResult_Binary(item)")));
  }
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

}  // namespace
