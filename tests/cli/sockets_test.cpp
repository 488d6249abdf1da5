// wasi:sockets under `gyre up`, end to end: a C component (fixtures/c/sockets) connects,
// sends and receives over TCP and UDP to servers the test runs on 127.0.0.1, allowed or
// denied by its allowed_outbound_hosts as Spin decides, and many guests wait on their
// sockets at once without holding a thread each.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "support/gyre_up.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"

namespace {

using gyre::testing::fixture_path;
using gyre::testing::GyreUp;
using gyre::testing::http_request;
using gyre::testing::make_app;

// How long a server waits for the guests before it gives up: a hang guard only.
constexpr int kGuardMs = 60'000;

int listening_socket(int type, uint16_t* port) {
  const int fd = ::socket(AF_INET, type, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return -1;
  if (type == SOCK_STREAM && ::listen(fd, 512) != 0) return -1;
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  *port = ntohs(address.sin_port);
  return fd;
}

bool wait_readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, kGuardMs) == 1;
}

// Reads until the peer shuts down its sending side.
std::string read_to_end(int fd) {
  std::string out;
  char buffer[4096];
  while (wait_readable(fd)) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

// A TCP server that, once `clients` connections have each sent all they send, answers
// every one with "reply:" and what it sent, and closes it. With clients = 1 it is an echo
// server for one connection at a time.
class TcpServer {
 public:
  explicit TcpServer(int clients) : clients_(clients) {
    fd_ = listening_socket(SOCK_STREAM, &port_);
    thread_ = std::thread([this] { run(); });
  }
  ~TcpServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  void run() {
    while (!stop_) {
      std::vector<std::pair<int, std::string>> held;
      while (static_cast<int>(held.size()) < clients_ && !stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) != 1) continue;
        const int client = ::accept(fd_, nullptr, nullptr);
        if (client < 0) continue;
        ++accepted_;
        held.emplace_back(client, read_to_end(client));
      }
      for (auto& [client, sent] : held) {
        const std::string reply = "reply:" + sent;
        ::send(client, reply.data(), reply.size(), MSG_NOSIGNAL);
        ::close(client);
      }
    }
  }

  int clients_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// A UDP server that answers each datagram with "pong:" and the datagram.
class UdpServer {
 public:
  UdpServer() {
    fd_ = listening_socket(SOCK_DGRAM, &port_);
    thread_ = std::thread([this] {
      char buffer[65536];
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) != 1) continue;
        sockaddr_storage from{};
        socklen_t length = sizeof from;
        const ssize_t n =
            ::recvfrom(fd_, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &length);
        if (n < 0) continue;
        ++received_;
        const std::string reply = "pong:" + std::string(buffer, static_cast<size_t>(n));
        ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), length);
      }
    });
  }
  ~UdpServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  int received() const { return received_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> received_{0};
  std::thread thread_;
};

constexpr const char* kHeader = "spin_manifest_version = 2\n[application]\nname = \"sockets\"\n\n";

std::string component(const std::string& id, const std::string& allowed) {
  return "[[trigger.http]]\nroute = \"/" + id + "/...\"\ncomponent = \"" + id +
         "\"\n\n[component." + id + "]\nsource = \"" + fixture_path("c-sockets") +
         "\"\nallowed_outbound_hosts = " + allowed + "\n\n";
}

TEST(Sockets, TcpReachesWhatAllowedOutboundHostsAllowsAndIsDeniedTheRest) {
  TcpServer server(1);
  const std::string port = std::to_string(server.port());
  const std::string other = std::to_string(server.port() == 1 ? 2 : server.port() - 1);
  GyreUp gyre(
      make_app("sockets-tcp", std::string(kHeader) +
                                  component("exact", "[\"tcp://127.0.0.1:" + port + "\"]") +
                                  component("any-scheme", "[\"*://127.0.0.1:" + port + "\"]") +
                                  component("cidr", "[\"tcp://127.0.0.0/8:" + port + "\"]") +
                                  component("udp-only", "[\"udp://127.0.0.1:" + port + "\"]") +
                                  component("other-port", "[\"tcp://127.0.0.1:" + other + "\"]") +
                                  component("http-only", "[\"http://127.0.0.1:" + port + "\"]") +
                                  component("nothing", "[]")));
  ASSERT_NE(gyre.port(), 0) << gyre.output();

  for (const char* allowed : {"exact", "any-scheme", "cidr"}) {
    auto r = http_request(gyre.port(), "GET",
                          "/" + std::string(allowed) + "/tcp?port=" + port + "&msg=hello");
    EXPECT_EQ(r.status, 200) << allowed;
    EXPECT_EQ(r.body, "tcp:reply:hello") << allowed;
  }
  const int reached = server.accepted();
  for (const char* denied : {"udp-only", "other-port", "http-only", "nothing"}) {
    auto r = http_request(gyre.port(), "GET",
                          "/" + std::string(denied) + "/tcp?port=" + port + "&msg=hello");
    EXPECT_EQ(r.status, 200) << denied;
    EXPECT_EQ(r.body, "error:connect:EACCES:access-denied") << denied;
  }
  EXPECT_EQ(server.accepted(), reached) << "a denied guest reached the server";
  gyre.stop();
  EXPECT_NE(gyre.output().find("A component tried to make an outbound network connection to "
                               "disallowed destination 'tcp://127.0.0.1:" +
                               port + "'."),
            std::string::npos)
      << gyre.output();
}

TEST(Sockets, AConnectionRefusedIsTheGuestsError) {
  uint16_t closed = 0;
  ::close(listening_socket(SOCK_STREAM, &closed));
  const std::string port = std::to_string(closed);
  GyreUp gyre(make_app("sockets-refused",
                       std::string(kHeader) + component("c", "[\"tcp://127.0.0.1:*\"]")));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto r = http_request(gyre.port(), "GET", "/c/tcp?port=" + port + "&msg=x");
  EXPECT_EQ(r.body, "error:connect:ECONNREFUSED:connection-refused");
}

TEST(Sockets, UdpBindAndSendAreEachCheckedAsSpinChecksThem) {
  UdpServer server;
  const std::string port = std::to_string(server.port());
  GyreUp gyre(make_app(
      "sockets-udp",
      std::string(kHeader) +
          component("allowed", "[\"udp://127.0.0.1:" + port + "\", \"udp://0.0.0.0:0\"]") +
          component("everything", "[\"*://*:*\"]") +
          component("no-bind", "[\"udp://127.0.0.1:" + port + "\"]") +
          component("no-send", "[\"udp://0.0.0.0:0\"]") +
          component("tcp-only", "[\"tcp://127.0.0.1:" + port + "\", \"tcp://0.0.0.0:0\"]")));
  ASSERT_NE(gyre.port(), 0) << gyre.output();

  for (const char* allowed : {"allowed", "everything"}) {
    auto r = http_request(gyre.port(), "GET",
                          "/" + std::string(allowed) + "/udp?port=" + port + "&msg=ping");
    EXPECT_EQ(r.body, "udp:pong:ping") << allowed;
  }
  const int reached = server.received();
  auto no_bind = http_request(gyre.port(), "GET", "/no-bind/udp?port=" + port + "&msg=ping");
  EXPECT_EQ(no_bind.body, "error:bind:EACCES:access-denied");
  auto tcp_only = http_request(gyre.port(), "GET", "/tcp-only/udp?port=" + port + "&msg=ping");
  EXPECT_EQ(tcp_only.body, "error:bind:EACCES:access-denied");
  auto no_send = http_request(gyre.port(), "GET", "/no-send/udp?port=" + port + "&msg=ping");
  EXPECT_EQ(no_send.body, "error:sendto:EACCES:access-denied");
  EXPECT_EQ(server.received(), reached) << "a denied datagram reached the server";
}

TEST(Sockets, NameLookupIsDisabledAsInSpin) {
  GyreUp gyre(make_app("sockets-lookup", std::string(kHeader) + component("c", "[\"*://*:*\"]")));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto name = http_request(gyre.port(), "GET", "/c/lookup?name=localhost");
  EXPECT_EQ(name.body, "error:getaddrinfo:EAI_FAIL:permanent-resolver-failure");
  auto bad = http_request(gyre.port(), "GET", "/c/lookup?name=no%20name");
  EXPECT_EQ(bad.body, "error:getaddrinfo:EINVAL:invalid-argument");
}

// More guests than the app has threads each wait on a connection the server answers only
// once every one of them has connected: they can all be answered only if none holds a
// thread while it waits.
TEST(Sockets, ManyGuestsWaitOnTheirSocketsAtOnceWithoutHoldingAThread) {
  const int guests = 2 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) + 8;
  TcpServer server(guests);
  const std::string port = std::to_string(server.port());
  GyreUp gyre(make_app(
      "sockets-many", std::string(kHeader) + component("c", "[\"tcp://127.0.0.1:" + port + "\"]")));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  std::vector<std::future<gyre::testing::HttpResponse>> answers;
  for (int i = 0; i < guests; ++i) {
    answers.push_back(std::async(std::launch::async, [&, i] {
      return http_request(gyre.port(), "GET",
                          "/c/tcp?port=" + port + "&msg=guest" + std::to_string(i));
    }));
  }
  // A hang guard only: a guest that never answers fails the test instead of hanging it.
  const auto guard = std::chrono::steady_clock::now() + std::chrono::milliseconds(kGuardMs);
  for (auto& answer : answers) {
    if (answer.wait_until(guard) != std::future_status::ready) {
      ADD_FAILURE() << "the guests did not all answer";
      gyre.stop();  // ends the requests still waiting
      break;
    }
  }
  for (int i = 0; i < guests; ++i) {
    auto r = answers[i].get();
    EXPECT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.body, "tcp:reply:guest" + std::to_string(i)) << i;
  }
  EXPECT_EQ(server.accepted(), guests);
}

}  // namespace
