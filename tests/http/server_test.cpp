// The server over real sockets on 127.0.0.1 (ephemeral ports), with a small Beast client.
// Events are ordered with promises and latches, never with sleeps or clocks.
#include "http/server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <latch>
#include <mutex>
#include <random>
#include <thread>

#include "support/certificate.hpp"
#include "support/raw_connection.hpp"

namespace gyre::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Response = bhttp::response<bhttp::string_body>;

// --- Handlers used by the tests --------------------------------------------------------

// Answers with "<client address> <method> <target>".
class WhoHandler : public Handler {
 public:
  void handle(Request request, std::shared_ptr<ResponseWriter> response) override {
    response->respond(
        ResponseHead{200, {{"content-type", "text/plain"}}},
        request.client_address + " " + request.head.method + " " + request.head.target);
  }
};

// Streams the request body back as it arrives, without a content-length.
class EchoHandler : public Handler {
 public:
  void handle(Request request, std::shared_ptr<ResponseWriter> response) override {
    response->start(ResponseHead{200, {}});
    pump(request.body, response);
  }

 private:
  static void pump(std::shared_ptr<BodyReader> body, std::shared_ptr<ResponseWriter> response) {
    body->read([body, response](BodyChunk chunk) {
      if (!chunk.error.empty()) return response->abort();
      const bool end = chunk.end;
      response->write(std::move(chunk.data), [body, response, end](bool ok) {
        if (!ok) return;
        if (end) return response->finish();
        pump(body, response);
      });
    });
  }
};

// Reads the whole request body, then answers with it.
class CollectHandler : public Handler {
 public:
  void handle(Request request, std::shared_ptr<ResponseWriter> response) override {
    collect(request.body, response, std::make_shared<std::string>());
  }

 private:
  static void collect(std::shared_ptr<BodyReader> body, std::shared_ptr<ResponseWriter> response,
                      std::shared_ptr<std::string> so_far) {
    body->read([body, response, so_far](BodyChunk chunk) {
      if (!chunk.error.empty()) return response->abort();
      *so_far += chunk.data;
      if (!chunk.end) return collect(body, response, so_far);
      response->respond(ResponseHead{200, {}}, *so_far);
    });
  }
};

// Holds every exchange until the test answers it.
class HoldingHandler : public Handler {
 public:
  explicit HoldingHandler(std::latch& arrived) : arrived_(arrived) {}
  void handle(Request request, std::shared_ptr<ResponseWriter> response) override {
    {
      std::lock_guard lock(mutex_);
      held_.push_back({std::move(request), std::move(response)});
    }
    arrived_.count_down();
  }
  std::vector<std::pair<Request, std::shared_ptr<ResponseWriter>>> take() {
    std::lock_guard lock(mutex_);
    return std::move(held_);
  }

 private:
  std::latch& arrived_;
  std::mutex mutex_;
  std::vector<std::pair<Request, std::shared_ptr<ResponseWriter>>> held_;
};

// `/block` holds its server thread until `/free` has been answered (for at most a minute,
// so a failure cannot hang the suite), as a guest run in place that waits would.
// --- A small client -----------------------------------------------------------------------

using Client = testing::RawConnection;

std::unique_ptr<Server> start(std::shared_ptr<Handler> handler, ServerConfig config = {}) {
  config.listen = "127.0.0.1:0";
  auto server = Server::start(std::move(config), std::move(handler));
  EXPECT_TRUE(server.ok()) << (server.ok() ? "" : server.error().message);
  return std::move(server).value();
}

std::string random_bytes(size_t n) {
  std::mt19937_64 rng(42);
  std::string out(n, '\0');
  for (auto& c : out)
    c = static_cast<char>(rng());
  return out;
}

// --- Tests ------------------------------------------------------------------------------

TEST(Server, ListenAddresses) {
  EXPECT_TRUE(parse_listen_address("127.0.0.1:3000"));
  EXPECT_TRUE(parse_listen_address("[::1]:3000"));
  EXPECT_TRUE(parse_listen_address("0.0.0.0:0"));
  EXPECT_FALSE(parse_listen_address("localhost:3000"));
  EXPECT_FALSE(parse_listen_address("127.0.0.1"));
  EXPECT_FALSE(parse_listen_address("::1:3000"));
  EXPECT_FALSE(parse_listen_address("127.0.0.1:70000"));
}

TEST(Server, ClientAddressesAreFormattedAsRustDoes) {
  auto v6 = [](const char* text, unsigned short port) {
    return format_socket_address(tcp::endpoint(net::ip::make_address(text), port));
  };
  EXPECT_EQ(v6("127.0.0.1", 8777), "127.0.0.1:8777");
  EXPECT_EQ(v6("::1", 80), "[::1]:80");
  EXPECT_EQ(v6("::", 80), "[::]:80");
  EXPECT_EQ(v6("::ffff:10.0.0.1", 80), "[::ffff:10.0.0.1]:80");
  EXPECT_EQ(v6("::1.2.3.4", 80), "[::102:304]:80");
  EXPECT_EQ(v6("2001:db8:0:0:1:0:0:1", 443), "[2001:db8::1:0:0:1]:443");
  EXPECT_EQ(v6("2001:db8:0:1:1:1:1:1", 443), "[2001:db8:0:1:1:1:1:1]:443");
}

TEST(Server, ServesIpv6Loopback) {
  ServerConfig config;
  config.listen = "[::1]:0";
  auto server = Server::start(config, std::make_shared<WhoHandler>());
  if (!server.ok()) GTEST_SKIP() << "no IPv6 loopback: " << server.error().message;
  Client client((*server)->local_endpoint());
  const Response res = client.request("GET", "/v6");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_TRUE(res.body().starts_with("[::1]:")) << res.body();
}

TEST(Server, RejectsABadListenAddressAndAPortInUse) {
  ServerConfig bad;
  bad.listen = "nowhere";
  EXPECT_FALSE(Server::start(bad, std::make_shared<WhoHandler>()).ok());
  auto first = start(std::make_shared<WhoHandler>());
  ServerConfig taken;
  taken.listen = "127.0.0.1:" + std::to_string(first->local_endpoint().port());
  auto second = Server::start(taken, std::make_shared<WhoHandler>());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("already in use"), std::string::npos);
}

TEST(Server, KeepAliveServesSeveralRequestsOnOneConnection) {
  auto server = start(std::make_shared<WhoHandler>());
  Client client(server->local_endpoint());
  const std::string local = format_socket_address(client.socket().local_endpoint());
  for (int i = 0; i < 5; ++i) {
    const std::string target = "/req/" + std::to_string(i);
    const Response res = client.request("GET", target);
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res.body(), local + " GET " + target);
    EXPECT_TRUE(res.keep_alive());
    EXPECT_EQ(res[bhttp::field::content_length], std::to_string(res.body().size()));
    EXPECT_FALSE(res[bhttp::field::date].empty());
  }
}

// The date header is an IMF-fixdate of the time the response was made, as strftime in the
// C locale writes it.
TEST(Server, DatesResponsesInImfFixdate) {
  auto imf_fixdate = [](std::time_t at) {
    std::tm tm{};
    gmtime_r(&at, &tm);
    char text[40];
    std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return std::string(text);
  };
  auto server = start(std::make_shared<WhoHandler>());
  Client client(server->local_endpoint());
  const std::time_t before = std::time(nullptr);
  const Response res = client.request("GET", "/");
  const std::time_t after = std::time(nullptr);
  const std::string date(res[bhttp::field::date]);
  bool matches = false;
  for (std::time_t at = before; at <= after; ++at)
    matches = matches || date == imf_fixdate(at);
  EXPECT_TRUE(matches) << date << " is not " << imf_fixdate(before);
}

TEST(Server, EchoesATenMegabyteUploadByteForByte) {
  auto server = start(std::make_shared<EchoHandler>());
  Client client(server->local_endpoint());
  const std::string body = random_bytes(10 * 1024 * 1024);
  // The upload and the echo flow at once, so the client writes on a thread of its own.
  std::thread writer([&] {
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/echo", 11};
    req.set(bhttp::field::host, "localhost");
    req.body() = body;
    req.prepare_payload();
    bhttp::write(client.socket(), req);
  });
  const Response res = client.read();
  writer.join();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[bhttp::field::transfer_encoding], "chunked");
  ASSERT_EQ(res.body().size(), body.size());
  EXPECT_TRUE(res.body() == body);
  // The connection is still good.
  EXPECT_EQ(client.request("POST", "/again", "abc").body(), "abc");
}

TEST(Server, EchoesAChunkedUpload) {
  auto server = start(std::make_shared<EchoHandler>());
  Client client(server->local_endpoint());
  client.send(
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  const Response res = client.read();
  EXPECT_EQ(res.body(), "hello world");
}

TEST(Server, StreamsResponseChunksAsTheyAreWritten) {
  std::promise<void> release;
  auto released = release.get_future().share();
  std::thread worker;
  struct Streaming : Handler {
    std::shared_future<void> released;
    std::thread* worker;
    void handle(Request, std::shared_ptr<ResponseWriter> response) override {
      // A component runs on a thread of its own and uses the blocking calls.
      *worker = std::thread([response, released = released] {
        response->start_wait(ResponseHead{200, {{"content-type", "text/plain"}}});
        response->write_wait("first chunk;");
        released.wait();
        response->write_wait("second chunk");
        response->finish_wait();
      });
    }
  };
  auto handler = std::make_shared<Streaming>();
  handler->released = released;
  handler->worker = &worker;
  auto server = start(handler);
  Client client(server->local_endpoint());
  client.send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");

  bhttp::response_parser<bhttp::buffer_body> parser;
  bhttp::read_header(client.socket(), client.buffer(), parser);
  EXPECT_EQ(parser.get()[bhttp::field::transfer_encoding], "chunked");
  std::string seen;
  char buf[256];
  // The handler is still waiting: whatever arrives now was streamed before it finished.
  while (seen.size() < std::string_view("first chunk;").size()) {
    parser.get().body().data = buf;
    parser.get().body().size = sizeof buf;
    beast::error_code ec;
    bhttp::read_some(client.socket(), client.buffer(), parser, ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    ASSERT_FALSE(ec) << ec.message();
    seen.append(buf, sizeof buf - parser.get().body().size);
    ASSERT_FALSE(parser.is_done());
  }
  EXPECT_EQ(seen, "first chunk;");
  release.set_value();
  while (!parser.is_done()) {
    parser.get().body().data = buf;
    parser.get().body().size = sizeof buf;
    beast::error_code ec;
    bhttp::read_some(client.socket(), client.buffer(), parser, ec);
    if (ec == bhttp::error::need_buffer) ec = {};
    ASSERT_FALSE(ec) << ec.message();
    seen.append(buf, sizeof buf - parser.get().body().size);
  }
  worker.join();
  EXPECT_EQ(seen, "first chunk;second chunk");
}

TEST(Server, HeadersOverTheLimitGet431) {
  ServerConfig config;
  config.header_limit = 4096;
  auto server = start(std::make_shared<WhoHandler>(), config);
  Client client(server->local_endpoint());
  client.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8192, 'a') + "\r\n\r\n");
  const Response res = client.read();
  EXPECT_EQ(res.result_int(), 431);
  EXPECT_TRUE(client.at_eof());

  Client small(server->local_endpoint());
  EXPECT_EQ(small.request("GET", "/fine").result_int(), 200);
}

TEST(Server, TooManyHeadersGet431) {
  auto server = start(std::make_shared<WhoHandler>());
  Client client(server->local_endpoint());
  std::string raw = "GET / HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 100; ++i)
    raw += "X-H" + std::to_string(i) + ": v\r\n";
  client.send(raw + "\r\n");
  EXPECT_EQ(client.read().result_int(), 431);
}

TEST(Server, MalformedRequestsGet400) {
  auto server = start(std::make_shared<WhoHandler>());
  {
    Client client(server->local_endpoint());
    client.send("GET /a<b HTTP/1.1\r\nHost: x\r\n\r\n");  // Beast takes it; the http crate not
    EXPECT_EQ(client.read().result_int(), 400);
  }
  {
    Client client(server->local_endpoint());
    client.send("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n");
    EXPECT_EQ(client.read().result_int(), 400);
  }
  {
    Client client(server->local_endpoint());
    client.send("GET /" + std::string(70000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(client.read().result_int(), 414);
  }
}

TEST(Server, RequestsPastTheConcurrencyLimitGet503) {
  std::latch arrived(2);
  auto handler = std::make_shared<HoldingHandler>(arrived);
  ServerConfig config;
  config.max_concurrent_requests = 2;
  config.threads = 2;
  auto server = start(handler, config);
  Client a(server->local_endpoint());
  Client b(server->local_endpoint());
  a.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  b.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
  arrived.wait();
  EXPECT_EQ(server->in_flight(), 2u);

  Client c(server->local_endpoint());
  const Response busy = c.request("GET", "/c");
  EXPECT_EQ(busy.result_int(), 503);
  EXPECT_FALSE(busy.body().empty());
  EXPECT_TRUE(c.at_eof());

  for (auto& [request, response] : handler->take()) {
    response->respond(ResponseHead{200, {}}, "done " + request.head.target);
  }
  EXPECT_EQ(a.read().body(), "done /a");
  EXPECT_EQ(b.read().body(), "done /b");
}

TEST(Server, AnswersTwoHundredConcurrentConnections) {
  ServerConfig config;
  config.threads = 2;
  auto server = start(std::make_shared<WhoHandler>(), config);
  constexpr int kConnections = 200;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kConnections; ++i) {
    clients.push_back(std::make_unique<Client>(server->local_endpoint()));
  }
  for (int i = 0; i < kConnections; ++i) {
    clients[i]->send("GET /n/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n");
  }
  for (int i = 0; i < kConnections; ++i) {
    const Response res = clients[i]->read();
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_TRUE(res.body().ends_with(" GET /n/" + std::to_string(i))) << res.body();
  }
}

TEST(Server, GracefulShutdownFinishesTheRequestInFlight) {
  std::latch arrived(1);
  auto handler = std::make_shared<HoldingHandler>(arrived);
  auto server = start(handler);
  const auto endpoint = server->local_endpoint();
  Client busy(endpoint);
  busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  arrived.wait();

  server->shutdown();
  // The listener is closed: new connections are refused.
  {
    net::io_context io;
    tcp::socket socket(io);
    beast::error_code ec;
    socket.connect(endpoint, ec);
    EXPECT_TRUE(ec) << "connected after shutdown";
  }
  auto held = handler->take();
  ASSERT_EQ(held.size(), 1u);
  held[0].second->respond(ResponseHead{200, {}}, "finished");
  held.clear();
  const Response res = busy.read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "finished");
  EXPECT_FALSE(res.keep_alive());
  EXPECT_TRUE(busy.at_eof());
  EXPECT_TRUE(server->wait_idle());
}

TEST(Server, ShutdownClosesIdleKeepAliveConnections) {
  auto server = start(std::make_shared<WhoHandler>());
  Client idle(server->local_endpoint());
  EXPECT_EQ(idle.request("GET", "/").result_int(), 200);
  server->shutdown();
  EXPECT_TRUE(idle.at_eof());
  EXPECT_TRUE(server->wait_idle());
}

TEST(Server, SendsContinueWhenTheHandlerReadsTheBodyBeforeAnswering) {
  // As hyper: `100 Continue` goes out when the body is first read while no response head
  // has been sent.
  auto server = start(std::make_shared<CollectHandler>());
  Client client(server->local_endpoint());
  client.send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  const Response interim = client.read();
  EXPECT_EQ(interim.result_int(), 100);
  client.send("ping");
  const Response res = client.read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "ping");
}

TEST(Server, NoContinueWhenTheHandlerAnswersWithoutReading) {
  auto server = start(std::make_shared<WhoHandler>());
  Client client(server->local_endpoint());
  client.send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  const Response res = client.read();
  EXPECT_EQ(res.result_int(), 200);
  // The body was never asked for, and the client may never send it: the connection closes.
  EXPECT_TRUE(client.at_eof());
}

TEST(Server, AnAbandonedRequestGets500) {
  struct Dropping : Handler {
    void handle(Request, std::shared_ptr<ResponseWriter>) override {}
  };
  auto server = start(std::make_shared<Dropping>());
  Client client(server->local_endpoint());
  const Response res = client.request("GET", "/");
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_TRUE(res.body().empty());
  EXPECT_EQ(client.request("GET", "/again").result_int(), 500);  // still usable
}

TEST(Server, AnAbandonedStartedResponseAbortsTheConnection) {
  struct Starting : Handler {
    void handle(Request, std::shared_ptr<ResponseWriter> response) override {
      response->start(ResponseHead{200, {}});
      response->write("partial");
    }
  };
  auto server = start(std::make_shared<Starting>());
  Client client(server->local_endpoint());
  client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  beast::error_code ec;
  bhttp::response_parser<bhttp::string_body> parser;
  bhttp::read(client.socket(), client.buffer(), parser, ec);
  EXPECT_TRUE(ec);  // the chunked body never ends
}

TEST(Server, HeadResponsesHaveNoBody) {
  auto server = start(std::make_shared<WhoHandler>());
  Client client(server->local_endpoint());
  const Response res = client.request("HEAD", "/h");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_TRUE(res.body().empty());
  EXPECT_EQ(client.request("GET", "/after").result_int(), 200);
}

TEST(Server, Http10WithoutLengthEndsAtClose) {
  auto server = start(std::make_shared<EchoHandler>());
  Client client(server->local_endpoint());
  client.send("POST /old HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc");
  const Response res = client.read();
  EXPECT_EQ(res.body(), "abc");
  EXPECT_FALSE(res.chunked());
  EXPECT_TRUE(client.at_eof());
}

TEST(Server, ContentLengthMismatchAbortsTheConnection) {
  struct Short : Handler {
    void handle(Request, std::shared_ptr<ResponseWriter> response) override {
      response->start(ResponseHead{200, {{"content-length", "10"}}});
      response->write("abc");
      response->finish();
    }
  };
  auto server = start(std::make_shared<Short>());
  Client client(server->local_endpoint());
  client.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  beast::error_code ec;
  bhttp::response_parser<bhttp::string_body> parser;
  bhttp::read(client.socket(), client.buffer(), parser, ec);
  EXPECT_TRUE(ec);
}

TEST(Server, UnreadRequestBodyIsDrainedForKeepAlive) {
  auto server = start(std::make_shared<WhoHandler>());
  Client client(server->local_endpoint());
  EXPECT_EQ(client.request("POST", "/ignored", std::string(100000, 'x')).result_int(), 200);
  EXPECT_EQ(client.request("GET", "/next").result_int(), 200);
}

// --- Spin's dispatch in front of the routes ----------------------------------------------

std::shared_ptr<RoutingHandler> spin_like_app() {
  std::vector<RouteEntry> entries = {
      {"who", RouteConfig::route("/who/...")},
      {"static", RouteConfig::route("/static")},
      {"broken", RouteConfig::route("/broken/*/x")},
      {"hidden", RouteConfig::private_route()},
  };
  auto router = Router::build("/", entries);
  EXPECT_TRUE(router.ok());
  struct RouteEcho : Handler {
    void handle(Request request, std::shared_ptr<ResponseWriter> response) override {
      const auto host = find_header(request.head.headers, "host");
      const auto headers = spin_headers(
          *request.route,
          full_url(request.head.tls ? "https" : "http", host, request.target->path_and_query),
          request.client_address);
      std::string body;
      for (const auto& h : headers)
        body += h.name + "=" + h.value + "\n";
      response->respond(ResponseHead{200, {}}, body);
    }
  };
  std::vector<RoutingHandler::Target> targets = {
      {"who", std::make_shared<RouteEcho>()},
      {"static", std::make_shared<StaticHandler>(201, Headers{{"x-static", "yes"}},
                                                 std::optional<std::string>("made"))},
      {"broken", std::make_shared<WhoHandler>()},
  };
  return std::make_shared<RoutingHandler>(std::move(router).value(), std::move(targets),
                                          R"({"name":"app"})");
}

TEST(RoutingHandler, HealthInfoAndNotFound) {
  auto server = start(spin_like_app());
  Client client(server->local_endpoint());
  const Response health = client.request("GET", "/.well-known/spin/health");
  EXPECT_EQ(health.result_int(), 200);
  EXPECT_EQ(health.body(), "OK");
  const Response info = client.request("GET", "/.well-known/spin/info");
  EXPECT_EQ(info.result_int(), 200);
  EXPECT_EQ(info[bhttp::field::content_type], "application/json");
  EXPECT_EQ(info.body(), R"({"name":"app"})");
  EXPECT_EQ(client.request("GET", "/.well-known/spin/other").result_int(), 404);
  const Response missing = client.request("GET", "/nothing/here");
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_TRUE(missing.body().empty());
  EXPECT_EQ(missing[bhttp::field::content_length], "0");
}

TEST(RoutingHandler, ResponseHeadIsWrittenAsHyperWritesIt) {
  auto server = start(spin_like_app());
  Client client(server->local_endpoint());
  client.send("GET /.well-known/spin/health HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string head;
  net::read_until(client.socket(), net::dynamic_buffer(head), "\r\n\r\nOK");
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200 OK\r\n")) << head;
  EXPECT_NE(head.find("\r\ncontent-length: 2\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("\r\ndate: "), std::string::npos) << head;
  EXPECT_EQ(head.find("onnection"), std::string::npos) << head;  // keep-alive is implicit
}

TEST(RoutingHandler, StaticResponse) {
  auto server = start(spin_like_app());
  Client client(server->local_endpoint());
  const Response res = client.request("GET", "/static");
  EXPECT_EQ(res.result_int(), 201);
  EXPECT_EQ(res["x-static"], "yes");
  EXPECT_EQ(res.body(), "made");
}

TEST(RoutingHandler, MatchedRequestsCarrySpinHeaders) {
  auto server = start(spin_like_app());
  Client client(server->local_endpoint());
  const std::string local = format_socket_address(client.socket().local_endpoint());
  const Response res = client.request("GET", "/who/a/b/?q=1");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(),
            "spin-path-info=/a/b/\n"
            "spin-full-url=http://localhost/who/a/b/?q=1\n"
            "spin-matched-route=/who/...\n"
            "spin-base-path=/\n"
            "spin-raw-component-route=/who/...\n"
            "spin-component-route=/who\n"
            "spin-client-addr=" +
                local + "\n");
}

TEST(RoutingHandler, BrokenRoutesAndMissingHostDropTheConnection) {
  auto server = start(spin_like_app());
  {
    Client client(server->local_endpoint());
    client.send("GET /broken/1/x HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(client.at_eof());
  }
  {
    Client client(server->local_endpoint());
    client.send("GET /who/x HTTP/1.0\r\n\r\n");
    EXPECT_TRUE(client.at_eof());
  }
  {
    // Health needs no Host.
    Client client(server->local_endpoint());
    client.send("GET /.well-known/spin/health HTTP/1.0\r\n\r\n");
    EXPECT_EQ(client.read().body(), "OK");
  }
}

// --- TLS -----------------------------------------------------------------------------------

TEST(Server, ServesTls) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("gyre-http-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ServerConfig config;
  const auto files = gyre::testing::make_certificate(dir);
  config.tls = TlsFiles{files.cert_chain_file, files.private_key_file};
  auto server = start(spin_like_app(), config);

  net::io_context io;
  net::ssl::context ctx(net::ssl::context::tls_client);
  ctx.set_verify_mode(net::ssl::verify_none);
  beast::ssl_stream<tcp::socket> stream(io, ctx);
  stream.next_layer().connect(server->local_endpoint());
  stream.handshake(net::ssl::stream_base::client);
  bhttp::request<bhttp::empty_body> req{bhttp::verb::get, "/who/x", 11};
  req.set(bhttp::field::host, "secure.test");
  bhttp::write(stream, req);
  beast::flat_buffer buffer;
  Response res;
  bhttp::read(stream, buffer, res);
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_NE(res.body().find("spin-full-url=https://secure.test/who/x\n"), std::string::npos)
      << res.body();

  ServerConfig missing;
  missing.listen = "127.0.0.1:0";
  missing.tls = TlsFiles{(dir / "none.pem").string(), (dir / "none.pem").string()};
  EXPECT_FALSE(Server::start(missing, std::make_shared<WhoHandler>()).ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gyre::http
