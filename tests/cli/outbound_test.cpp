// Outbound HTTP from components under `gyre up`, end to end: a Spin JS SDK component
// fetches from an upstream server on 127.0.0.1 (standing in for the internet), from
// another component of the app (service chaining) and from the app itself, each allowed
// or denied by its `allowed_outbound_hosts` as Spin decides.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <string>

#include "http/server.hpp"
#include "support/gyre_up.hpp"
#include "support/http_client.hpp"
#include "support/process.hpp"

namespace {

using gyre::testing::fixture_path;
using gyre::testing::GyreUp;
using gyre::testing::http_request;
using gyre::testing::make_app;
namespace http = gyre::http;

void read_all(std::shared_ptr<http::BodyReader> reader, std::shared_ptr<std::string> into,
              std::function<void()> done) {
  reader->read([reader, into, done](http::BodyChunk chunk) {
    into->append(chunk.data);
    if (chunk.end) return done();
    read_all(reader, into, done);
  });
}

// The internet, for these tests: answers /echo with the request body, /hold when the test
// releases it, anything else with what it saw of the request. Counts the requests that
// reached it.
class Upstream final : public http::Handler {
 public:
  void handle(http::Request request, std::shared_ptr<http::ResponseWriter> response) override {
    ++requests;
    if (request.head.target == "/hold") {
      std::lock_guard lock(mutex_);
      held_ = std::move(response);
      return held_arrived_.set_value();
    }
    auto body = std::make_shared<std::string>();
    auto head = std::make_shared<http::RequestHead>(request.head);
    read_all(request.body, body, [head, body, response] {
      const auto host = http::find_header(head->headers, "host");
      const auto forwarded = http::find_header(head->headers, "x-forwarded");
      http::ResponseHead out{200, {{"content-type", "text/x-upstream"}}};
      if (head->target == "/echo") return response->respond(std::move(out), *body);
      response->respond(std::move(out), "upstream saw " + head->method + " " + head->target +
                                            " host=" + std::string(host.value_or("")) +
                                            " forwarded=" + std::string(forwarded.value_or("")) +
                                            " bytes=" + std::to_string(body->size()));
    });
  }
  // Waits (a minute at most) for a /hold request.
  bool wait_held() {
    return arrived_.wait_for(std::chrono::minutes(1)) == std::future_status::ready;
  }
  bool release(std::string body) {
    if (!wait_held()) return false;
    std::lock_guard lock(mutex_);
    held_->respond(http::ResponseHead{200, {}}, std::move(body));
    held_.reset();
    return true;
  }
  std::atomic<int> requests{0};

 private:
  std::mutex mutex_;
  std::shared_ptr<http::ResponseWriter> held_;
  std::promise<void> held_arrived_;
  std::shared_future<void> arrived_ = held_arrived_.get_future().share();
};

std::string encode(const std::string& text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_') {
      out.push_back(static_cast<char>(c));
    } else {
      out += {'%', kHex[c >> 4], kHex[c & 15]};
    }
  }
  return out;
}

class Outbound : public ::testing::Test {
 protected:
  void SetUp() override {
    http::ServerConfig config;
    config.listen = "127.0.0.1:0";
    auto started = http::Server::start(config, upstream_);
    ASSERT_TRUE(started.ok());
    server_ = std::move(started).value();
    port_ = server_->local_endpoint().port();
  }
  void TearDown() override {
    server_->shutdown();
    server_->wait_idle();
  }

  // A component fetching through the js-outbound fixture, with this allow-list.
  std::string component(const std::string& id, const std::string& route,
                        const std::string& allowed) const {
    return "[[trigger.http]]\nroute = \"" + route + "\"\ncomponent = \"" + id +
           "\"\n\n[component." + id + "]\nsource = \"" + fixture_path("js-outbound") +
           "\"\nallowed_outbound_hosts = " + allowed + "\n\n";
  }
  std::string upstream(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::string port() const { return std::to_string(port_); }

  std::shared_ptr<Upstream> upstream_ = std::make_shared<Upstream>();
  std::unique_ptr<http::Server> server_;
  uint16_t port_ = 0;
};

constexpr const char* kHeader = "spin_manifest_version = 2\n[application]\nname = \"out\"\n\n";

TEST_F(Outbound, EachAllowListFormAllowsWhatSpinAllowsAndDeniesTheRest) {
  const std::string other_port = std::to_string(port_ == 1 ? 2 : port_ - 1);
  const std::string manifest =
      std::string(kHeader) +
      "[variables]\nupstream_host = { default = \"127.0.0.1\" }\n"
      "upstream_port = { required = true }\n\n" +
      component("exact", "/exact/...", "[\"http://127.0.0.1:" + port() + "\"]") +
      component("wildcard", "/wildcard/...", "[\"http://*:" + port() + "\"]") +
      component("cidr", "/cidr/...", "[\"http://127.0.0.0/8:" + port() + "\"]") +
      component("cidr-out", "/cidr-out/...", "[\"http://10.0.0.0/8:" + port() + "\"]") +
      component("other-port", "/other-port/...", "[\"http://127.0.0.1:" + other_port + "\"]") +
      component("https-only", "/https-only/...", "[\"https://127.0.0.1:" + port() + "\"]") +
      component("everything", "/everything/...", "[\"*://*:*\"]") +
      component("template", "/template/...",
                "[\"http://{{ upstream_host }}:{{ upstream_port }}\"]") +
      component("nothing", "/nothing/...", "[]");
  // upstream_port has no default: its value comes from the environment, as Spin reads it.
  GyreUp gyre(make_app("outbound-forms", manifest), {}, {{"SPIN_VARIABLE_UPSTREAM_PORT", port()}});
  ASSERT_NE(gyre.port(), 0) << gyre.output();

  const std::string query = "/?url=" + encode(upstream("/hello?x=1"));
  for (const char* allowed : {"exact", "wildcard", "cidr", "everything", "template"}) {
    const int before = upstream_->requests;
    auto r = http_request(gyre.port(), "GET", "/" + std::string(allowed) + query);
    EXPECT_EQ(r.status, 200) << allowed << ": " << r.body;
    EXPECT_EQ(r.body,
              "upstream saw GET /hello?x=1 host=127.0.0.1:" + port() + " forwarded= bytes=0")
        << allowed;
    EXPECT_EQ(r.header("x-upstream-type"), "text/x-upstream") << allowed;
    EXPECT_EQ(upstream_->requests, before + 1) << allowed;
  }
  for (const char* denied : {"cidr-out", "other-port", "https-only", "nothing"}) {
    const int before = upstream_->requests;
    auto r = http_request(gyre.port(), "GET", "/" + std::string(denied) + query);
    EXPECT_EQ(r.status, 502) << denied << ": " << r.body;
    EXPECT_NE(r.body.find("fetch failed"), std::string::npos) << denied << ": " << r.body;
    EXPECT_EQ(upstream_->requests, before) << denied << " reached the upstream";
  }
  gyre.stop();
  EXPECT_NE(gyre.output().find("A component tried to make an outbound network connection to "
                               "disallowed destination 'http://127.0.0.1:" +
                               port() + "'."),
            std::string::npos)
      << gyre.output();
  EXPECT_NE(gyre.output().find("To allow this request, add 'allowed_outbound_hosts = "
                               "[\"http://127.0.0.1:" +
                               port() + "\"]' to the manifest component section."),
            std::string::npos)
      << gyre.output();
}

// A guest waiting on a slow upstream holds only its own request: six other requests, each
// on a connection of its own and so on every network thread, are answered meanwhile.
TEST_F(Outbound, AGuestWaitingForItsUpstreamHoldsNoOtherRequest) {
  GyreUp gyre(
      make_app("outbound-waiting",
               std::string(kHeader) +
                   component("slow", "/slow/...", "[\"http://127.0.0.1:" + port() + "\"]") +
                   component("quick", "/quick/...", "[\"http://127.0.0.1:" + port() + "\"]")));
  ASSERT_NE(gyre.port(), 0) << gyre.output();

  auto slow = std::async(std::launch::async, [&] {
    return http_request(gyre.port(), "GET", "/slow/?url=" + encode(upstream("/hold")));
  });
  ASSERT_TRUE(upstream_->wait_held());
  // Each request below is a connection of its own, so some share the slow one's thread.
  for (int i = 0; i < 6; ++i) {
    auto quick = http_request(gyre.port(), "GET", "/quick/?url=" + encode(upstream("/q")));
    EXPECT_EQ(quick.status, 200) << quick.body;
    EXPECT_EQ(quick.body, "upstream saw GET /q host=127.0.0.1:" + port() + " forwarded= bytes=0");
  }
  ASSERT_TRUE(upstream_->release("released"));
  auto answered = slow.get();
  EXPECT_EQ(answered.status, 200);
  EXPECT_EQ(answered.body, "released");
}

TEST_F(Outbound, BodiesAndHeadersGoUpstreamAndComeBackWhole) {
  GyreUp gyre(make_app(
      "outbound-bodies",
      std::string(kHeader) + component("fetch", "/...", "[\"http://127.0.0.1:" + port() + "\"]")));
  ASSERT_NE(gyre.port(), 0) << gyre.output();

  auto seen = http_request(gyre.port(), "PUT", "/?url=" + encode(upstream("/look")), "twelve bytes",
                           {{"x-forward", "from the test"}});
  EXPECT_EQ(seen.status, 200) << seen.body;
  EXPECT_EQ(seen.body, "upstream saw PUT /look host=127.0.0.1:" + port() +
                           " forwarded=from the test bytes=12");

  std::string big(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>('a' + (i * 7) % 26);
  auto echoed = http_request(gyre.port(), "POST", "/?url=" + encode(upstream("/echo")), big);
  EXPECT_EQ(echoed.status, 200);
  EXPECT_EQ(echoed.body.size(), big.size());
  EXPECT_TRUE(echoed.body == big) << "the 3 MB body came back changed";
}

TEST_F(Outbound, AnUnreachableServerIsAnErrorForTheGuestAndTheAppGoesOn) {
  // A port nothing listens on: take one from a server that has stopped.
  std::string closed_port;
  {
    http::ServerConfig config;
    config.listen = "127.0.0.1:0";
    auto probe = http::Server::start(config, upstream_);
    ASSERT_TRUE(probe.ok());
    closed_port = std::to_string((*probe)->local_endpoint().port());
    (*probe)->shutdown();
    (*probe)->wait_idle();
  }
  GyreUp gyre(make_app("outbound-refused",
                       std::string(kHeader) + component("fetch", "/...", "[\"*://*:*\"]")));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto refused =
      http_request(gyre.port(), "GET", "/?url=" + encode("http://127.0.0.1:" + closed_port + "/"));
  EXPECT_EQ(refused.status, 502) << refused.body;
  auto fine = http_request(gyre.port(), "GET", "/?url=" + encode(upstream("/after")));
  EXPECT_EQ(fine.status, 200) << fine.body;
}

TEST_F(Outbound, ServiceChainingReachesPrivateComponentsInProcessWithSpinsHeaders) {
  const std::string manifest =
      std::string(kHeader) + component("front", "/front/...", "[\"http://*.spin.internal\"]") +
      component("lonely", "/lonely/...", "[]") +
      "[[trigger.http]]\nroute = { private = true }\ncomponent = \"back\"\n\n"
      "[component.back]\nsource = \"" +
      fixture_path("js-echo") + "\"\n";
  GyreUp gyre(make_app("outbound-chaining", manifest));
  ASSERT_NE(gyre.port(), 0) << gyre.output();

  auto headers = http_request(gyre.port(), "GET",
                              "/front/?url=" + encode("http://back.spin.internal/x/headers?q=1"));
  ASSERT_EQ(headers.status, 200) << headers.body;
  EXPECT_NE(headers.body.find(R"("spin-full-url":"http://localhost/x/headers?q=1")"),
            std::string::npos)
      << headers.body;
  EXPECT_NE(headers.body.find(R"("spin-path-info":"/x/headers")"), std::string::npos)
      << headers.body;
  EXPECT_NE(headers.body.find(R"("spin-client-addr":"0.0.0.0:0")"), std::string::npos)
      << headers.body;

  // Bodies larger than the exchange buffers (1 MiB each way) wait for room on both sides.
  for (const size_t size : {size_t{200} * 1024, size_t{3} << 20}) {
    const std::string body(size, 'z');
    auto echoed = http_request(gyre.port(), "POST",
                               "/front/?url=" + encode("http://back.spin.internal/"), body);
    EXPECT_EQ(echoed.status, 200) << size;
    EXPECT_TRUE(echoed.body == body) << "the chained echo changed the body of " << size;
  }

  // Not allowed to chain: denied, and the private component stays private from outside.
  auto lonely =
      http_request(gyre.port(), "GET", "/lonely/?url=" + encode("http://back.spin.internal/"));
  EXPECT_EQ(lonely.status, 502) << lonely.body;
  EXPECT_EQ(upstream_->requests, 0);
}

TEST_F(Outbound, SelfRequestsGoThroughTheAppsOwnRoutesWhenSelfIsAllowed) {
  const std::string manifest =
      std::string(kHeader) + component("selfish", "/selfish/...", "[\"http://self\"]") +
      component("stranger", "/stranger/...", "[]") +
      "[[trigger.http]]\nroute = \"/static\"\nstatic_response = { body = \"static text\" }\n";
  GyreUp gyre(make_app("outbound-self", manifest));
  ASSERT_NE(gyre.port(), 0) << gyre.output();

  auto mine = http_request(gyre.port(), "GET", "/selfish/?url=" + encode("http://self.alt/static"));
  EXPECT_EQ(mine.status, 200) << mine.body;
  EXPECT_EQ(mine.body, "static text");
  auto theirs =
      http_request(gyre.port(), "GET", "/stranger/?url=" + encode("http://self.alt/static"));
  EXPECT_EQ(theirs.status, 502) << theirs.body;
  gyre.stop();
  EXPECT_NE(gyre.output().find("A component tried to make an HTTP request to its own app but it "
                               "does not have permission."),
            std::string::npos)
      << gyre.output();
}

// ---- WASIp3: wasi:http/client ---------------------------------------------------------------

// The p3 C component (fixtures/c/p3hello) at `route`: its /fetch/<authority>/<path> sends
// GET http://<authority>/<path> and answers "<status> <body>", or 502 "error-code <case>".
std::string p3_component(const std::string& id, const std::string& route,
                         const std::string& allowed) {
  return "[[trigger.http]]\nroute = \"" + route + "\"\ncomponent = \"" + id + "\"\n\n[component." +
         id + "]\nsource = \"" + fixture_path("c-p3hello") +
         "\"\nallowed_outbound_hosts = " + allowed + "\n\n";
}

TEST_F(Outbound, AWasip3ComponentSendsWithinItsAllowListAndIsDeniedOutsideIt) {
  GyreUp gyre(make_app("outbound-p3", std::string(kHeader) +
                                          p3_component("allowed", "/allowed/...",
                                                       "[\"http://127.0.0.1:" + port() + "\"]") +
                                          p3_component("denied", "/denied/...", "[]")));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto sent = http_request(gyre.port(), "GET", "/allowed/fetch/127.0.0.1:" + port() + "/p3?q=1");
  EXPECT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(sent.body,
            "200 upstream saw GET /p3?q=1 host=127.0.0.1:" + port() + " forwarded= bytes=0");
  auto denied = http_request(gyre.port(), "GET", "/denied/fetch/127.0.0.1:" + port() + "/p3");
  EXPECT_EQ(denied.status, 502);
  EXPECT_EQ(denied.body, "error-code 15\n");  // HTTP-request-denied
  EXPECT_EQ(upstream_->requests.load(), 1);
}

// A p3 guest's send is a pending subtask: the lane serves other requests of the same
// component meanwhile.
TEST_F(Outbound, AWasip3GuestAwaitingItsSendHoldsNoOtherRequest) {
  GyreUp gyre(make_app(
      "outbound-p3-waiting",
      std::string(kHeader) + p3_component("p3", "/...", "[\"http://127.0.0.1:" + port() + "\"]")));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto slow = std::async(std::launch::async, [&] {
    return http_request(gyre.port(), "GET", "/fetch/127.0.0.1:" + port() + "/hold");
  });
  ASSERT_TRUE(upstream_->wait_held());
  for (int i = 0; i < 6; ++i) {
    auto quick = http_request(gyre.port(), "GET", "/quick");
    EXPECT_EQ(quick.status, 200);
    EXPECT_EQ(quick.body, "hello from p3 /quick\n");
  }
  ASSERT_TRUE(upstream_->release("released"));
  auto answered = slow.get();
  EXPECT_EQ(answered.status, 200);
  EXPECT_EQ(answered.body, "200 released");
}

// Spin 3.5's WASIp3 (rc-2025-09-16, `executor = { type = "wasip3-unstable" }`) had no
// wasi:http/client: the same guest, built against it, sends through the handler interface
// it imports.
TEST_F(Outbound, ASpin35Wasip3ComponentSendsThroughItsImportedHandler) {
  GyreUp gyre(make_app("outbound-p3-rc-2025-09-16",
                       std::string(kHeader) +
                           "[[trigger.http]]\nroute = \"/...\"\n"
                           "component = \"p3\"\n"
                           "executor = { type = \"wasip3-unstable\" }\n\n"
                           "[component.p3]\nsource = \"" +
                           fixture_path("c-p3hello-rc-2025-09-16") +
                           "\"\nallowed_outbound_hosts = [\"http://127.0.0.1:" + port() + "\"]\n"));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto hello = http_request(gyre.port(), "GET", "/hi");
  EXPECT_EQ(hello.body, "hello from p3 /hi\n");
  auto sent = http_request(gyre.port(), "GET", "/fetch/127.0.0.1:" + port() + "/old");
  EXPECT_EQ(sent.status, 200) << sent.body;
  EXPECT_EQ(sent.body,
            "200 upstream saw GET /old host=127.0.0.1:" + port() + " forwarded= bytes=0");
}

// request-options travel with a p3 request: a first-byte timeout ends a send whose
// upstream holds its answer, as the guest's error-code (connection-read-timeout, 9).
TEST_F(Outbound, AWasip3RequestsFirstByteTimeoutEndsItsSend) {
  GyreUp gyre(make_app(
      "outbound-p3-timeout",
      std::string(kHeader) + p3_component("p3", "/...", "[\"http://127.0.0.1:" + port() + "\"]")));
  ASSERT_NE(gyre.port(), 0) << gyre.output();
  auto timed_out =
      http_request(gyre.port(), "GET", "/fetch-within/200/127.0.0.1:" + port() + "/hold");
  EXPECT_EQ(timed_out.status, 502);
  EXPECT_EQ(timed_out.body, "error-code 9\n");
  // The upstream's held answer, too late for anyone, lets its connection go.
  EXPECT_TRUE(upstream_->release("too late"));
}

}  // namespace
