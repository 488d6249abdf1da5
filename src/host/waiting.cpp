#include "host/waiting.hpp"

#include <optional>
#include <string>

#include "component/concurrency/concurrency.hpp"
#include "component/instance.hpp"

namespace gyre::host {

Suspender* suspender_of(component::ComponentInstance& instance) {
  return instance.concurrency().scheduler.suspender();
}

void offload_interfaces(component::HostImports& imports,
                        const std::function<bool(std::string_view interface)>& blocks) {
  imports.for_each_interface([&](std::string_view name, component::HostInterface& interface) {
    if (!blocks(name)) return;
    for (auto& [function_name, function] : interface.functions) {
      function = [inner = std::move(function)](component::HostCall& call,
                                               std::span<const component::Val> values)
          -> gyre::Result<std::optional<component::Val>, std::string> {
        component::Scheduler& scheduler = call.instance.concurrency().scheduler;
        Suspender* suspender = scheduler.suspender();
        if (suspender == nullptr) return inner(call, values);
        std::optional<gyre::Result<std::optional<component::Val>, std::string>> out;
        // On the worker, the call has no fiber to suspend: its waits block that thread.
        scheduler.set_suspender(nullptr);
        suspender->offload([&] { out.emplace(inner(call, values)); });
        scheduler.set_suspender(suspender);
        return std::move(*out);
      };
    }
  });
}

}  // namespace gyre::host
