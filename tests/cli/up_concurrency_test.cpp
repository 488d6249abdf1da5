// `gyre up` keeps serving while its guests wait or compute: many JS SDK guests awaiting a
// slow upstream at once on a fixed number of threads, and quick requests answered beside
// a guest that never stops computing. Real process, real sockets, a local upstream.
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/server.hpp"
#include "support/gyre_up.hpp"
#include "support/http_client.hpp"
#include "support/raw_connection.hpp"
#include "trigger/lane_gate.hpp"

namespace {

using gyre::testing::GyreUp;
using gyre::testing::http_request;
using namespace std::chrono_literals;
namespace http = gyre::http;

// The process's thread count, from /proc.
int threads_of(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  return -1;
}

// An upstream that holds every request until `expected` of them are waiting together (or a
// minute passed: a hang guard), then answers them all. How many it held at once shows how
// many guests were waiting at once.
class GatheringUpstream : public http::Handler {
 public:
  explicit GatheringUpstream(size_t expected) : expected_(expected) {}
  void handle(http::Request, std::shared_ptr<http::ResponseWriter> response) override {
    std::vector<std::shared_ptr<http::ResponseWriter>> release;
    {
      std::lock_guard lock(mutex_);
      held_.push_back(std::move(response));
      most_held_ = std::max(most_held_, held_.size());
      if (held_.size() >= expected_) {
        gathered_ = true;
        gathered_cv_.notify_all();
      }
    }
  }
  // Waits until all are held (false after the guard), then lets `before_release` look at
  // the process while they wait, and answers them.
  bool gather_then_release(const std::function<void()>& before_release) {
    std::unique_lock lock(mutex_);
    const bool all = gathered_cv_.wait_for(lock, 1min, [&] { return gathered_; });
    lock.unlock();
    before_release();
    lock.lock();
    for (auto& response : held_)
      response->respond(http::ResponseHead{200, {{"content-type", "text/plain"}}}, "gathered");
    held_.clear();
    return all;
  }
  size_t most_held() {
    std::lock_guard lock(mutex_);
    return most_held_;
  }

 private:
  const size_t expected_;
  std::mutex mutex_;
  std::condition_variable gathered_cv_;
  std::vector<std::shared_ptr<http::ResponseWriter>> held_;
  size_t most_held_ = 0;
  bool gathered_ = false;
};

// An upstream server on 127.0.0.1 answering through `handler`, and an app whose one
// component (`fixture`) may reach it.
struct UpstreamAndApp {
  std::unique_ptr<http::Server> server;
  std::string port;
  std::filesystem::path app;
};
UpstreamAndApp start_upstream_and_app(std::shared_ptr<http::Handler> handler,
                                      const std::string& name, const std::string& fixture) {
  http::ServerConfig config;
  config.listen = "127.0.0.1:0";
  auto started = http::Server::start(config, std::move(handler));
  if (!started.ok()) return {};
  UpstreamAndApp out;
  out.server = std::move(started).value();
  out.port = std::to_string(out.server->local_endpoint().port());
  out.app = gyre::testing::make_fixture_app(
      name, "concurrency", "fetcher", fixture,
      "allowed_outbound_hosts = [\"http://127.0.0.1:" + out.port + "\"]\n");
  return out;
}

// `guests` requests at once through `fixture`, each fetching (through `target`, given the
// upstream's port) from an upstream that answers none of them until all have arrived.
void expect_all_wait_at_once(const std::string& fixture,
                             const std::function<std::string(const std::string&)>& target) {
  constexpr size_t kGuests = 200;
  auto upstream = std::make_shared<GatheringUpstream>(kGuests);
  auto [server, port, app] =
      start_upstream_and_app(upstream, "concurrency-wait-" + fixture, fixture);
  ASSERT_TRUE(server);
  GyreUp gyre(app);
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  // A request that fetches nothing, then the threads of a process that has served.
  EXPECT_NE(http_request(gyre.port(), "GET", "/").status, 200);
  const int idle_threads = threads_of(gyre.pid());

  std::vector<std::future<gyre::testing::HttpResponse>> answers;
  for (size_t i = 0; i < kGuests; ++i) {
    answers.push_back(std::async(std::launch::async,
                                 [&] { return http_request(gyre.port(), "GET", target(port)); }));
  }
  int waiting_threads = -1;
  const bool gathered =
      upstream->gather_then_release([&] { waiting_threads = threads_of(gyre.pid()); });
  size_t ok = 0;
  for (auto& answer : answers) {
    auto r = answer.get();
    if (r.status == 200 && r.body == "gathered") ++ok;
  }
  server->shutdown();
  EXPECT_TRUE(gathered) << "the upstream held at most " << upstream->most_held() << "\n"
                        << gyre.output();
  EXPECT_EQ(upstream->most_held(), kGuests);
  EXPECT_EQ(ok, kGuests) << gyre.output();
  // Waiting guests hold no thread: the process has the threads it had idle.
  EXPECT_LE(waiting_threads, idle_threads) << "idle " << idle_threads;
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(UpConcurrency, ManyJsGuestsAwaitASlowUpstreamAtOnceOnAFixedNumberOfThreads) {
  expect_all_wait_at_once("js-outbound", [](const std::string& port) {
    return "/?url=http%3A%2F%2F127.0.0.1%3A" + port + "%2Fslow";
  });
}

TEST(UpConcurrency, ManyCGuestsBlockingOnAPollableAwaitASlowUpstreamAtOnce) {
  expect_all_wait_at_once(
      "c-fetch", [](const std::string& port) { return "/fetch/127.0.0.1:" + port + "/slow"; });
}

// Holds every request and never answers (until the test ends).
class SilentUpstream : public http::Handler {
 public:
  void handle(http::Request, std::shared_ptr<http::ResponseWriter> response) override {
    std::lock_guard lock(mutex_);
    held_.push_back(std::move(response));
  }
  // Lets go of the held requests (each connection gets its failure), so that nothing
  // keeps the server's connections once it shuts down.
  void drop_all() {
    std::lock_guard lock(mutex_);
    held_.clear();
  }

 private:
  std::mutex mutex_;
  std::vector<std::shared_ptr<http::ResponseWriter>> held_;
};

TEST(UpConcurrency, AWaitingGuestIsStoppedAtItsDeadline) {
  auto upstream = std::make_shared<SilentUpstream>();
  auto [server, port, app] =
      start_upstream_and_app(upstream, "concurrency-deadline", "js-outbound");
  ASSERT_TRUE(server);
  GyreUp gyre(app, {"--deadline", "1s"});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto r = http_request(gyre.port(), "GET", "/?url=http%3A%2F%2F127.0.0.1%3A" + port + "%2F");
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_TRUE(gyre.wait_for_output("the guest was stopped while it waited")) << gyre.output();
  // The lane goes on serving.
  EXPECT_EQ(http_request(gyre.port(), "GET", "/").status, 400);
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
  upstream->drop_all();
  server->shutdown();
}

TEST(UpConcurrency, AGuestComputingForeverDoesNotStopItsLaneFromAnswering) {
  const auto app =
      gyre::testing::make_fixture_app("concurrency-loop", "concurrency", "c-http", "c-http", "");
  GyreUp gyre(app, {"--shutdown-timeout", "300ms"});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  EXPECT_EQ(http_request(gyre.port(), "GET", "/").status, 200);
  const int idle_threads = threads_of(gyre.pid());
  // Connections are shared out among the lanes in turn, so of the quick requests on new
  // connections after the looping one, some land on the looping guest's lane.
  gyre::testing::RawConnection looping(gyre.port());
  looping.send("GET /loop HTTP/1.1\r\nHost: x\r\n\r\n");
  for (int i = 0; i < 8; ++i) {
    auto r = http_request(gyre.port(), "GET", "/");
    EXPECT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.body, "Hello, Fermyon!\n") << i;
  }
  // The guest yields at epoch ticks instead of holding its lane's thread, which alone
  // serves the lane's other connections meanwhile.
  EXPECT_LE(threads_of(gyre.pid()), idle_threads) << gyre.output();
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

// More guests computing at once than the lanes let run: the ones past the limit wait
// for a turn at their lane's gate and start as the others end (here at their deadline),
// so every request gets its answer.
TEST(UpConcurrency, GuestsPastTheLanesLimitStartAsOthersEnd) {
  const auto app =
      gyre::testing::make_fixture_app("concurrency-gate", "concurrency", "c-http", "c-http", "");
  GyreUp gyre(app, {"--deadline", "200ms"});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  const size_t lanes = std::max(1u, std::thread::hardware_concurrency());
  const size_t guests = gyre::trigger::LaneGate::kLimit * lanes + 8;
  std::vector<std::future<gyre::testing::HttpResponse>> answers;
  for (size_t i = 0; i < guests; ++i) {
    answers.push_back(
        std::async(std::launch::async, [&] { return http_request(gyre.port(), "GET", "/loop"); }));
  }
  size_t stopped = 0;
  for (auto& answer : answers) {
    if (answer.get().status == 500) ++stopped;
  }
  EXPECT_EQ(stopped, guests) << gyre.output();
  auto r = http_request(gyre.port(), "GET", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "Hello, Fermyon!\n");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

}  // namespace
