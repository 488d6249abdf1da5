// What no peer may do to the server: headers of any size, RFC 9112's framing breaches,
// slow and idle connections, more connections than allowed, a client that leaves while
// its request runs. Each case over real sockets on 127.0.0.1, and each ends by checking
// that the server still answers a plain GET.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http/server.hpp"
#include "support/log_lines.hpp"
#include "support/raw_connection.hpp"

namespace gyre::http {
namespace {

using Client = testing::RawConnection;
using namespace std::chrono_literals;

// Answers "ok <target>" and counts the requests it saw.
class CountingHandler : public Handler {
 public:
  void handle(Request request, std::shared_ptr<ResponseWriter> response) override {
    ++calls;
    response->respond(ResponseHead{200, {}}, "ok " + request.head.target);
  }
  std::atomic<int> calls{0};
};

// `/big/N` answers with an `x-big` header of N bytes, whole (`/big/...`) or started and
// then streamed (`/big-streamed/...`).
class BigHeaderHandler : public Handler {
 public:
  void handle(Request request, std::shared_ptr<ResponseWriter> response) override {
    const std::string& target = request.head.target;
    const size_t n = std::stoul(target.substr(target.rfind('/') + 1));
    ResponseHead head{200, {{"x-big", std::string(n, 'a')}}};
    if (target.starts_with("/big-streamed/")) {
      response->start(std::move(head));
      response->write("body");
      response->finish();
    } else {
      response->respond(std::move(head), "body");
    }
  }
};

// Keeps each request's cancelled flag and never answers until told.
class KeepingHandler : public Handler {
 public:
  void handle(Request request, std::shared_ptr<ResponseWriter> response) override {
    std::lock_guard lock(mutex);
    flags.push_back(request.cancelled);
    writers.push_back(std::move(response));
  }
  std::shared_ptr<const std::atomic<bool>> flag(size_t i) {
    std::lock_guard lock(mutex);
    return i < flags.size() ? flags[i] : nullptr;
  }
  // Stops the server, then drops the kept writers: each holds its connection, which
  // holds the server's state, which holds this handler.
  void release(std::unique_ptr<Server> server) {
    server.reset();
    std::lock_guard lock(mutex);
    writers.clear();
  }
  std::mutex mutex;
  std::vector<std::shared_ptr<const std::atomic<bool>>> flags;
  std::vector<std::shared_ptr<ResponseWriter>> writers;
};

std::unique_ptr<Server> start(std::shared_ptr<Handler> handler, ServerConfig config = {}) {
  config.listen = "127.0.0.1:0";
  auto server = Server::start(std::move(config), std::move(handler));
  EXPECT_TRUE(server.ok()) << (server.ok() ? "" : server.error().message);
  return std::move(server).value();
}

void expect_still_serving(const Server& server) {
  Client client(server.local_endpoint());
  EXPECT_EQ(client.request("GET", "/after").result_int(), 200);
}

// Polls until `done` holds, for at most `limit`: a hang guard, not a measurement.
template <class F>
bool eventually(F done, std::chrono::seconds limit = 30s) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::string get_with_header(size_t value_size) {
  return "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(value_size, 'v') + "\r\n\r\n";
}

TEST(ServerLimits, ClientHeadersAroundSixtyFourKibibytesNeverEndTheServer) {
  auto handler = std::make_shared<CountingHandler>();
  auto server = start(handler);
  {
    Client client(server->local_endpoint());
    client.send(get_with_header(65533));
    EXPECT_EQ(client.read().result_int(), 200);
  }
  for (const size_t size : {65534, 65535, 65536, 100000}) {
    Client client(server->local_endpoint());
    client.send(get_with_header(size));
    EXPECT_EQ(client.read().result_int(), 431) << size;
    EXPECT_TRUE(client.at_eof()) << size;
  }
  {  // a name as long
    Client client(server->local_endpoint());
    client.send("GET / HTTP/1.1\r\nHost: x\r\n" + std::string(70000, 'n') + ": v\r\n\r\n");
    EXPECT_EQ(client.read().result_int(), 431);
  }
  {  // past the whole head's limit
    Client client(server->local_endpoint());
    client.send(get_with_header(1 << 20));
    EXPECT_EQ(client.read().result_int(), 431);
  }
  EXPECT_EQ(handler->calls, 1);
  expect_still_serving(*server);
}

TEST(ServerLimits, AHandlersHeaderTooLargeToSendBecomesAnEmpty500) {
  testing::LogLines log;
  ServerConfig config;
  config.log = log.logger();
  auto server = start(std::make_shared<BigHeaderHandler>(), config);
  Client client(server->local_endpoint());
  auto fits = client.request("GET", "/big/65533");
  EXPECT_EQ(fits.result_int(), 200);
  EXPECT_EQ(fits["x-big"].size(), 65533u);
  for (const char* target : {"/big/65534", "/big/1000000", "/big-streamed/70000"}) {
    auto res = client.request("GET", target);
    EXPECT_EQ(res.result_int(), 500) << target;
    EXPECT_EQ(res.body(), "") << target;
    EXPECT_EQ(res["content-length"], "0") << target;
  }
  // The connection itself is still good.
  EXPECT_EQ(client.request("GET", "/big/10").result_int(), 200);
  const auto logged = log.lines();
  ASSERT_EQ(logged.size(), 3u);
  EXPECT_NE(logged[0].find("response header is over 65533 bytes"), std::string::npos) << logged[0];
}

// Each request is answered 400 and its connection closed; what follows the head (a body
// that would be a smuggled second request) never reaches the handler.
TEST(ServerLimits, FramingThatRfc9112ForbidsGets400AndClosesTheConnection) {
  auto handler = std::make_shared<CountingHandler>();
  auto server = start(handler);
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::vector<std::string> heads = {
      // a final coding other than chunked
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
      // chunked twice
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
      // with a content-length, either order
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n",
      // obs-fold
      "GET / HTTP/1.1\r\nHost: x\r\nX-Folded: one\r\n two\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nX-Folded: one\r\n\ttwo\r\n\r\n",
      // HTTP/1.1 without a Host, or with two
      "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
      "GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
  };
  for (const std::string& head : heads) {
    Client client(server->local_endpoint());
    client.send(head + smuggled);
    EXPECT_EQ(client.read().result_int(), 400) << head;
    EXPECT_TRUE(client.at_eof()) << head;
  }
  EXPECT_EQ(handler->calls, 0);
  expect_still_serving(*server);
}

TEST(ServerLimits, WellFramedRequestsStillPass) {
  auto handler = std::make_shared<CountingHandler>();
  auto server = start(handler);
  {  // HTTP/1.0 without a Host is served
    Client client(server->local_endpoint());
    client.send("GET /old HTTP/1.0\r\n\r\n");
    auto res = client.read();
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), "ok /old");
  }
  {  // a coding before the final chunked, and chunked in any case
    Client client(server->local_endpoint());
    client.send("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, CHUNKED\r\n\r\n0\r\n\r\n");
    EXPECT_EQ(client.read().body(), "ok /a");
    client.send("GET /b HTTP/1.1\r\nHost: x\r\nX-Tab:\tvalue\r\n\r\n");
    EXPECT_EQ(client.read().body(), "ok /b");
  }
  EXPECT_EQ(handler->calls, 3);
}

// Slowloris: connections that trickle a head never finish it, so each is closed when the
// header timeout passes, and the server goes on answering others meanwhile.
TEST(ServerLimits, ConnectionsTricklingAHeadAreClosedByTheHeaderTimeout) {
  ServerConfig config;
  config.header_read_timeout = 500ms;
  auto server = start(std::make_shared<CountingHandler>(), config);
  constexpr int kConnections = 300;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(std::make_unique<Client>(server->local_endpoint()));
    clients.back()->socket().non_blocking(true);
  }
  const std::string head = "GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ";
  std::vector<bool> closed(kConnections, false);
  int open = kConnections;
  // One byte each per round, rounds 200 ms apart: a second per five bytes, so no head is
  // ever complete. Bounded: 150 rounds (30 s) at most.
  for (int round = 0; round < 150 && open > 0; ++round) {
    for (int i = 0; i < kConnections; ++i) {
      if (closed[i]) continue;
      boost::system::error_code ec;
      const char byte = head[std::min<size_t>(round, head.size() - 1)];
      clients[i]->socket().write_some(boost::asio::buffer(&byte, 1), ec);
      char scratch[64];
      clients[i]->socket().read_some(boost::asio::buffer(scratch), ec);
      if (ec && ec != boost::asio::error::would_block) {
        closed[i] = true;
        --open;
      }
    }
    if (round == 1) expect_still_serving(*server);
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(open, 0);
  expect_still_serving(*server);
}

TEST(ServerLimits, AnIdleKeepAliveConnectionIsClosed) {
  ServerConfig config;
  config.keep_alive_timeout = 300ms;
  auto server = start(std::make_shared<CountingHandler>(), config);
  Client client(server->local_endpoint());
  EXPECT_EQ(client.request("GET", "/one").result_int(), 200);
  EXPECT_TRUE(client.at_eof(30s));
  expect_still_serving(*server);
}

TEST(ServerLimits, ConnectionsPastTheLimitAreClosedAtOnce) {
  testing::LogLines log;
  ServerConfig config;
  config.max_connections = 4;
  config.log = log.logger();
  auto server = start(std::make_shared<CountingHandler>(), config);
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<Client>(server->local_endpoint()));
    EXPECT_EQ(held.back()->request("GET", "/held").result_int(), 200);
  }
  for (int i = 0; i < 3; ++i) {
    Client extra(server->local_endpoint());
    EXPECT_TRUE(extra.at_eof()) << i;
  }
  // Said once, not once per connection.
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_NE(log.lines()[0].find("connection limit"), std::string::npos);
  held.pop_back();  // one leaves: a new one is served again
  EXPECT_TRUE(eventually([&] {
    Client next(server->local_endpoint());
    boost::system::error_code ec;
    return next.request("GET", "/again").result_int() == 200;
  }));
}

TEST(ServerLimits, AClientThatLeavesCancelsItsRequest) {
  auto handler = std::make_shared<KeepingHandler>();
  auto server = start(handler);
  {
    Client client(server->local_endpoint());
    client.send("GET /left HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_TRUE(eventually([&] { return handler->flag(0) != nullptr; }));
    EXPECT_FALSE(handler->flag(0)->load());
  }  // closed here
  EXPECT_TRUE(eventually([&] { return handler->flag(0)->load(); }));
  // A request whose client stays is not cancelled, until the server closes everything.
  Client stays(server->local_endpoint());
  stays.send("GET /stays HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(eventually([&] { return handler->flag(1) != nullptr; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(handler->flag(1)->load());
  server->close_all();
  EXPECT_TRUE(eventually([&] { return handler->flag(1)->load(); }));
  handler->release(std::move(server));
}

// Pipelined requests are not a client leaving: the next head is left for its turn.
TEST(ServerLimits, APipelinedRequestDoesNotCancelTheOneBeforeIt) {
  auto handler = std::make_shared<KeepingHandler>();
  auto server = start(handler);
  Client client(server->local_endpoint());
  client.send("GET /first HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(eventually([&] { return handler->flag(0) != nullptr; }));
  client.send("GET /second HTTP/1.1\r\nHost: x\r\n\r\n");
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(handler->flag(0)->load());
  std::shared_ptr<ResponseWriter> writer;
  {
    std::lock_guard lock(handler->mutex);
    writer = handler->writers[0];
  }
  writer->respond(ResponseHead{200, {}}, "first");
  EXPECT_EQ(client.read().body(), "first");
  EXPECT_TRUE(eventually([&] { return handler->flag(1) != nullptr; }));
  writer.reset();
  handler->release(std::move(server));
}

}  // namespace
}  // namespace gyre::http
