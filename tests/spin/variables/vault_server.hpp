// A stand-in for HashiCorp Vault on 127.0.0.1, for the tests: the KV version 2 read API
// (GET /v1/MOUNT/data/PATH) as Vault answers it, a token check, and a record of what
// each request carried.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "http/handler.hpp"
#include "support/answer_gate.hpp"

namespace gyre::spin::variables::testing {

class VaultServer final : public http::Handler {
 public:
  struct Seen {
    std::string method, target, token, vault_request;
  };

  explicit VaultServer(std::string token) : token_(std::move(token)) {}

  // Stores the secret at PATH of MOUNT; `data` is its JSON object ({"value":"..."}).
  void put(const std::string& mount, const std::string& path, const std::string& data);
  // Makes reading PATH of MOUNT fail with a 500, as a Vault in trouble answers.
  void fail(const std::string& mount, const std::string& path) { put(mount, path, ""); }
  std::vector<Seen> requests() const;
  // Holds answers until a number of requests are in (answer_gate.hpp).
  gyre::testing::AnswerGate& gate() { return gate_; }

  void handle(http::Request request, std::shared_ptr<http::ResponseWriter> response) override;

 private:
  // What Vault answers `head` with.
  std::pair<http::ResponseHead, std::string> answer(const http::RequestHead& head);

  std::string token_;
  mutable std::mutex mutex_;
  std::map<std::string, std::string> secrets_;  // by request path; empty: fails
  std::vector<Seen> seen_;
  gyre::testing::AnswerGate gate_;
};

}  // namespace gyre::spin::variables::testing
