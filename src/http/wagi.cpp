#include "http/wagi.hpp"

#include <algorithm>
#include <map>

#include "base/ascii.hpp"
#include "base/utf8.hpp"
#include "http/router.hpp"
#include "wasm/store.hpp"

namespace gyre::http {
namespace {

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

char ascii_upper(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

// What the http crate's HeaderValue::to_str accepts: visible ASCII and tabs.
bool visible_ascii(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return (b >= 0x20 && b < 0x7f) || b == '\t';
  });
}

// What HeaderValue::from_str accepts: no control characters but tabs.
bool valid_header_value(std::string_view value) {
  return std::all_of(value.begin(), value.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return (b >= 0x20 && b != 0x7f) || b == '\t';
  });
}

// An HTTP token (RFC 9110 tchar): what a header name may be made of.
bool valid_header_name(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x80 || b <= 0x20 || b == 0x7f) return false;
    return std::string_view("\"(),/:;<=>?@[\\]{}").find(c) == std::string_view::npos;
  });
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Each %XY with two hex digits becomes its byte; any other '%' stays.
std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_digit(text[i + 1]) >= 0 &&
        hex_digit(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit(text[i + 1]) * 16 + hex_digit(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// Rust's String::from_utf8_lossy: each maximal invalid subsequence becomes one U+FFFD.
std::string utf8_lossy(std::string_view in) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const auto b = static_cast<unsigned char>(in[i]);
    if (b < 0x80) {
      out += in[i++];
      continue;
    }
    int need = 0;
    unsigned lo = 0x80, hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2;
      if (b == 0xE0) lo = 0xA0;
      if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3;
      if (b == 0xF0) lo = 0x90;
      if (b == 0xF4) hi = 0x8F;
    } else {
      out += kReplacement;
      ++i;
      continue;
    }
    size_t j = i + 1;
    int got = 0;
    while (got < need && j < in.size()) {
      const auto c = static_cast<unsigned char>(in[j]);
      if (c < lo || c > hi) break;
      lo = 0x80;
      hi = 0xBF;
      ++j;
      ++got;
    }
    if (got == need) {
      out.append(in.substr(i, j - i));
    } else {
      out += kReplacement;
    }
    i = j;
  }
  return out;
}

// The IP address of `1.2.3.4:80` or `[::1]:80`, as Rust prints an IpAddr.
std::string client_ip(std::string_view address) {
  if (address.starts_with('[')) {
    const size_t close = address.find(']');
    std::string_view ip = address.substr(1, close == std::string_view::npos ? close : close - 1);
    return std::string(ip.substr(0, ip.find('%')));
  }
  return std::string(address.substr(0, address.rfind(':')));
}

// The port of an authority (`host:port`, `[v6]:port`), if it has one.
std::optional<std::string> authority_port(std::string_view authority) {
  const size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const size_t bracket = authority.rfind(']');
  if (bracket != std::string_view::npos && bracket > colon) return std::nullopt;
  std::string_view port = authority.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  const unsigned long value = std::stoul(std::string(port));
  if (value > 65535) return std::nullopt;
  return std::to_string(value);
}

// Spin's SERVER_NAME and SERVER_PORT: the port of the request's authority (80 without
// one), then the name Spin passes as its default host, then the Host header split at
// its first ':' overriding whichever part is not empty.
std::pair<std::string, std::string> server_name_and_port(const Request& request) {
  const auto host_header = find_header(request.head.headers, "host");
  const bool host_usable = host_header && visible_ascii(*host_header);
  std::optional<std::string> authority;
  if (host_header) authority = std::string(*host_header);
  if (!authority && request.target && request.target->authority)
    authority = request.target->authority;
  std::string host = "default_host";
  std::string port = (authority ? authority_port(*authority) : std::nullopt).value_or("80");
  if (host_usable) {
    const std::string_view value = *host_header;
    const size_t colon = value.find(':');
    const std::string_view name = value.substr(0, colon);
    if (!name.empty()) host = name;
    if (colon != std::string_view::npos && colon + 1 < value.size()) port = value.substr(colon + 1);
  }
  return {host, port};
}

// A `Status:` code as the http crate parses one: three digits, 100 to 999.
std::optional<uint16_t> status_code(std::string_view text) {
  if (text.size() != 3 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  const int code = (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
  if (code < 100) return std::nullopt;
  return static_cast<uint16_t>(code);
}

// Spin's body for output that is not a response.
constexpr std::string_view kInsufficient =
    "Exactly one of 'location' or 'content-type' must be specified";

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\v\f\r";
  const size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const size_t last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

}  // namespace

std::vector<std::string> wagi_arguments(std::string_view argv_template, std::string_view path,
                                        std::string_view query) {
  std::string args(query);
  std::replace(args.begin(), args.end(), '&', ' ');
  const std::string line =
      replace_all(replace_all(std::string(argv_template), "${SCRIPT_NAME}", path), "${ARGS}", args);
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t space = line.find(' ', start);
    out.push_back(line.substr(start, space - start));
    if (space == std::string::npos) break;
    start = space + 1;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> wagi_environment(const Request& request,
                                                                  size_t body_length) {
  const std::optional<RequestTarget> parsed =
      request.target ? request.target : parse_request_target(request.head.target);
  const std::string path_and_query = parsed ? parsed->path_and_query : request.head.target;
  const size_t question = path_and_query.find('?');
  const std::string query =
      question == std::string::npos ? std::string() : path_and_query.substr(question + 1);
  const RouteMatch match = request.route.value_or(RouteMatch{});
  const auto [server_name, server_port] = server_name_and_port(request);
  const std::string ip = client_ip(request.client_address);
  const std::string scheme = request.head.tls ? "https" : "http";

  std::map<std::string, std::string> env;
  env["AUTH_TYPE"] = "";
  env["CONTENT_LENGTH"] = std::to_string(body_length);
  // Spin looks the type up under the name "CONTENT_TYPE", which the http crate reads as
  // a header called `content_type`.
  const auto content_type = find_header(request.head.headers, "content_type");
  env["CONTENT_TYPE"] =
      content_type && visible_ascii(*content_type) ? std::string(*content_type) : "";
  env["GATEWAY_INTERFACE"] = "CGI/1.1";
  env["QUERY_STRING"] = query;
  env["REMOTE_ADDR"] = ip;
  env["REMOTE_HOST"] = ip;
  env["REMOTE_USER"] = "";
  env["REQUEST_METHOD"] = request.head.method;
  env["SCRIPT_NAME"] = std::string(match.based_route_or_prefix());
  env["PATH_INFO"] = match.path_info;
  env["X_RAW_PATH_INFO"] = match.path_info;
  env["PATH_TRANSLATED"] = utf8_lossy(percent_decode(match.path_info));
  env["SERVER_NAME"] = server_name;
  env["SERVER_PORT"] = server_port;
  env["SERVER_PROTOCOL"] = request.head.version == 10 ? "HTTP/1.0" : "HTTP/1.1";
  env["SERVER_SOFTWARE"] = "WAGI/1";

  // Headers by name in order of first arrival, each name's values in order: the last
  // value of a name wins, as Spin inserts them into a map.
  std::vector<std::string> names;
  for (const auto& header : request.head.headers) {
    const std::string name = ascii_lower(header.name);
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  for (const auto& name : names) {
    std::string key = "HTTP_";
    for (char c : name)
      key += c == '-' ? '_' : ascii_upper(c);
    if (key == "HTTP_AUTHORIZATION" || key == "HTTP_CONNECTION") continue;
    for (const auto& header : request.head.headers) {
      if (!iequals(header.name, name)) continue;
      env[key] = visible_ascii(header.value) ? header.value : "CORRUPT VALUE";
    }
  }

  const auto host = find_header(request.head.headers, "host");
  env["X_FULL_URL"] = full_url(scheme, host, path_and_query);
  env["X_MATCHED_ROUTE"] = match.based_route;
  env["X_BASE_PATH"] = "/";
  env["X_RAW_COMPONENT_ROUTE"] = match.raw_route;
  env["X_COMPONENT_ROUTE"] = std::string(match.raw_route_or_prefix());
  env["X_CLIENT_ADDR"] = request.client_address;
  for (const auto& [name, value] : match.params) {
    std::string key = "X_PATH_MATCH_";
    for (char c : name)
      key += ascii_upper(c);
    env[key] = value;
  }
  return {env.begin(), env.end()};
}

Result<CgiResponse, std::string> parse_cgi_response(std::string_view output) {
  // The header section ends at the first empty line; CRs in it do not count.
  std::string headers;
  std::optional<size_t> body_start;
  char last = 0;
  for (size_t i = 0; i < output.size(); ++i) {
    const char c = output[i];
    if (c == '\r') continue;
    if (c == '\n' && last == '\n') {
      body_start = i + 1;
      break;
    }
    last = c;
    headers += c;
  }
  CgiResponse response;
  if (!body_start) {
    // No empty line: everything is body, and there are no headers.
    response.head = {500, {}};
    response.body = std::string(kInsufficient);
    response.invalid = "the guest's output has no empty line ending its CGI headers";
    return response;
  }
  response.body = std::string(output.substr(*body_start));
  if (!valid_utf8(headers)) return std::string("the guest's CGI headers are not UTF-8");

  // Header lines by name as written, the last value of a name winning, in first-seen order.
  std::vector<std::pair<std::string, std::string>> fields;
  const std::string_view all = trim(headers);
  for (size_t start = 0; start <= all.size();) {
    size_t end = all.find('\n', start);
    if (end == std::string_view::npos) end = all.size();
    const std::string_view line = all.substr(start, end - start);
    start = end + 1;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // Spin skips it as corrupt
    std::string name(trim(line.substr(0, colon)));
    std::string value(trim(line.substr(colon + 1)));
    auto same = std::find_if(fields.begin(), fields.end(),
                             [&](const auto& field) { return field.first == name; });
    if (same != fields.end()) {
      same->second = std::move(value);
    } else {
      fields.emplace_back(std::move(name), std::move(value));
    }
  }

  bool sufficient = false, explicit_status = false;
  response.head.status = 200;
  auto set_header = [&](std::string name, std::string value) {
    auto same = std::find_if(response.head.headers.begin(), response.head.headers.end(),
                             [&](const Header& h) { return h.name == name; });
    if (same != response.head.headers.end()) {
      same->value = std::move(value);
    } else {
      response.head.headers.push_back({std::move(name), std::move(value)});
    }
  };
  for (auto& [written, value] : fields) {
    const std::string name = ascii_lower(written);
    const bool used = name == "status" || name == "location" || name == "content-type" ||
                      (valid_header_name(name) && name != "content-length" &&
                       name != "transfer-encoding" && name != "connection");
    if (!used) continue;
    if (name != "status" && !valid_header_value(value)) {
      return "the guest's CGI header " + written + " has an invalid value";
    }
    if (name == "status") {
      sufficient = explicit_status = true;
      const std::string_view code = std::string_view(value).substr(0, value.find(' '));
      response.head.status = status_code(code).value_or(502);
    } else if (name == "location") {
      sufficient = true;
      set_header(name, value);
      if (!explicit_status) response.head.status = 302;
    } else if (name == "content-type") {
      sufficient = true;
      set_header(name, value);
    } else {
      set_header(name, value);
    }
  }
  if (!sufficient) {
    response.head = {500, {}};
    response.body = std::string(kInsufficient);
    response.invalid = "the guest's CGI headers have none of Content-Type, Location, Status";
  }
  return response;
}

// ---- WagiModule --------------------------------------------------------------------

WagiModule::WagiModule(wasm::Engine& engine, wasm::Module module,
                       std::unique_ptr<wasm::Linker> linker, wasm::InstancePre pre,
                       WagiOptions options)
    : engine_(engine),
      module_(std::move(module)),
      linker_(std::move(linker)),
      pre_(std::move(pre)),
      options_(std::move(options)),
      files_(wasi::make_preview1_files(options_.files)) {}

Result<std::shared_ptr<const WagiModule>, WagiError> WagiModule::create(
    wasm::Engine& engine, std::string_view component_id, std::span<const uint8_t> wasm,
    WagiOptions options) {
  const std::string id(component_id);
  if (options.entrypoint != "_start") {
    return WagiError{"Wagi component '" + id + "' cannot use deprecated 'entrypoint' field"};
  }
  // The preamble's version field: 1 for a core module, 0x0d (and layer 1) for a component.
  if (wasm.size() >= 8 && wasm[4] != 1) {
    return WagiError{"Wagi component '" + id +
                     "' is not a core module: the wagi executor runs wasm32-wasip1 commands"};
  }
  auto module = engine.compile(wasm);
  if (!module) return WagiError{"Wagi component '" + id + "': " + module.error().describe()};
  const auto exports = module->exports();
  const bool has_start = std::any_of(exports.begin(), exports.end(), [](const auto& e) {
    return e.name == "_start" && e.kind == wasm::ExternKind::kFunc;
  });
  if (!has_start) {
    return WagiError{"Wagi component '" + id +
                     "': failed to find wasi command interface for wagi executor"};
  }
  auto linker = std::make_unique<wasm::Linker>(engine);
  if (auto added = wasi::add_preview1(*linker); !added) {
    return WagiError{"Wagi component '" + id + "': " + added.error().describe()};
  }
  auto pre = linker->prepare(*module);
  if (!pre) return WagiError{"Wagi component '" + id + "': " + pre.error().describe()};
  return std::shared_ptr<const WagiModule>(std::make_shared<WagiModule>(
      engine, std::move(*module), std::move(linker), std::move(*pre), std::move(options)));
}

Result<CgiResponse, std::string> WagiModule::run(const Request& request, std::string body) const {
  const std::optional<RequestTarget> parsed =
      request.target ? request.target : parse_request_target(request.head.target);
  const std::string path_and_query = parsed ? parsed->path_and_query : request.head.target;
  const size_t question = path_and_query.find('?');
  const std::string query =
      question == std::string::npos ? std::string() : path_and_query.substr(question + 1);

  wasi::Preview1Config config;
  config.arguments =
      wagi_arguments(options_.argv, parsed ? parsed->path : request.head.target, query);
  config.environment = options_.environment;
  for (auto& variable : wagi_environment(request, body.size()))
    config.environment.push_back(std::move(variable));
  config.stdin_data = std::move(body);
  std::string output;
  config.stdout_sink = [&output](std::string_view text) { output.append(text); };
  config.stderr_sink = options_.stderr_sink;
  config.files = files_;
  config.clock = options_.clock;
  if (options_.deadline) config.wake_by = std::chrono::steady_clock::now() + *options_.deadline;

  wasi::Preview1Ctx ctx(std::move(config));
  wasm::Store store(engine_, &ctx);
  store.stop_when(wasm::StopWhen{options_.deadline, request.cancelled});
  auto instance = pre_.instantiate(store);
  if (!instance) return "instantiation failed: " + instance.error().describe();
  const auto start = instance->func(store.context(), options_.entrypoint);
  if (!start) return std::string("the module exports no _start function");
  auto called = start->call(store.context(), {});
  if (!called) {
    const auto code = ctx.exit_code();
    if (!code) return called.error().describe();
    if (*code != 0) return "the guest exited with status " + std::to_string(*code);
  }
  if (output.empty()) {
    return std::string(
        "the component is configured to use the WAGI executor but did not write to stdout");
  }
  return parse_cgi_response(output);
}

// ---- WagiHandler -------------------------------------------------------------------

WagiHandler::WagiHandler(std::string component_id, std::shared_ptr<const WagiModule> module,
                         WorkerPool& workers, Logger log)
    : id_(std::move(component_id)),
      module_(std::move(module)),
      workers_(workers),
      log_(std::move(log)) {}

void WagiHandler::handle(Request request, std::shared_ptr<ResponseWriter> response) {
  // A network thread must not block: the guest runs on a worker.
  auto shared = std::make_shared<Request>(std::move(request));
  auto task = [this, shared, response] { run(std::move(*shared), response); };
  if (shared->internal) {
    workers_.post_now(std::move(task));
  } else {
    workers_.post(std::move(task));
  }
}

void WagiHandler::run(Request request, std::shared_ptr<ResponseWriter> response) const {
  std::string body;
  while (request.body) {
    BodyChunk chunk = request.body->read_wait();
    if (!chunk.error.empty()) {
      log_->error("component {}: reading the request body failed: {}", id_, chunk.error);
      response->respond(ResponseHead{500, {}}, "");
      return;
    }
    body += chunk.data;
    if (chunk.end) break;
  }
  auto outcome = module_->run(request, std::move(body));
  if (!outcome) {
    log_->error("component {} failed: {}", id_, outcome.error());
    response->respond(ResponseHead{500, {}}, "");
    return;
  }
  if (outcome->invalid) log_->error("component {}: {}", id_, *outcome->invalid);
  response->respond(std::move(outcome->head), std::move(outcome->body));
}

}  // namespace gyre::http
