#include "spin/redis/redis_factor.hpp"

namespace gyre::spin::redis {
namespace {

class Placeholder final : public Factor {
 public:
  Result<void, std::string> configure_app(AppContext&) override { return {}; }
  Result<void, std::string> add_component(component::HostImports&,
                                          const ComponentContext&) override {
    return {};
  }
};

}  // namespace

std::unique_ptr<Factor> make_factor() {
  return std::make_unique<Placeholder>();
}

}  // namespace gyre::spin::redis
