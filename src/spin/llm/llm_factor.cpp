#include "spin/llm/llm_factor.hpp"

#include <set>

#include "spin/llm/bindings.hpp"
#include "spin/llm/engines.hpp"

namespace gyre::spin::llm {
namespace {

class LlmFactor final : public Factor {
 public:
  Result<void, std::string> configure_app(AppContext& app) override {
    auto engine = resolve_engine(app.runtime_config);
    if (!engine) return std::move(engine).error();
    engine_ = std::move(engine).value();
    return {};
  }

  Result<void, std::string> add_component(component::HostImports& imports,
                                          const ComponentContext& component) override {
    if (!engine_) return std::string("the llm factor was not configured");
    const auto& models = component.component.ai_models;
    add_bindings(imports, engine_,
                 std::set<std::string, std::less<>>(models.begin(), models.end()));
    return {};
  }

 private:
  std::shared_ptr<const Engine> engine_;
};

}  // namespace

std::unique_ptr<Factor> make_factor() {
  return std::make_unique<LlmFactor>();
}

}  // namespace gyre::spin::llm
