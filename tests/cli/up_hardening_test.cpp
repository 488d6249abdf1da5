// `gyre up` against what would take a server down: headers too large from the client and
// from the guest, a guest that never returns (at shutdown, after its client left, past
// its deadline), signals, running out of file descriptors. Real process, real sockets.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "support/gyre_up.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/raw_connection.hpp"

namespace {

using gyre::testing::GyreUp;
using gyre::testing::http_request;
using gyre::testing::RawConnection;
using namespace std::chrono_literals;

std::filesystem::path c_app(const std::string& name) {
  return gyre::testing::make_fixture_app("hardening-" + name, "hardening", "c-http", "c-http", "");
}

void expect_hello(const GyreUp& gyre) {
  auto r = http_request(gyre.port(), "GET", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "Hello, Fermyon!\n");
}

TEST(UpHardening, HeadersTooLargeFromTheClientOrTheGuestEndOnlyTheirRequest) {
  GyreUp gyre(c_app("headers"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  {
    RawConnection client(gyre.port());
    client.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(65534, 'v') + "\r\n\r\n");
    EXPECT_EQ(client.read().result_int(), 431);
  }
  expect_hello(gyre);
  auto fits = http_request(gyre.port(), "GET", "/big-header/60000");
  EXPECT_EQ(fits.status, 200);
  EXPECT_EQ(fits.header("x-big").size(), 60000u);
  for (const char* target : {"/big-header/65534", "/big-header/2000000"}) {
    auto r = http_request(gyre.port(), "GET", target);
    EXPECT_EQ(r.status, 500) << target;
  }
  expect_hello(gyre);
  // The same error again and again is logged once, then counted when another comes.
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(http_request(gyre.port(), "GET", "/big-header/70000").status, 500);
  {
    RawConnection left(gyre.port());
    left.send("GET /loop HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_hello(gyre);
  }
  ASSERT_TRUE(gyre.wait_for_output("interrupted")) << gyre.output();
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
  const std::string out = gyre.output();
  size_t logged = 0;
  for (size_t at = out.find("response header is over 65533 bytes"); at != std::string::npos;
       at = out.find("response header is over 65533 bytes", at + 1))
    ++logged;
  EXPECT_EQ(logged, 1u) << out;
  EXPECT_NE(out.find("Skipped 21 duplicate messages"), std::string::npos) << out;
  EXPECT_NE(out.find(" error gyre: "), std::string::npos) << out;  // a level on every line
}

TEST(UpHardening, ShutdownEndsALoopingGuestAfterTheGracePeriod) {
  GyreUp gyre(c_app("grace"), {"--shutdown-timeout", "300ms"});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  RawConnection looping(gyre.port());
  looping.send("GET /loop HTTP/1.1\r\nHost: x\r\n\r\n");
  expect_hello(gyre);  // the loop holds one thread, not the server
  gyre.signal(SIGTERM);
  const auto status = gyre.wait_exit(60s);
  ASSERT_TRUE(status.has_value()) << "still running: " << gyre.output();
  EXPECT_EQ(*status, 0) << gyre.output();
  EXPECT_NE(gyre.output().find("Stopping the requests still running"), std::string::npos)
      << gyre.output();
  EXPECT_NE(gyre.output().find("interrupted"), std::string::npos) << gyre.output();
}

TEST(UpHardening, ASecondSignalExitsAtOnce) {
  GyreUp gyre(c_app("twice"), {"--shutdown-timeout", "10m"});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  RawConnection looping(gyre.port());
  looping.send("GET /loop HTTP/1.1\r\nHost: x\r\n\r\n");
  expect_hello(gyre);
  gyre.signal(SIGINT);
  ASSERT_TRUE(gyre.wait_for_output("Shutting down")) << gyre.output();
  gyre.signal(SIGINT);
  const auto status = gyre.wait_exit(60s);
  ASSERT_TRUE(status.has_value()) << "still running: " << gyre.output();
  EXPECT_EQ(*status, 128 + SIGINT) << gyre.output();
  EXPECT_NE(gyre.output().find("Stopping now"), std::string::npos) << gyre.output();
}

TEST(UpHardening, AGuestLoopingAfterItsClientLeftIsStopped) {
  GyreUp gyre(c_app("left"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  {
    RawConnection client(gyre.port());
    client.send("GET /loop HTTP/1.1\r\nHost: x\r\n\r\n");
    expect_hello(gyre);  // the looping request has started by now
  }
  EXPECT_TRUE(gyre.wait_for_output("interrupted")) << gyre.output();
  expect_hello(gyre);
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
  // It ended before the shutdown, which had nothing left to stop.
  EXPECT_EQ(gyre.output().find("Stopping the requests"), std::string::npos) << gyre.output();
}

TEST(UpHardening, DeadlinesAreDurations) {
  GyreUp gyre(c_app("deadline"), {"--deadline", "300ms"});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto r = http_request(gyre.port(), "GET", "/loop");
  EXPECT_EQ(r.status, 500);
  expect_hello(gyre);
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
  EXPECT_NE(gyre.output().find("deadline exceeded"), std::string::npos) << gyre.output();

  GyreUp wrong(c_app("deadline-wrong"), {"--deadline", "soon"});
  EXPECT_EQ(wrong.port(), 0);
  EXPECT_EQ(wrong.wait_exit(60s), 2);
  EXPECT_NE(wrong.output().find("--deadline: `soon` is not a duration"), std::string::npos)
      << wrong.output();
}

// Out of file descriptors: the accept loop waits for connections to close instead of
// spinning, says so once, and serves again once they have closed.
TEST(UpHardening, RunningOutOfFileDescriptorsIsSurvived) {
#ifdef GYRE_SANITIZED
  // UBSan's vptr check asks the kernel (a pipe) whether an object's memory is readable;
  // with no descriptor left that fails and it reports every virtual call as a bad object
  // and aborts. The optimised build runs this test.
  GTEST_SKIP() << "needs file descriptors the sanitizer's own checks use";
#endif
  GyreUp gyre(c_app("emfile"), {}, {}, 128u);
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  expect_hello(gyre);
  {
    std::vector<std::unique_ptr<RawConnection>> flood;
    for (int i = 0; i < 200; ++i)
      flood.push_back(std::make_unique<RawConnection>(gyre.port()));
    ASSERT_TRUE(gyre.wait_for_output("waiting for one to close")) << gyre.output();
    std::this_thread::sleep_for(500ms);  // time in which a spinning loop would log a lot
  }
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    served = http_request(gyre.port(), "GET", "/").status == 200;
    if (!served) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(served);
  EXPECT_EQ(gyre.stop(), 0) << gyre.output().substr(0, 4000);
  EXPECT_LT(gyre.output().size(), 20000u) << gyre.output().substr(0, 4000);
}

// An upstream that answers each request with a header `x-huge` of the size its path
// names (`/header/70000`): what a server made of Beast cannot send.
class RawUpstream {
 public:
  RawUpstream() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { serve(); });
  }
  ~RawUpstream() {
    stopping_ = true;
    // Closing does not wake a thread blocked in accept(); a shutdown of the socket does.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  void serve() {
    for (;;) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      std::string head;
      boost::asio::read_until(socket, boost::asio::dynamic_buffer(head), "\r\n\r\n", ec);
      const size_t at = head.find("/header/");
      const size_t size = at == std::string::npos ? 0 : std::stoul(head.substr(at + 8));
      const std::string response = "HTTP/1.1 200 OK\r\nX-Huge: " + std::string(size, 'h') +
                                   "\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
      boost::asio::write(socket, boost::asio::buffer(response), ec);
    }
  }
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// A header the guest could not pass on reaches it as wasi:http's error, not the process.
TEST(UpHardening, AnUpstreamsHeaderTooLargeIsTheGuestsError) {
  RawUpstream upstream;
  const std::string origin = "http://127.0.0.1:" + std::to_string(upstream.port());
  GyreUp gyre(gyre::testing::make_fixture_app("hardening-upstream", "hardening", "outbound",
                                              "js-outbound",
                                              "allowed_outbound_hosts = [\"" + origin + "\"]\n"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto fits = http_request(gyre.port(), "GET", "/?url=" + origin + "/header/60000");
  EXPECT_EQ(fits.status, 200) << fits.body;
  EXPECT_EQ(fits.body, "ok");
  for (const char* size : {"65534", "500000"}) {
    auto r = http_request(gyre.port(), "GET", "/?url=" + origin + "/header/" + size);
    EXPECT_EQ(r.status, 502) << size << ": " << r.body;
    EXPECT_TRUE(r.body.starts_with("fetch failed")) << r.body;
  }
  EXPECT_EQ(http_request(gyre.port(), "GET", "/?url=" + origin + "/header/10").body, "ok");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

// Resident memory of a process, from /proc, in bytes.
uint64_t resident_bytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

std::filesystem::path js_echo_app(const std::string& name) {
  return gyre::testing::make_fixture_app("hardening-" + name, "hardening", "echo", "js-echo", "");
}

// Each 20 MB body takes the JS guest's memory past 60 MB; that memory goes back to the
// kernel when its request ends, so resident memory stops growing after the first few.
TEST(UpHardening, MemoryIsGivenBackAfterLargeBodies) {
  // Under AddressSanitizer freed host memory waits in a quarantine (256 MB by default)
  // before it is reused; a small one keeps the measurement about the guests' memory.
  GyreUp gyre(js_echo_app("rss"), {}, {{"ASAN_OPTIONS", "quarantine_size_mb=8"}});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  const std::string body(20'000'000, 'b');
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(http_request(gyre.port(), "POST", "/", body).body.size(), body.size());
  const uint64_t settled = resident_bytes(gyre.pid());
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(http_request(gyre.port(), "POST", "/", body).status, 200);
  const uint64_t after = resident_bytes(gyre.pid());
  // Kept, each of the ten would have added about 70 MB.
  EXPECT_LT(after, settled + 64 * 1024 * 1024) << settled << " -> " << after;
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
}

TEST(UpHardening, AGuestOverItsMemoryCapGetsA500AndTheServerGoesOn) {
  GyreUp gyre(js_echo_app("cap"), {"--max-instance-memory", "48MiB"});
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  EXPECT_EQ(http_request(gyre.port(), "POST", "/", "small").body, "small");
  EXPECT_EQ(http_request(gyre.port(), "POST", "/", std::string(40'000'000, 'b')).status, 500);
  EXPECT_EQ(http_request(gyre.port(), "POST", "/", "again").body, "again");
  EXPECT_EQ(gyre.stop(), 0) << gyre.output();
  EXPECT_NE(gyre.output().find("memory limit"), std::string::npos) << gyre.output();

  GyreUp wrong(js_echo_app("cap-wrong"), {"--max-instance-memory", "lots"});
  EXPECT_EQ(wrong.wait_exit(std::chrono::seconds(60)), 2);
  EXPECT_NE(wrong.output().find("is not a size"), std::string::npos) << wrong.output();
}

}  // namespace
