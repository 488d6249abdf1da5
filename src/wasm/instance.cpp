#include "wasm/instance.hpp"

#include <utility>
#include <vector>

#include "wasm/module.hpp"
#include "wasm/store.hpp"
#include "wasm/wasmtime_glue.hpp"

namespace gyre::wasm {
namespace {

std::optional<wasmtime_extern_t> lookup(Handle handle, wasmtime_context* context,
                                        std::string_view name) {
  const auto instance = glue::from_handle<wasmtime_instance_t>(handle);
  wasmtime_extern_t item;
  if (!wasmtime_instance_export_get(context, &instance, name.data(), name.size(), &item)) {
    return std::nullopt;
  }
  return item;
}

}  // namespace

Result<Instance> Instance::create(wasmtime_context* context, const Module& module,
                                  std::span<const Extern> imports) {
  std::vector<wasmtime_extern_t> raw;
  raw.reserve(imports.size());
  for (const Extern& item : imports)
    raw.push_back(glue::to_wasmtime(item));
  wasmtime_instance_t instance;
  wasm_trap_t* trap = nullptr;
  if (wasmtime_error_t* error =
          wasmtime_instance_new(context, module.raw(), raw.data(), raw.size(), &instance, &trap)) {
    return glue::take_error(error, ErrorKind::kInstantiate);
  }
  if (trap != nullptr) return glue::take_trap(trap);
  return Instance(glue::to_handle(instance));
}

std::optional<Extern> Instance::get(wasmtime_context* context, std::string_view name) const {
  auto item = lookup(handle_, context, name);
  if (!item) return std::nullopt;
  return glue::from_wasmtime(*item);
}

std::optional<Func> Instance::func(wasmtime_context* context, std::string_view name) const {
  auto item = lookup(handle_, context, name);
  if (!item || item->kind != WASMTIME_EXTERN_FUNC) return std::nullopt;
  return Func(glue::to_handle(item->of.func));
}

std::optional<Memory> Instance::memory(wasmtime_context* context, std::string_view name) const {
  auto item = lookup(handle_, context, name);
  if (!item || item->kind != WASMTIME_EXTERN_MEMORY) return std::nullopt;
  return Memory(glue::to_handle(item->of.memory));
}

InstancePre::~InstancePre() {
  if (raw_ != nullptr) wasmtime_instance_pre_delete(raw_);
}

InstancePre::InstancePre(InstancePre&& other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}

InstancePre& InstancePre::operator=(InstancePre&& other) noexcept {
  if (this != &other) {
    if (raw_ != nullptr) wasmtime_instance_pre_delete(raw_);
    raw_ = std::exchange(other.raw_, nullptr);
  }
  return *this;
}

Result<Instance> InstancePre::instantiate(Store& store) const {
  wasmtime_instance_t instance;
  wasm_trap_t* trap = nullptr;
  if (wasmtime_error_t* error =
          wasmtime_instance_pre_instantiate(raw_, store.context(), &instance, &trap)) {
    return glue::take_error(error, ErrorKind::kInstantiate);
  }
  if (trap != nullptr) return glue::take_trap(trap);
  return Instance(glue::to_handle(instance));
}

}  // namespace gyre::wasm
