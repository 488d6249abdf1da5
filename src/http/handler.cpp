#include "http/handler.hpp"

#include <algorithm>
#include <future>

#include "base/ascii.hpp"

namespace gyre::http {

namespace {

// Blocks on an operation that reports through a Done callback.
template <class Start>
bool wait_done(Start&& start) {
  auto promise = std::make_shared<std::promise<bool>>();
  auto future = promise->get_future();
  start([promise](bool ok) { promise->set_value(ok); });
  return future.get();
}

}  // namespace

std::optional<std::string_view> find_header(const Headers& headers, std::string_view name) {
  for (const Header& h : headers) {
    if (iequals(h.name, name)) return std::string_view(h.value);
  }
  return std::nullopt;
}

BodyChunk BodyReader::read_wait() {
  auto promise = std::make_shared<std::promise<BodyChunk>>();
  auto future = promise->get_future();
  read([promise](BodyChunk chunk) { promise->set_value(std::move(chunk)); });
  return future.get();
}

void ResponseWriter::respond(ResponseHead head, std::string body, Done done) {
  if (!find_header(head.headers, "content-length")) {
    head.headers.push_back({"content-length", std::to_string(body.size())});
  }
  start(std::move(head));
  if (!body.empty()) write(std::move(body));
  finish(std::move(done));
}

bool ResponseWriter::start_wait(ResponseHead head) {
  return wait_done([&](Done done) { start(std::move(head), std::move(done)); });
}

bool ResponseWriter::write_wait(std::string chunk) {
  return wait_done([&](Done done) { write(std::move(chunk), std::move(done)); });
}

bool ResponseWriter::finish_wait() {
  return wait_done([&](Done done) { finish(std::move(done)); });
}

StaticHandler::StaticHandler(uint16_t status, Headers headers, std::optional<std::string> body)
    : status_(status), headers_(std::move(headers)), body_(body.value_or(std::string())) {}

void StaticHandler::handle(Request, std::shared_ptr<ResponseWriter> response) {
  response->respond(ResponseHead{status_, headers_}, body_);
}

RoutingHandler::RoutingHandler(Router router, std::vector<Target> targets,
                               std::string app_info_json)
    : router_(std::move(router)),
      targets_(std::move(targets)),
      app_info_json_(std::move(app_info_json)) {}

namespace {

void respond_empty(ResponseWriter& response, uint16_t status) {
  response.respond(ResponseHead{status, {}}, {});
}

// Spin's set_req_uri: the authority comes from the Host header or the absolute target,
// and the two must agree; otherwise its request task fails before any component runs.
bool authority_ok(const Request& request) {
  const auto host = find_header(request.head.headers, "host");
  const auto& uri_authority = request.target->authority;
  if (!host && !uri_authority) return false;
  if (host) {
    if (host->empty() || host->find_first_of(" \t/?#") != std::string_view::npos) return false;
    if (uri_authority && !iequals(*host, *uri_authority)) return false;
  }
  return true;
}

}  // namespace

void RoutingHandler::handle(Request request, std::shared_ptr<ResponseWriter> response) {
  if (!request.target) request.target = parse_request_target(request.head.target);
  if (!request.target) return respond_empty(*response, 400);

  // Spin's strip_forbidden_headers.
  auto& headers = request.head.headers;
  const auto host = find_header(headers, "host");
  const bool chaining_host = host && is_service_chaining_host(*host);
  std::erase_if(headers, [&](const Header& h) {
    return iequals(h.name, "connection") || (chaining_host && iequals(h.name, "host"));
  });

  const std::string& path = request.target->path;
  if (path.starts_with(kWellKnownPrefix)) {
    const std::string_view rest = std::string_view(path).substr(kWellKnownPrefix.size());
    if (rest == "health") return response->respond(ResponseHead{200, {}}, "OK");
    if (rest == "info") {
      return response->respond(ResponseHead{200, {{"content-type", "application/json"}}},
                               app_info_json_);
    }
    return respond_empty(*response, 404);
  }

  RouteResult routed = router_.route(path);
  if (routed.status == RouteStatus::broken_route) return response->abort();
  if (routed.status == RouteStatus::not_found) return respond_empty(*response, 404);
  if (!authority_ok(request)) return response->abort();

  auto target = std::find_if(targets_.begin(), targets_.end(),
                             [&](const Target& t) { return t.id == routed.match->target; });
  if (target == targets_.end() || !target->handler) return response->abort();
  request.route = std::move(routed.match);
  target->handler->handle(std::move(request), std::move(response));
}

}  // namespace gyre::http
