#include "wasm/instance.hpp"

#include <utility>
#include <vector>

#include "wasm/module.hpp"
#include "wasm/store.hpp"
#include "wasm/wasmtime_glue.hpp"

// deps/wasmtime-capi: exports by Wasmtime's ModuleExport, which the C API lacks.
extern "C" {
void* gyre_export_handle_new(wasmtime_context_t* context, const wasmtime_instance_t* instance,
                             const char* name, size_t size);
void gyre_export_handle_delete(void* handle);
bool gyre_instance_export_by_handle(wasmtime_context_t* context,
                                    const wasmtime_instance_t* instance, const void* handle,
                                    wasmtime_extern_t* item);
}

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

std::optional<Extern> Instance::get(wasmtime_context* context, const ExportHandle& handle) const {
  const auto instance = glue::from_handle<wasmtime_instance_t>(handle_);
  wasmtime_extern_t item;
  if (handle.raw_ == nullptr ||
      !gyre_instance_export_by_handle(context, &instance, handle.raw_, &item)) {
    return std::nullopt;
  }
  return glue::from_wasmtime(item);
}

ExportHandle ExportHandle::find(wasmtime_context* context, const Instance& instance,
                                std::string_view name) {
  const auto raw = glue::from_handle<wasmtime_instance_t>(instance.handle_);
  return ExportHandle(gyre_export_handle_new(context, &raw, name.data(), name.size()));
}

ExportHandle::~ExportHandle() {
  if (raw_ != nullptr) gyre_export_handle_delete(raw_);
}
ExportHandle::ExportHandle(ExportHandle&& other) noexcept
    : raw_(std::exchange(other.raw_, nullptr)) {}
ExportHandle& ExportHandle::operator=(ExportHandle&& other) noexcept {
  if (this != &other) {
    if (raw_ != nullptr) gyre_export_handle_delete(raw_);
    raw_ = std::exchange(other.raw_, nullptr);
  }
  return *this;
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
  return instantiate(store.context());
}

Result<Instance> InstancePre::instantiate(wasmtime_context* context) const {
  wasmtime_instance_t instance;
  wasm_trap_t* trap = nullptr;
  if (wasmtime_error_t* error =
          wasmtime_instance_pre_instantiate(raw_, context, &instance, &trap)) {
    return glue::take_error(error, ErrorKind::kInstantiate);
  }
  if (trap != nullptr) return glue::take_trap(trap);
  return Instance(glue::to_handle(instance));
}

}  // namespace gyre::wasm
