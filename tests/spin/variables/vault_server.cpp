#include "vault_server.hpp"

namespace gyre::spin::variables::testing {

void VaultServer::put(const std::string& mount, const std::string& path, const std::string& data) {
  std::lock_guard lock(mutex_);
  secrets_["/v1/" + mount + "/data/" + path] = data;
}

std::vector<VaultServer::Seen> VaultServer::requests() const {
  std::lock_guard lock(mutex_);
  return seen_;
}

void VaultServer::handle(http::Request request, std::shared_ptr<http::ResponseWriter> response) {
  auto [head, body] = answer(request.head);
  gate_.answer([response, head = std::move(head), body = std::move(body)]() mutable {
    response->respond(std::move(head), std::move(body));
  });
}

std::pair<http::ResponseHead, std::string> VaultServer::answer(const http::RequestHead& head) {
  Seen seen{head.method, head.target,
            std::string(http::find_header(head.headers, "x-vault-token").value_or("")),
            std::string(http::find_header(head.headers, "x-vault-request").value_or(""))};
  std::string secret;
  bool found = false;
  {
    std::lock_guard lock(mutex_);
    seen_.push_back(seen);
    if (auto it = secrets_.find(head.target); it != secrets_.end()) {
      secret = it->second;
      found = true;
    }
  }
  http::ResponseHead out{200, {{"content-type", "application/json"}}};
  if (seen.token != token_) {
    out.status = 403;
    return {std::move(out), R"({"errors":["permission denied"]})"};
  }
  if (found && secret.empty()) {
    out.status = 500;
    return {std::move(out), R"({"errors":["internal error"]})"};
  }
  if (head.method != "GET" || !found) {
    out.status = 404;
    return {std::move(out), R"({"errors":[]})"};
  }
  return {
      std::move(out),
      R"({"request_id":"0b3a4f4e","lease_id":"","renewable":false,"lease_duration":0,"data":{"data":)" +
          secret +
          R"(,"metadata":{"created_time":"2024-01-01T00:00:00.000000Z","custom_metadata":null,)"
          R"("deletion_time":"","destroyed":false,"version":1}},"wrap_info":null,"warnings":null,)"
          R"("auth":null})"};
}

}  // namespace gyre::spin::variables::testing
