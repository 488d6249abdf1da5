#include "llm_server.hpp"

namespace gyre::spin::llm::testing {
namespace {

void read_all(std::shared_ptr<http::BodyReader> reader, std::shared_ptr<std::string> into,
              std::function<void()> done) {
  reader->read([reader, into, done](http::BodyChunk chunk) {
    into->append(chunk.data);
    if (chunk.end) return done();
    read_all(reader, into, done);
  });
}

}  // namespace

void LlmServer::answer(const std::string& path, int status, std::string body) {
  std::lock_guard lock(mutex_);
  answers_[path] = {status, std::move(body)};
}

std::vector<LlmServer::Seen> LlmServer::requests() const {
  std::lock_guard lock(mutex_);
  return seen_;
}

void LlmServer::handle(http::Request request, std::shared_ptr<http::ResponseWriter> response) {
  auto head = std::make_shared<http::RequestHead>(std::move(request.head));
  auto body = std::make_shared<std::string>();
  read_all(request.body, body, [this, head, body, response] {
    const auto header = [&](const char* name) {
      return std::string(http::find_header(head->headers, name).value_or(""));
    };
    std::pair<int, std::string> reply{404, R"({"error":{"message":"no such path"}})"};
    {
      std::lock_guard lock(mutex_);
      seen_.push_back(
          {head->method, head->target, header("authorization"), header("content-type"), *body});
      if (auto it = answers_.find(head->target); it != answers_.end()) reply = it->second;
    }
    gate_.answer([response, reply = std::move(reply)]() mutable {
      response->respond(
          {static_cast<uint16_t>(reply.first), {{"content-type", "application/json"}}},
          std::move(reply.second));
    });
  });
}

RunningLlmServer::RunningLlmServer() {
  http::ServerConfig config;
  config.listen = "127.0.0.1:0";
  auto started = http::Server::start(config, handler_);
  if (!started.ok()) return;
  server_ = std::move(started).value();
  port_ = server_->local_endpoint().port();
}

RunningLlmServer::~RunningLlmServer() {
  if (!server_) return;
  server_->shutdown();
  server_->wait_idle();
}

}  // namespace gyre::spin::llm::testing
