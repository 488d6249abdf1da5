#include "spin/llm/engines.hpp"

#include <optional>

#include "spin/llm/remote_engine.hpp"

namespace gyre::spin::llm {
namespace {

constexpr const char* kSection = "llm_compute";
constexpr const char* kOpenAiBase = "https://api.openai.com/v1";

class LocalEngine final : public Engine {
 public:
  Outcome<InferencingResult> infer(const std::string&, const std::string&, const InferencingParams&,
                                   Suspender*) const override {
    return Error::runtime(kNoLocalInference);
  }
  Outcome<EmbeddingsResult> generate_embeddings(const std::string&, const std::vector<std::string>&,
                                                Suspender*) const override {
    return Error::runtime(kNoLocalInference);
  }
};

// The `[llm_compute]` table: where errors point.
struct Section {
  RuntimeConfig& config;
  const toml::table& table;

  std::string error(const toml::node& at, std::string_view key, std::string_view reason) const {
    const std::string path =
        key.empty() ? kSection : std::string(kSection) + "." + std::string(key);
    return config.where(at, path) + std::string(reason);
  }

  // A string field; an error when required and absent, or present with another type.
  Result<std::optional<std::string>, std::string> string_field(std::string_view key,
                                                               bool required) const {
    const toml::node* node = table.get(key);
    if (node == nullptr) {
      if (!required) return std::optional<std::string>();
      return error(table, "", "missing field `" + std::string(key) + "`");
    }
    if (const auto* s = node->as_string()) return std::optional<std::string>(s->get());
    return error(*node, key, "invalid type: expected a string");
  }

  // An http(s) URL field.
  Result<std::optional<std::string>, std::string> url_field(bool required) const {
    auto url = string_field("url", required);
    if (!url || !*url) return url;
    const std::string& text = **url;
    const size_t scheme_end = text.find("://");
    const std::string scheme = scheme_end == text.npos ? "" : text.substr(0, scheme_end);
    if ((scheme != "http" && scheme != "https") || scheme_end + 3 >= text.size() ||
        text[scheme_end + 3] == '/') {
      return error(*table.get("url"), "url",
                   "invalid value: \"" + text + "\", expected an http or https URL");
    }
    return url;
  }
};

// scheme://authority of an http(s) URL: where Spin's client joins its absolute endpoints.
std::string origin_of(const std::string& url) {
  const size_t authority = url.find("://") + 3;
  return url.substr(0, url.find_first_of("/?#", authority));
}

Result<std::shared_ptr<const Engine>, std::string> remote_http(const Section& section) {
  auto url = section.url_field(true);
  if (!url) return std::move(url).error();
  auto token = section.string_field("auth_token", true);
  if (!token) return std::move(token).error();
  auto api_type = section.string_field("api_type", false);
  if (!api_type) return std::move(api_type).error();
  RemoteConfig remote;
  remote.token = std::move(**token);
  const std::string origin = origin_of(**url);
  const std::string type = api_type->value_or("default");
  if (type == "default") {
    remote.protocol = RemoteConfig::Protocol::kCloudGpu;
    remote.infer_url = origin + "/infer";
    remote.embeddings_url = origin + "/embed";
  } else if (type == "open_ai") {
    remote.protocol = RemoteConfig::Protocol::kOpenAi;
    remote.infer_url = origin + "/v1/chat/completions";
    remote.embeddings_url = origin + "/v1/embeddings";
  } else {
    return section.error(*section.table.get("api_type"), "api_type",
                         "unknown variant `" + type + "`, expected `open_ai` or `default`");
  }
  return make_remote_engine(std::move(remote));
}

Result<std::shared_ptr<const Engine>, std::string> open_ai(const Section& section) {
  auto url = section.url_field(false);
  if (!url) return std::move(url).error();
  auto key = section.string_field("api_key", true);
  if (!key) return std::move(key).error();
  std::string base = url->value_or(kOpenAiBase);
  while (!base.empty() && base.back() == '/')
    base.pop_back();
  RemoteConfig remote;
  remote.protocol = RemoteConfig::Protocol::kOpenAi;
  remote.token = std::move(**key);
  remote.infer_url = base + "/chat/completions";
  remote.embeddings_url = base + "/embeddings";
  return make_remote_engine(std::move(remote));
}

}  // namespace

const char* const kNoLocalInference =
    "Local LLM operations are not supported in this version of Gyre. Configure a remote "
    "backend in the runtime config file (--runtime-config-file): [llm_compute] with "
    "type = \"remote_http\" (url, auth_token) or type = \"open_ai\" (api_key).";

std::shared_ptr<const Engine> make_local_engine() {
  return std::make_shared<const LocalEngine>();
}

Result<std::shared_ptr<const Engine>, std::string> resolve_engine(RuntimeConfig& config) {
  const toml::node* node = config.take(kSection);
  if (node == nullptr) return make_local_engine();
  const toml::table* table = node->as_table();
  if (table == nullptr) return config.where(*node, kSection) + "invalid type: expected a table";
  const Section section{config, *table};
  const toml::node* type = table->get("type");
  if (type == nullptr) return section.error(*table, "", "missing field `type`");
  const auto* name = type->as_string();
  if (name == nullptr) return section.error(*type, "type", "invalid type: expected a string");
  if (name->get() == "spin") return make_local_engine();
  if (name->get() == "remote_http") return remote_http(section);
  if (name->get() == "open_ai") return open_ai(section);
  return section.error(
      *type, "type",
      "unknown variant `" + name->get() + "`, expected one of `spin`, `remote_http`, `open_ai`");
}

}  // namespace gyre::spin::llm
