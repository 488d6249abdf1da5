#include "spin/llm/bindings.hpp"

#include <tuple>
#include <variant>

#include "host/define.hpp"
#include "host/waiting.hpp"

namespace gyre::spin::llm {

// The interface's error variant as the guest sees it.
struct WitError {
  std::variant<host::Unit, std::string, std::string> value;
};

}  // namespace gyre::spin::llm

namespace gyre::host {
template <>
struct VariantLabels<spin::llm::WitError> {
  static constexpr const char* labels[] = {"model-not-supported", "runtime-error", "invalid-input"};
};
template <>
struct RecordFields<spin::llm::InferencingParams> {
  using P = spin::llm::InferencingParams;
  static constexpr auto fields = std::make_tuple(
      std::pair{"max-tokens", &P::max_tokens}, std::pair{"repeat-penalty", &P::repeat_penalty},
      std::pair{"repeat-penalty-last-n-token-count", &P::repeat_penalty_last_n_token_count},
      std::pair{"temperature", &P::temperature}, std::pair{"top-k", &P::top_k},
      std::pair{"top-p", &P::top_p});
};
template <>
struct RecordFields<spin::llm::InferencingUsage> {
  using U = spin::llm::InferencingUsage;
  static constexpr auto fields =
      std::make_tuple(std::pair{"prompt-token-count", &U::prompt_token_count},
                      std::pair{"generated-token-count", &U::generated_token_count});
};
template <>
struct RecordFields<spin::llm::InferencingResult> {
  using R = spin::llm::InferencingResult;
  static constexpr auto fields =
      std::make_tuple(std::pair{"text", &R::text}, std::pair{"usage", &R::usage});
};
template <>
struct RecordFields<spin::llm::EmbeddingsUsage> {
  using U = spin::llm::EmbeddingsUsage;
  static constexpr auto fields =
      std::make_tuple(std::pair{"prompt-token-count", &U::prompt_token_count});
};
template <>
struct RecordFields<spin::llm::EmbeddingsResult> {
  using R = spin::llm::EmbeddingsResult;
  static constexpr auto fields =
      std::make_tuple(std::pair{"embeddings", &R::embeddings}, std::pair{"usage", &R::usage});
};
}  // namespace gyre::host

namespace gyre::spin::llm {
namespace {

using host::Context;

constexpr const char* kVersions[] = {"fermyon:spin/llm", "fermyon:spin/llm@2.0.0"};

WitError to_wit(Error e) {
  switch (e.kind) {
    case Error::Kind::kModelNotSupported:
      return {decltype(WitError::value)(std::in_place_index<0>)};
    case Error::Kind::kRuntimeError:
      return {decltype(WitError::value)(std::in_place_index<1>, std::move(e.message))};
    case Error::Kind::kInvalidInput:
      break;
  }
  return {decltype(WitError::value)(std::in_place_index<2>, std::move(e.message))};
}

template <class T>
host::Result<T, WitError> answer(Outcome<T> outcome) {
  if (!outcome) return host::Result<T, WitError>::err(to_wit(std::move(outcome).error()));
  return host::Result<T, WitError>::ok(std::move(outcome).value());
}

// What one component may do: the app's engine, for its models only.
struct Access {
  std::shared_ptr<const Engine> engine;
  std::set<std::string, std::less<>> allowed;

  std::optional<Error> deny(std::string_view model) const {
    if (allowed.count(model)) return std::nullopt;
    return Error::invalid_input(access_denied_message(model));
  }
};

void add_version(component::HostImports& imports, const char* iface,
                 std::shared_ptr<const Access> access) {
  host::define(
      imports, iface, "infer",
      [access](Context& cx, std::string model, std::string prompt,
               std::optional<InferencingParams> params) {
        if (auto denied = access->deny(model)) return answer<InferencingResult>(std::move(*denied));
        return answer(access->engine->infer(model, prompt, params.value_or(InferencingParams{}),
                                            host::suspender_of(cx.instance)));
      });
  host::define(imports, iface, "generate-embeddings",
               [access](Context& cx, std::string model, std::vector<std::string> text) {
                 if (auto denied = access->deny(model))
                   return answer<EmbeddingsResult>(std::move(*denied));
                 return answer(access->engine->generate_embeddings(
                     model, text, host::suspender_of(cx.instance)));
               });
}

}  // namespace

std::string access_denied_message(std::string_view model) {
  const std::string m(model);
  return "The component does not have access to use '" + m +
         "'. To give the component access, add '" + m +
         "' to the 'ai_models' key for the component in your spin.toml manifest";
}

void add_bindings(component::HostImports& imports, std::shared_ptr<const Engine> engine,
                  std::set<std::string, std::less<>> allowed) {
  auto access = std::make_shared<const Access>(Access{std::move(engine), std::move(allowed)});
  for (const char* iface : kVersions)
    add_version(imports, iface, access);
}

}  // namespace gyre::spin::llm
