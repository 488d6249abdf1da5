// Component types with their indices resolved: what a component imports and exports,
// each with a type graph whose nodes are shared, so that identity means sameness (two
// handles name the same resource iff they point at the same Resource; a type exported
// under one name and used under another is one node). The canonical ABI and the host
// bindings work on these, and `gyre inspect` prints them as WIT.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/result.hpp"
#include "component/model.hpp"
#include "wasm/value.hpp"

namespace gyre::component {

// A resource type. Defined locally (by a `resource` definition, with its destructor) or
// abstract (imported, or exported from a type as `(sub resource)`).
struct Resource {
  bool local = false;
  std::optional<uint32_t> destructor;  // core func index, for local resources
  // The component that defines a local resource: borrows lowered into it pass the
  // representation itself, not a handle (CanonicalABI.md, lower_borrow).
  const Component* owner = nullptr;
};
using ResourcePtr = std::shared_ptr<const Resource>;

// The first fourteen kinds are the primitives, in PrimType order.
enum class ValueKind : uint8_t {
  kBool,
  kS8,
  kU8,
  kS16,
  kU16,
  kS32,
  kU32,
  kS64,
  kU64,
  kF32,
  kF64,
  kChar,
  kString,
  kErrorContext,
  kRecord,
  kVariant,
  kList,
  kTuple,
  kFlags,
  kEnum,
  kOption,
  kResult,
  kOwn,
  kBorrow,
  kStream,
  kFuture,
  kMap,
};

// "u32", "string", "record", ... for messages.
const char* to_string(ValueKind kind);

struct ValueType;
using ValueTypePtr = std::shared_ptr<const ValueType>;

// The canonical ABI layout of a value type, worked out on first use by component/layout
// and kept: types are immutable once resolved and are laid out on every call that passes
// them, and a variant such as wasi:http's error-code is costly to walk. A copy of a type
// starts without it.
struct LayoutCache {
  mutable std::atomic<uint32_t> alignment{0};  // 0: not yet known
  mutable std::atomic<uint32_t> size{0};
  mutable std::atomic<bool> size_known{false};
  mutable std::once_flag flat_once;  // the core values it flattens to, set once
  mutable std::vector<wasm::ValType> flat;
  LayoutCache() = default;
  LayoutCache(const LayoutCache&) {}
  LayoutCache& operator=(const LayoutCache&) { return *this; }
};

struct ValueType {
  ValueKind kind = ValueKind::kBool;
  // Record fields, variant cases, flags and enum labels.
  std::vector<std::string> labels;
  // Record fields, variant case payloads, tuple elements; the element of a list, option,
  // stream or future; ok and error of a result; key and value of a map. A null entry
  // is an absent payload.
  std::vector<ValueTypePtr> types;
  std::optional<uint32_t> fixed_length;  // fixed-length lists
  ResourcePtr resource;                  // own and borrow
  LayoutCache layout;

  bool is_primitive() const { return kind <= ValueKind::kErrorContext; }
};

struct FunctionType {
  bool async = false;
  std::vector<std::pair<std::string, ValueTypePtr>> params;
  ValueTypePtr result;  // null: no result
};
using FunctionTypePtr = std::shared_ptr<const FunctionType>;

struct InstanceTypeInfo;
struct ComponentTypeInfo;
struct CoreModuleTypeInfo {
  std::vector<CoreImport> imports;
  std::vector<CoreExportDecl> exports;
};

// Anything a type index can name.
using AnyType = std::variant<ValueTypePtr, FunctionTypePtr, std::shared_ptr<const InstanceTypeInfo>,
                             std::shared_ptr<const ComponentTypeInfo>, ResourcePtr,
                             std::shared_ptr<const CoreModuleTypeInfo>>;

// One import or export: its name, its kind and its type. For kType the type is a
// ValueTypePtr or a ResourcePtr; for kValue a ValueTypePtr.
struct NamedItem {
  std::string name;
  ExternKind kind = ExternKind::kFunc;
  AnyType type;
};

struct InstanceTypeInfo {
  std::vector<NamedItem> exports;
  const NamedItem* find(std::string_view name) const;
};

struct ComponentTypeInfo {
  std::vector<NamedItem> imports;
  std::vector<NamedItem> exports;
};

struct TypeError {
  std::string message;
};

// A component with every definition's type worked out once, for instantiation to use
// without resolving again: a type definition's type; a canon lift's function type; the
// function type of what a canon lower lowers; a resource built-in's resource; an import's
// or export's type. Other definitions hold an empty FunctionTypePtr.
struct ResolvedComponent {
  const Component* component = nullptr;
  std::vector<AnyType> definition_types;
  std::vector<std::shared_ptr<const ResolvedComponent>> nested;  // nested components, in order
  ComponentTypeInfo info;
};

// The primitive node for a kind (shared, so primitives compare by pointer too).
ValueTypePtr primitive_type(PrimType p);

// Whether two value types are the same type: the same structure, labels included, and
// the same resources (by identity). Two type indices can name one type.
bool same_type(const ValueType& a, const ValueType& b);

// Resolves every index of a decoded component into its imports and exports. Indices
// out of range and sorts that do not match are errors naming the definition.
Result<ComponentTypeInfo, TypeError> resolve_types(const Component& component);
Result<ResolvedComponent, TypeError> resolve_component(const Component& component);

}  // namespace gyre::component
