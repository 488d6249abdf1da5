#include "spin/llm/remote_engine.hpp"

#include <curl/curl.h>

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>

#include "spin/curl_transfer.hpp"

namespace gyre::spin::llm {
namespace {

// Keys in the order Spin writes them (its JSON maps sort theirs, its structs do not), and numbers
// as f32 so a parameter of 1.1 goes out as 1.1 (and embeddings come back at the precision the
// interface has).
using Json = nlohmann::basic_json<nlohmann::ordered_map, std::vector, std::string, bool,
                                  std::int64_t, std::uint64_t, float>;

// Why a response does not have the shape Spin's structs expect, in serde's words.
struct Problem {
  std::string what;
};
template <class T>
using Parsed = gyre::Result<T, Problem>;

Parsed<const Json*> member(const Json& object, const char* name) {
  if (!object.is_object()) return Problem{"invalid type: expected a map"};
  auto it = object.find(name);
  if (it == object.end()) return Problem{std::string("missing field `") + name + "`"};
  return &*it;
}

Parsed<uint32_t> to_u32(const Json& value) {
  if (value.is_number_unsigned() && value.get<uint64_t>() <= std::numeric_limits<uint32_t>::max())
    return value.get<uint32_t>();
  return Problem{"invalid value: " + value.dump() + ", expected u32"};
}

Parsed<float> to_f32(const Json& value) {
  if (value.is_number()) return value.get<float>();
  return Problem{"invalid type: " + value.dump() + ", expected f32"};
}

Parsed<std::string> to_string(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  return Problem{"invalid type: " + value.dump() + ", expected a string"};
}

Parsed<uint32_t> u32_field(const Json& object, const char* name) {
  auto field = member(object, name);
  if (!field) return std::move(field).error();
  return to_u32(**field);
}

Parsed<std::string> string_field(const Json& object, const char* name) {
  auto field = member(object, name);
  if (!field) return std::move(field).error();
  return to_string(**field);
}

Parsed<std::vector<float>> f32_list(const Json& value) {
  if (!value.is_array()) return Problem{"invalid type: expected a sequence"};
  std::vector<float> out;
  out.reserve(value.size());
  for (const Json& item : value) {
    auto number = to_f32(item);
    if (!number) return std::move(number).error();
    out.push_back(*number);
  }
  return out;
}

// {"text","usage":{"promptTokenCount","generatedTokenCount"}}
Parsed<InferencingResult> cloud_inferencing(const Json& body) {
  auto text = string_field(body, "text");
  if (!text) return std::move(text).error();
  auto usage = member(body, "usage");
  if (!usage) return std::move(usage).error();
  auto prompt = u32_field(**usage, "promptTokenCount");
  if (!prompt) return std::move(prompt).error();
  auto generated = u32_field(**usage, "generatedTokenCount");
  if (!generated) return std::move(generated).error();
  return InferencingResult{std::move(*text), {*prompt, *generated}};
}

// {"embeddings":[[...]],"usage":{"promptTokenCount"}}
Parsed<EmbeddingsResult> cloud_embeddings(const Json& body) {
  auto lists = member(body, "embeddings");
  if (!lists) return std::move(lists).error();
  if (!(*lists)->is_array()) return Problem{"invalid type: expected a sequence"};
  EmbeddingsResult out;
  for (const Json& list : **lists) {
    auto embedding = f32_list(list);
    if (!embedding) return std::move(embedding).error();
    out.embeddings.push_back(std::move(*embedding));
  }
  auto usage = member(body, "usage");
  if (!usage) return std::move(usage).error();
  auto prompt = u32_field(**usage, "promptTokenCount");
  if (!prompt) return std::move(prompt).error();
  out.usage.prompt_token_count = *prompt;
  return out;
}

// {"choices":[{"message":{"content"}}],"usage":{"completion_tokens","prompt_tokens"}}; the
// first choice's text, or none when there is no choice.
Parsed<InferencingResult> openai_inferencing(const Json& body) {
  auto choices = member(body, "choices");
  if (!choices) return std::move(choices).error();
  if (!(*choices)->is_array()) return Problem{"invalid type: expected a sequence"};
  InferencingResult out;
  for (size_t i = 0; i < (*choices)->size(); ++i) {
    auto message = member((**choices)[i], "message");
    if (!message) return std::move(message).error();
    auto content = string_field(**message, "content");
    if (!content) return std::move(content).error();
    if (i == 0) out.text = std::move(*content);
  }
  auto usage = member(body, "usage");
  if (!usage) return std::move(usage).error();
  auto generated = u32_field(**usage, "completion_tokens");
  if (!generated) return std::move(generated).error();
  auto prompt = u32_field(**usage, "prompt_tokens");
  if (!prompt) return std::move(prompt).error();
  out.usage = {*prompt, *generated};
  return out;
}

// {"data":[{"embedding":[...]}],"usage":{"prompt_tokens"}}
Parsed<EmbeddingsResult> openai_embeddings(const Json& body) {
  auto data = member(body, "data");
  if (!data) return std::move(data).error();
  if (!(*data)->is_array()) return Problem{"invalid type: expected a sequence"};
  EmbeddingsResult out;
  for (const Json& item : **data) {
    auto list = member(item, "embedding");
    if (!list) return std::move(list).error();
    auto embedding = f32_list(**list);
    if (!embedding) return std::move(embedding).error();
    out.embeddings.push_back(std::move(*embedding));
  }
  auto usage = member(body, "usage");
  if (!usage) return std::move(usage).error();
  auto prompt = u32_field(**usage, "prompt_tokens");
  if (!prompt) return std::move(prompt).error();
  out.usage.prompt_token_count = *prompt;
  return out;
}

// OpenAI's error answer, {"error":{"message"}}: its message.
std::optional<std::string> openai_error(const Json& body) {
  auto error = member(body, "error");
  if (!error) return std::nullopt;
  auto message = string_field(**error, "message");
  if (!message) return std::nullopt;
  return std::move(*message);
}

// The path of an http(s) URL, as error messages name the endpoint.
std::string path_of(const std::string& url) {
  const size_t authority = url.find("://");
  const size_t start = url.find('/', authority == url.npos ? 0 : authority + 3);
  if (start == url.npos) return "/";
  return url.substr(start, url.find_first_of("?#", start) - start);
}

// What an HTTP header value may hold (what Spin's client accepts for one).
bool valid_header_value(std::string_view value) {
  for (unsigned char c : value) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

struct Body {
  std::string bytes;
  bool too_large = false;
};

// What came back: the status and the body.
struct Reply {
  long status = 0;
  std::string body;
};

Parsed<Json> decode(const Reply& reply) {
  Json json = Json::parse(reply.body, nullptr, false);
  if (!json.is_discarded()) return json;
  return Problem{"the server answered HTTP " + std::to_string(reply.status) +
                 " with a body that is not JSON"};
}

size_t append_body(char* data, size_t size, size_t count, void* out) {
  auto* body = static_cast<Body*>(out);
  if (body->bytes.size() + size * count > kMaxResponseBytes) {
    body->too_large = true;
    return 0;  // aborts the transfer
  }
  body->bytes.append(data, size * count);
  return size * count;
}

class RemoteEngine final : public Engine {
 public:
  explicit RemoteEngine(RemoteConfig config) : config_(std::move(config)) {
    // Reference-counted and thread-safe since curl 7.84.
    curl_global_init(CURL_GLOBAL_DEFAULT);
  }
  ~RemoteEngine() override { curl_global_cleanup(); }

  Outcome<InferencingResult> infer(const std::string& model, const std::string& prompt,
                                   const InferencingParams& params,
                                   Suspender* suspender) const override {
    const bool openai = config_.protocol == RemoteConfig::Protocol::kOpenAi;
    Json body;
    if (openai) {
      body["messages"] = Json::array({Json{{"role", "user"}, {"content", prompt}}});
      body["model"] = model;
      body["max_completion_tokens"] = params.max_tokens;
      body["frequency_penalty"] = params.repeat_penalty;
    } else {
      body["model"] = model;
      body["options"] = Json{
          {"maxTokens", params.max_tokens},
          {"repeatPenalty", params.repeat_penalty},
          {"repeatPenaltyLastNTokenCount", params.repeat_penalty_last_n_token_count},
          {"temperature", params.temperature},
          {"topK", params.top_k},
          {"topP", params.top_p},
      };
      body["prompt"] = prompt;
    }
    auto reply = post(config_.infer_url, body, openai, suspender);
    if (!reply) return std::move(reply).error();
    // Spin's words, spaces and all; its cloud-gpu client names the endpoint "/index".
    const std::string failed = "Failed to deserialize response for \"POST  " +
                               (openai ? path_of(config_.infer_url) : std::string("/index")) +
                               "\": ";
    auto decoded = decode(*reply);
    if (!decoded) return Error::runtime(failed + decoded.error().what);
    const Json& json = *decoded;
    if (!openai) return answer(cloud_inferencing(json), failed);
    auto result = openai_inferencing(json);
    if (result) return std::move(result).value();
    if (auto message = openai_error(json)) return Error::runtime(std::move(*message));
    return Error::runtime(failed +
                          "data did not match any variant of untagged enum "
                          "CreateChatCompletionResponseKind");
  }

  Outcome<EmbeddingsResult> generate_embeddings(const std::string& model,
                                                const std::vector<std::string>& text,
                                                Suspender* suspender) const override {
    const bool openai = config_.protocol == RemoteConfig::Protocol::kOpenAi;
    Json body;
    body["input"] = text;
    body["model"] = model;
    auto reply = post(config_.embeddings_url, body, openai, suspender);
    if (!reply) return std::move(reply).error();
    const std::string failed =
        "Failed to deserialize response  for \"POST  " + path_of(config_.embeddings_url) + "\": ";
    auto decoded = decode(*reply);
    if (!decoded) return Error::runtime(failed + decoded.error().what);
    const Json& json = *decoded;
    if (!openai) return answer(cloud_embeddings(json), failed);
    auto result = openai_embeddings(json);
    if (result) return std::move(result).value();
    if (auto message = openai_error(json)) return Error::runtime(std::move(*message));
    return Error::runtime(
        failed + "data did not match any variant of untagged enum CreateEmbeddingResponseKind");
  }

 private:
  template <class T>
  static Outcome<T> answer(Parsed<T> parsed, const std::string& failed) {
    if (!parsed) return Error::runtime(failed + parsed.error().what);
    return std::move(parsed).value();
  }

  // POSTs `body`, waiting through `suspender`; the answer is read whatever its status, as
  // Spin does (an error status shows as a response that does not deserialize).
  Outcome<Reply> post(const std::string& url, const Json& body, bool json_content_type,
                      Suspender* suspender) const {
    if (!valid_header_value(config_.token))
      return Error::runtime("Failed to create authorization header");
    const std::string request_failed = "POST " + path_of(url) + " request error: ";
    std::unique_ptr<CURL, void (*)(CURL*)> easy(curl_easy_init(), curl_easy_cleanup);
    if (!easy) return Error::runtime(request_failed + "cannot start an HTTP request");
    curl_slist* headers =
        curl_slist_append(nullptr, ("authorization: bearer " + config_.token).c_str());
    // Spin's cloud-gpu client sends no content type; curl would add a form's.
    headers = curl_slist_append(
        headers, json_content_type ? "content-type: application/json" : "Content-Type:");
    headers = curl_slist_append(headers, "Expect:");
    std::unique_ptr<curl_slist, void (*)(curl_slist*)> header_list(headers, curl_slist_free_all);
    const std::string payload = body.dump();
    Body answer;
    char error[CURL_ERROR_SIZE] = {};
    CURL* e = easy.get();
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, payload.data());
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // gzip, as Spin's client asks
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, append_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error);
    const std::optional<CURLcode> performed = perform_transfer(e, suspender);
    if (!performed) return Error::runtime(request_failed + kStoppedWhileWaiting);
    if (CURLcode code = *performed; code != CURLE_OK) {
      if (answer.too_large) {
        return Error::runtime("query result exceeds limit of " + std::to_string(kMaxResponseBytes) +
                              " bytes");
      }
      return Error::runtime(request_failed + (error[0] ? error : curl_easy_strerror(code)));
    }
    Reply reply;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &reply.status);
    reply.body = std::move(answer.bytes);
    return reply;
  }

  RemoteConfig config_;
};

}  // namespace

std::shared_ptr<const Engine> make_remote_engine(RemoteConfig config) {
  return std::make_shared<const RemoteEngine>(std::move(config));
}

}  // namespace gyre::spin::llm
