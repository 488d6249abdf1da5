// What the host offers a component to import, on the generic (Val) path: functions by
// interface and name. Interfaces are registered with one version and match the versions
// a guest imports by semver, as Wasmtime matches them: `wasi:io/streams@0.2.6` serves a
// guest importing `wasi:io/streams@0.2.0` to `@0.2.12`, not `@0.3.0`.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "component/concurrency/task.hpp"
#include "component/types.hpp"
#include "component/value.hpp"
#include "wasm/wasmtime_fwd.hpp"

namespace gyre::component {

class ComponentInstance;

// What a host function sees of its call.
struct HostCall {
  wasmtime_context* store;
  ComponentInstance& instance;
  std::shared_ptr<PendingCall> deferred;

  // Finishes the call later: the function returns (what it returns is ignored) and the
  // host resolves the PendingCall when it is done. A guest that lowered the call async
  // goes on meanwhile, holding a subtask; one that called it synchronously waits.
  std::shared_ptr<PendingCall> defer() {
    deferred = std::make_shared<PendingCall>();
    return deferred;
  }
};

// Returns the result (or nothing, for functions without one), or an error message that
// traps the calling guest.
using HostFunction =
    std::function<Result<std::optional<Val>, std::string>(HostCall&, std::span<const Val>)>;

// Called when a guest drops its last owned handle to a resource the host implements
// (one the component imports); `rep` is the representation the host lowered it with.
using HostResourceDrop = std::function<void(HostCall&, uint32_t rep)>;

// Checks a host function against the type the component declares for it; returns why
// they differ, or nothing when they match.
using SignatureCheck = std::function<std::optional<std::string>(const FunctionType&)>;

struct HostInterface {
  std::map<std::string, HostFunction, std::less<>> functions;
  std::map<std::string, SignatureCheck, std::less<>> signatures;        // typed functions only
  std::map<std::string, HostResourceDrop, std::less<>> resource_drops;  // by resource name
};

class HostImports {
 public:
  // `name` is an interface name with a version ("wasi:cli/environment@0.2.6"), or a plain
  // name for an unversioned or top-level import.
  HostInterface& interface(std::string_view name);
  // A top-level function import (`import name: func(...)`).
  void define_function(std::string_view name, HostFunction function);

  // The interface serving an import of `name`, by semver compatibility.
  const HostInterface* find(std::string_view name) const;
  // Every interface, with its compatibility key (see semver_key), for passes over them all.
  template <class F>
  void for_each_interface(F&& visit) {
    for (auto& [key, interface] : interfaces_)
      visit(std::string_view(key), interface);
  }
  const HostFunction* find_function(std::string_view name) const;

 private:
  std::map<std::string, HostInterface, std::less<>> interfaces_;  // by compatibility key
  std::map<std::string, HostFunction, std::less<>> functions_;
};

// "wasi:io/streams@0.2.12" -> "wasi:io/streams@0.2"; "a:b/c@1.4.0" -> "a:b/c@1";
// "a:b/c@0.0.3" and prereleases stay as they are. Names that match by semver share a key.
std::string semver_key(std::string_view name);

}  // namespace gyre::component
