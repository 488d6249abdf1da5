#include "spin/variables/vault_provider.hpp"

#include <curl/curl.h>

#include <memory>
#include <nlohmann/json.hpp>

#include "spin/curl_transfer.hpp"

namespace gyre::spin::variables {
namespace {

// What Spin's provider tells a guest about any failure but a missing secret.
constexpr const char* kFailed = "Failed to check Vault for config";

// A path segment as the URL parser Spin's client uses leaves it or percent-encodes it.
std::string encode_segment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : segment) {
    const bool plain =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        std::string_view("-._~!$&'()*+,;=:@").find(static_cast<char>(c)) != std::string_view::npos;
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

size_t append_body(char* data, size_t size, size_t count, void* body) {
  static_cast<std::string*>(body)->append(data, size * count);
  return size * count;
}

// Vault's own words about a failed request: its JSON `errors`, if any.
std::string vault_errors(const std::string& body) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  std::string out;
  if (!json.is_object() || !json.contains("errors") || !json["errors"].is_array()) return out;
  for (const auto& e : json["errors"]) {
    if (e.is_string()) out += (out.empty() ? "" : "; ") + e.get<std::string>();
  }
  return out;
}

app::VariableError failed(std::string cause) {
  return app::VariableError{app::VariableError::Kind::kProvider, kFailed, std::move(cause)};
}

}  // namespace

std::optional<std::string> vault_secret_url(const VaultConfig& config, std::string_view variable) {
  const std::string& url = config.url;
  const size_t scheme_end = url.find("://");
  const std::string scheme = scheme_end == url.npos ? "" : url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return std::nullopt;
  const size_t path_start = url.find_first_of("/?#", scheme_end + 3);
  const std::string origin = url.substr(0, path_start);
  std::string path = "/";
  if (path_start != url.npos && url[path_start] == '/') {
    path = url.substr(path_start, url.find_first_of("?#", path_start) - path_start);
  }
  // The client appends the segments of MOUNT/data/PATH to the URL's path, then puts
  // the API version in front of the whole path.
  std::string secret = config.mount + "/data/";
  secret += config.prefix ? *config.prefix + "/" + std::string(variable) : std::string(variable);
  size_t start = 0;
  while (start <= secret.size()) {
    size_t end = secret.find('/', start);
    if (end == secret.npos) end = secret.size();
    const std::string_view segment = std::string_view(secret).substr(start, end - start);
    if (segment != "." && segment != "..") {
      if (path.size() > 1) path += '/';
      path += encode_segment(segment);
    }
    start = end + 1;
  }
  return origin + "/v1" + path;
}

VaultProvider::VaultProvider(VaultConfig config) : config_(std::move(config)) {
  // Reference-counted and thread-safe since curl 7.84.
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

VaultProvider::~VaultProvider() {
  curl_global_cleanup();
}

Result<std::optional<std::string>, app::VariableError> VaultProvider::get(
    std::string_view name, Suspender* suspender) const {
  auto url = vault_secret_url(config_, name);
  if (!url) return failed("the URL's scheme is not http or https");
  std::unique_ptr<CURL, void (*)(CURL*)> easy(curl_easy_init(), curl_easy_cleanup);
  if (!easy) return failed("cannot start an HTTP request");
  curl_slist* headers = curl_slist_append(nullptr, "X-Vault-Request: true");
  if (!config_.token.empty())
    headers = curl_slist_append(headers, ("X-Vault-Token: " + config_.token).c_str());
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> header_list(headers, curl_slist_free_all);
  std::string body;
  char error[CURL_ERROR_SIZE] = {};
  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_URL, url->c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);  // a standby Vault redirects to the active one
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
  const std::optional<CURLcode> performed = perform_transfer(e, suspender);
  if (!performed) return failed(kStoppedWhileWaiting);
  if (CURLcode code = *performed; code != CURLE_OK)
    return failed(error[0] ? error : curl_easy_strerror(code));
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  if (status == 404) return std::optional<std::string>();
  if (status < 200 || status >= 300) {
    const std::string errors = vault_errors(body);
    return failed("Vault answered HTTP " + std::to_string(status) +
                  (errors.empty() ? "" : ": " + errors));
  }
  auto json = nlohmann::json::parse(body, nullptr, false);
  const nlohmann::json* value = nullptr;
  if (json.is_object() && json.contains("data") && json["data"].is_object() &&
      json["data"].contains("data") && json["data"]["data"].is_object() &&
      json["data"]["data"].contains("value")) {
    value = &json["data"]["data"]["value"];
  }
  if (value == nullptr || !value->is_string()) {
    return failed("Vault's answer has no string data.data.value for secret " + std::string(name));
  }
  return std::optional<std::string>(value->get<std::string>());
}

}  // namespace gyre::spin::variables
