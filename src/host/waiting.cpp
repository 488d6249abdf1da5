#include "host/waiting.hpp"

#include <optional>
#include <string>

#include "component/concurrency/concurrency.hpp"
#include "component/instance.hpp"

namespace gyre::host {

Suspender* suspender_of(component::ComponentInstance& instance) {
  return instance.concurrency().scheduler.suspender();
}

void offload_interfaces(component::HostImports& imports, std::string_view prefix) {
  imports.for_each_interface([&](std::string_view name, component::HostInterface& interface) {
    if (!name.starts_with(prefix)) return;
    for (auto& [function_name, function] : interface.functions) {
      function = [inner = std::move(function)](component::HostCall& call,
                                               std::span<const component::Val> values)
          -> gyre::Result<std::optional<component::Val>, std::string> {
        Suspender* suspender = suspender_of(call.instance);
        if (suspender == nullptr) return inner(call, values);
        std::optional<gyre::Result<std::optional<component::Val>, std::string>> out;
        suspender->offload([&] { out.emplace(inner(call, values)); });
        return std::move(*out);
      };
    }
  });
}

}  // namespace gyre::host
