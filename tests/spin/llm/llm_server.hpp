// A stand-in LLM server on 127.0.0.1, for the tests: answers each path with the status
// and JSON body a test sets (404 for paths it did not), and records what each request
// carried, so a test checks both what the host sent and what the guest got back.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "http/handler.hpp"
#include "http/server.hpp"
#include "support/answer_gate.hpp"

namespace gyre::spin::llm::testing {

class LlmServer final : public http::Handler {
 public:
  struct Seen {
    std::string method, target, authorization, content_type, body;
  };

  void answer(const std::string& path, int status, std::string body);
  std::vector<Seen> requests() const;
  // Holds answers until a number of requests are in (answer_gate.hpp).
  gyre::testing::AnswerGate& gate() { return gate_; }

  void handle(http::Request request, std::shared_ptr<http::ResponseWriter> response) override;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::pair<int, std::string>> answers_;
  std::vector<Seen> seen_;
  gyre::testing::AnswerGate gate_;
};

// The server listening on a free port of 127.0.0.1, shut down when this goes.
class RunningLlmServer {
 public:
  RunningLlmServer();
  ~RunningLlmServer();
  LlmServer& server() { return *handler_; }
  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  std::shared_ptr<LlmServer> handler_ = std::make_shared<LlmServer>();
  std::unique_ptr<http::Server> server_;
  uint16_t port_ = 0;
};

}  // namespace gyre::spin::llm::testing
