#include "spin/key_value/key_value_factor.hpp"

#include <set>

#include "spin/key_value/bindings.hpp"
#include "spin/key_value/stores.hpp"

namespace gyre::spin::key_value {
namespace {

class KeyValueFactor final : public Factor {
 public:
  explicit KeyValueFactor(Options options) : options_(std::move(options)) {}

  Result<void, std::string> configure_app(AppContext& app) override {
    auto stores = resolve_stores(app.runtime_config, app.state_dir);
    if (!stores) return std::move(stores).error();
    stores_ = std::make_shared<const Stores>(std::move(stores).value());
    bool default_used = false;
    for (const auto& [id, component] : app.manifest.components) {
      for (const std::string& label : component.key_value_stores) {
        if (!stores_->defines(label)) {
          return app.manifest.file + ": unknown key_value_stores label \"" + label +
                 "\" for component \"" + id + "\"";
        }
        default_used = default_used || label == kDefaultLabel;
      }
    }
    if (default_used && app.log) {
      app.log("Storing default key-value data to " + stores_->provider(kDefaultLabel)->summary() +
              ".\n");
    }
    return seed();
  }

  Result<void, std::string> add_component(component::HostImports& imports,
                                          const ComponentContext& component) override {
    if (!stores_) return std::string("the key-value factor was not configured");
    const auto& labels = component.component.key_value_stores;
    add_bindings(imports, stores_,
                 std::set<std::string, std::less<>>(labels.begin(), labels.end()));
    return {};
  }

 private:
  Result<void, std::string> seed() {
    if (options_.initial_key_values.empty()) return {};
    auto store = stores_->open(kDefaultLabel, nullptr);  // before serving: no guest
    if (!store) return "failed to set key-value pair: " + store.error().message;
    for (const auto& [key, value] : options_.initial_key_values) {
      if (auto set = (*store)->set(key, value, nullptr); !set)
        return "failed to set key-value pair: " + set.error().message;
    }
    return {};
  }

  Options options_;
  std::shared_ptr<const Stores> stores_;
};

}  // namespace

std::unique_ptr<Factor> make_factor(Options options) {
  return std::make_unique<KeyValueFactor>(std::move(options));
}

}  // namespace gyre::spin::key_value
