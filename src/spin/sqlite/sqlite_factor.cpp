#include "spin/sqlite/sqlite_factor.hpp"

#include <set>

#include "spin/sqlite/bindings.hpp"
#include "spin/sqlite/databases.hpp"
#include "spin/sqlite/statements.hpp"

namespace gyre::spin::sqlite {
namespace {

class SqliteFactor final : public Factor {
 public:
  explicit SqliteFactor(Options options) : options_(std::move(options)) {}

  Result<void, std::string> configure_app(AppContext& app) override {
    auto databases = resolve_databases(app.runtime_config, app.state_dir);
    if (!databases) return std::move(databases).error();
    databases_ = std::make_shared<const Databases>(std::move(databases).value());
    if (auto undefined = undefined_labels(app.manifest); !undefined.empty()) {
      return "One or more components use SQLite databases which are not defined.\n"
             "Check the spelling, or pass a runtime configuration file that defines these "
             "stores.\n"
             "See https://spinframework.dev/dynamic-configuration#sqlite-storage-runtime-"
             "configuration\n"
             "Details:\n" +
             undefined;
    }
    if (auto ran = run_statements(*databases_, options_.statements); !ran) return ran;
    if (default_used(app.manifest) && app.log) {
      app.log("Storing default SQLite data to " + databases_->find(kDefaultLabel)->summary() +
              ".\n");
    }
    return {};
  }

  Result<void, std::string> add_component(component::HostImports& imports,
                                          const ComponentContext& component) override {
    if (!databases_) return std::string("the sqlite factor was not configured");
    const auto& labels = component.component.sqlite_databases;
    add_bindings(imports, databases_,
                 std::set<std::string, std::less<>>(labels.begin(), labels.end()));
    return {};
  }

 private:
  // Spin's details lines, "- Component <id> uses database '<label>'", one per use.
  std::string undefined_labels(const app::Manifest& manifest) const {
    std::string out;
    for (const auto& [id, component] : manifest.components) {
      for (const std::string& label : component.sqlite_databases) {
        if (databases_->defines(label)) continue;
        out += (out.empty() ? "" : "\n") + ("- Component " + id + " uses database '" + label + "'");
      }
    }
    return out;
  }

  static bool default_used(const app::Manifest& manifest) {
    for (const auto& [id, component] : manifest.components) {
      for (const std::string& label : component.sqlite_databases) {
        if (label == kDefaultLabel) return true;
      }
    }
    return false;
  }

  Options options_;
  std::shared_ptr<const Databases> databases_;
};

}  // namespace

std::unique_ptr<Factor> make_factor(Options options) {
  return std::make_unique<SqliteFactor>(std::move(options));
}

}  // namespace gyre::spin::sqlite
