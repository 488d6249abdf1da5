#include "component/types.hpp"

#include <array>
#include <unordered_map>

namespace gyre::component {

const NamedItem* InstanceTypeInfo::find(std::string_view name) const {
  for (const NamedItem& item : exports) {
    if (item.name == name) return &item;
  }
  return nullptr;
}

// ValueKind begins with the primitives in PrimType's order; conversions rely on it.
static_assert(static_cast<int>(ValueKind::kBool) == static_cast<int>(PrimType::kBool));
static_assert(static_cast<int>(ValueKind::kString) == static_cast<int>(PrimType::kString));
static_assert(static_cast<int>(ValueKind::kErrorContext) ==
              static_cast<int>(PrimType::kErrorContext));

const char* to_string(ValueKind kind) {
  static const char* kNames[] = {
      "bool",  "s8",   "u8",     "s16",    "u16",           "s32",    "u32",     "s64",    "u64",
      "f32",   "f64",  "char",   "string", "error-context", "record", "variant", "list",   "tuple",
      "flags", "enum", "option", "result", "own",           "borrow", "stream",  "future", "map"};
  return kNames[static_cast<size_t>(kind)];
}

ValueTypePtr primitive_type(PrimType p) {
  static const auto kPrimitives = [] {
    std::array<ValueTypePtr, 14> all;
    for (size_t i = 0; i < all.size(); ++i) {
      auto node = std::make_shared<ValueType>();
      node->kind = static_cast<ValueKind>(i);
      all[i] = std::move(node);
    }
    return all;
  }();
  return kPrimitives[static_cast<size_t>(p)];
}

bool same_type(const ValueType& a, const ValueType& b) {
  if (&a == &b) return true;
  if (a.kind != b.kind || a.labels != b.labels || a.fixed_length != b.fixed_length ||
      a.resource != b.resource || a.types.size() != b.types.size()) {
    return false;
  }
  for (size_t i = 0; i < a.types.size(); ++i) {
    const ValueType* x = a.types[i].get();
    const ValueType* y = b.types[i].get();
    if ((x == nullptr) != (y == nullptr) || (x != nullptr && !same_type(*x, *y))) return false;
  }
  return true;
}

namespace {

struct Failure {
  std::string message;
};

// The index spaces of one scope: a component, a component type or an instance type.
// Outer aliases walk `parent` outward.
struct Scope {
  const Scope* parent = nullptr;
  std::vector<AnyType> types;
  std::vector<FunctionTypePtr> funcs;
  std::vector<std::shared_ptr<const InstanceTypeInfo>> instances;
  std::vector<std::shared_ptr<const ComponentTypeInfo>> components;
  std::vector<ValueTypePtr> values;
  std::vector<std::shared_ptr<const CoreModuleTypeInfo>> core_types;  // null: not a module type
  uint32_t core_modules = 0;
};

const char* sort_name(ExternKind kind) {
  switch (kind) {
    case ExternKind::kCoreModule:
      return "core module";
    case ExternKind::kFunc:
      return "func";
    case ExternKind::kValue:
      return "value";
    case ExternKind::kType:
      return "type";
    case ExternKind::kComponent:
      return "component";
    case ExternKind::kInstance:
      return "instance";
  }
  return "item";
}

// Instantiating a component with type arguments replaces its imported types by the
// arguments everywhere in its exports (Binary.md, "Instance Definitions"). Nodes that do
// not mention a replaced type are kept as they are, so identity survives.
class Substitution {
 public:
  void bind(const AnyType& imported, const AnyType& given) {
    using Instance = std::shared_ptr<const InstanceTypeInfo>;
    if (auto* want = std::get_if<Instance>(&imported)) {
      auto* have = std::get_if<Instance>(&given);
      if (have == nullptr) return;
      for (const auto& e : (*want)->exports) {
        if (e.kind != ExternKind::kType) continue;
        if (const NamedItem* match = (*have)->find(e.name)) bind(e.type, match->type);
      }
      return;
    }
    if (const void* id = key(imported)) map_.emplace(id, given);
  }

  bool empty() const { return map_.empty(); }

  AnyType apply(const AnyType& type) {
    if (const void* id = key(type)) {
      if (auto hit = map_.find(id); hit != map_.end()) return hit->second;
    }
    if (auto* v = std::get_if<ValueTypePtr>(&type)) return value(*v);
    if (auto* f = std::get_if<FunctionTypePtr>(&type)) {
      auto copy = std::make_shared<FunctionType>(**f);
      bool changed = false;
      for (auto& p : copy->params)
        changed |= swap(p.second);
      changed |= swap(copy->result);
      return changed ? FunctionTypePtr(copy) : *f;
    }
    if (auto* i = std::get_if<std::shared_ptr<const InstanceTypeInfo>>(&type)) {
      auto copy = std::make_shared<InstanceTypeInfo>(**i);
      for (auto& e : copy->exports)
        e.type = apply(e.type);
      return std::shared_ptr<const InstanceTypeInfo>(copy);
    }
    return type;
  }

 private:
  static const void* key(const AnyType& type) {
    if (auto* v = std::get_if<ValueTypePtr>(&type)) return v->get();
    if (auto* r = std::get_if<ResourcePtr>(&type)) return r->get();
    return nullptr;
  }

  bool swap(ValueTypePtr& slot) {
    if (!slot) return false;
    ValueTypePtr replaced = value(slot);
    const bool changed = replaced != slot;
    slot = std::move(replaced);
    return changed;
  }

  ValueTypePtr value(const ValueTypePtr& type) {
    if (!type) return type;
    if (auto hit = map_.find(type.get()); hit != map_.end()) {
      if (auto* v = std::get_if<ValueTypePtr>(&hit->second)) return *v;
    }
    if (auto done = values_.find(type.get()); done != values_.end()) return done->second;
    auto copy = std::make_shared<ValueType>(*type);
    bool changed = false;
    for (auto& child : copy->types)
      changed |= swap(child);
    if (copy->resource) {
      if (auto hit = map_.find(copy->resource.get()); hit != map_.end()) {
        if (auto* r = std::get_if<ResourcePtr>(&hit->second)) {
          copy->resource = *r;
          changed = true;
        }
      }
    }
    ValueTypePtr out = changed ? ValueTypePtr(copy) : type;
    values_.emplace(type.get(), out);
    return out;
  }

  std::unordered_map<const void*, AnyType> map_;
  std::unordered_map<const void*, ValueTypePtr> values_;
};

class Resolver {
 public:
  ResolvedComponent component(const Component& c, const Scope* parent) {
    Scope scope;
    scope.parent = parent;
    ResolvedComponent resolved;
    resolved.component = &c;
    resolved.definition_types.resize(c.definitions.size(), FunctionTypePtr{});
    out_ = &resolved;
    for (size_t i = 0; i < c.definitions.size(); ++i) {
      definition_ = i;
      std::visit([&](const auto& d) { define(scope, resolved.info, d); }, c.definitions[i]);
    }
    return resolved;
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    throw Failure{"definition " + std::to_string(definition_) + ": " + message};
  }

  template <class T>
  const T& at(const std::vector<T>& space, uint32_t index, const char* what) const {
    if (index >= space.size()) {
      fail(std::string(what) + " index " + std::to_string(index) + " is out of range (" +
           std::to_string(space.size()) + " defined)");
    }
    return space[index];
  }

  template <class T>
  T type_as(const Scope& scope, uint32_t index, const char* expected) const {
    const AnyType& any = at(scope.types, index, "type");
    if (auto* p = std::get_if<T>(&any)) return *p;
    fail("type " + std::to_string(index) + " is not " + expected);
  }

  const Scope& outer(const Scope& scope, uint32_t count) const {
    const Scope* s = &scope;
    for (uint32_t i = 0; i < count; ++i) {
      if (s->parent == nullptr) fail("outer alias count " + std::to_string(count) + " is too deep");
      s = s->parent;
    }
    return *s;
  }

  // ---- value types ----------------------------------------------------------------

  ValueTypePtr value(const Scope& scope, const ValType& type) const {
    if (type.is_prim) return primitive_type(type.primitive);
    return type_as<ValueTypePtr>(scope, type.type_index, "a value type");
  }

  ValueTypePtr maybe(const Scope& scope, const std::optional<ValType>& type) const {
    return type ? value(scope, *type) : nullptr;
  }

  ValueTypePtr defvaltype(const Scope& scope, const DefValType& def) const {
    auto node = std::make_shared<ValueType>();
    std::visit(
        [&](const auto& t) {
          using T = std::decay_t<decltype(t)>;
          if constexpr (std::is_same_v<T, PrimType>) {
            node->kind = static_cast<ValueKind>(t);
          } else if constexpr (std::is_same_v<T, RecordType>) {
            node->kind = ValueKind::kRecord;
            for (const auto& f : t.fields) {
              node->labels.push_back(f.label);
              node->types.push_back(value(scope, f.type));
            }
          } else if constexpr (std::is_same_v<T, VariantType>) {
            node->kind = ValueKind::kVariant;
            for (const auto& c : t.cases) {
              node->labels.push_back(c.label);
              node->types.push_back(maybe(scope, c.type));
            }
          } else if constexpr (std::is_same_v<T, ListType>) {
            node->kind = ValueKind::kList;
            node->types.push_back(value(scope, t.element));
            node->fixed_length = t.fixed_length;
          } else if constexpr (std::is_same_v<T, TupleType>) {
            node->kind = ValueKind::kTuple;
            for (const auto& e : t.elements)
              node->types.push_back(value(scope, e));
          } else if constexpr (std::is_same_v<T, FlagsType>) {
            node->kind = ValueKind::kFlags;
            node->labels = t.labels;
          } else if constexpr (std::is_same_v<T, EnumType>) {
            node->kind = ValueKind::kEnum;
            node->labels = t.labels;
          } else if constexpr (std::is_same_v<T, OptionType>) {
            node->kind = ValueKind::kOption;
            node->types.push_back(value(scope, t.payload));
          } else if constexpr (std::is_same_v<T, ResultType>) {
            node->kind = ValueKind::kResult;
            node->types = {maybe(scope, t.ok), maybe(scope, t.error)};
          } else if constexpr (std::is_same_v<T, OwnType>) {
            node->kind = ValueKind::kOwn;
            node->resource = type_as<ResourcePtr>(scope, t.resource, "a resource type");
          } else if constexpr (std::is_same_v<T, BorrowType>) {
            node->kind = ValueKind::kBorrow;
            node->resource = type_as<ResourcePtr>(scope, t.resource, "a resource type");
          } else if constexpr (std::is_same_v<T, StreamType>) {
            node->kind = ValueKind::kStream;
            node->types.push_back(maybe(scope, t.element));
          } else if constexpr (std::is_same_v<T, FutureType>) {
            node->kind = ValueKind::kFuture;
            node->types.push_back(maybe(scope, t.element));
          } else if constexpr (std::is_same_v<T, MapType>) {
            node->kind = ValueKind::kMap;
            node->types = {value(scope, t.key), value(scope, t.value)};
          }
        },
        def);
    return node;
  }

  // ---- types and declarations --------------------------------------------------------

  AnyType deftype(const Scope& scope, const Type& type) {
    // A defined primitive gets a node of its own, so that `type instant = u64` keeps its
    // name where it is used.
    if (auto* v = std::get_if<DefValType>(&type.type)) return defvaltype(scope, *v);
    if (auto* f = std::get_if<FuncType>(&type.type)) {
      auto func = std::make_shared<FunctionType>();
      func->async = f->async;
      for (const auto& p : f->params)
        func->params.emplace_back(p.label, value(scope, p.type));
      func->result = maybe(scope, f->result);
      return FunctionTypePtr(func);
    }
    if (auto* r = std::get_if<ResourceType>(&type.type)) {
      auto resource = std::make_shared<Resource>();
      resource->local = true;
      resource->destructor = r->destructor;
      resource->owner = out_ != nullptr ? out_->component : nullptr;
      return ResourcePtr(resource);
    }
    if (auto* i = std::get_if<InstanceType>(&type.type)) {
      Scope inner;
      inner.parent = &scope;
      auto info = std::make_shared<InstanceTypeInfo>();
      ComponentTypeInfo unused;
      for (const Decl& d : i->decls)
        declare(inner, info->exports, unused.imports, d);
      return std::shared_ptr<const InstanceTypeInfo>(info);
    }
    const auto& c = std::get<ComponentType>(type.type);
    Scope inner;
    inner.parent = &scope;
    auto info = std::make_shared<ComponentTypeInfo>();
    for (const Decl& d : c.decls)
      declare(inner, info->exports, info->imports, d);
    return std::shared_ptr<const ComponentTypeInfo>(info);
  }

  std::shared_ptr<const CoreModuleTypeInfo> core_type(const CoreType& type) const {
    auto* module = std::get_if<CoreModuleType>(&type.type);
    if (module == nullptr) return nullptr;
    auto info = std::make_shared<CoreModuleTypeInfo>();
    for (const auto& d : module->decls) {
      if (auto* i = std::get_if<CoreImport>(&d)) info->imports.push_back(*i);
      if (auto* e = std::get_if<CoreExportDecl>(&d)) info->exports.push_back(*e);
    }
    return info;
  }

  // The type an extern type ascribes, resolved in `scope`.
  AnyType extern_type(const Scope& scope, const ExternType& type) const {
    switch (type.kind) {
      case ExternKind::kCoreModule: {
        auto module = at(scope.core_types, type.type_index, "core type");
        if (!module) fail("core type " + std::to_string(type.type_index) + " is not a module type");
        return module;
      }
      case ExternKind::kFunc:
        return type_as<FunctionTypePtr>(scope, type.type_index, "a function type");
      case ExternKind::kValue:
        if (type.value_type) return value(scope, *type.value_type);
        return at(scope.values, type.type_index, "value");
      case ExternKind::kType:
        if (type.sub_resource) return ResourcePtr(std::make_shared<Resource>());
        return at(scope.types, type.type_index, "type");
      case ExternKind::kComponent:
        return type_as<std::shared_ptr<const ComponentTypeInfo>>(scope, type.type_index,
                                                                 "a component type");
      case ExternKind::kInstance:
        return type_as<std::shared_ptr<const InstanceTypeInfo>>(scope, type.type_index,
                                                                "an instance type");
    }
    fail("unknown extern kind");
  }

  // Adds an item to the index space its kind names.
  void add(Scope& scope, ExternKind kind, const AnyType& type) const {
    switch (kind) {
      case ExternKind::kCoreModule:
        ++scope.core_modules;
        return;
      case ExternKind::kFunc:
        scope.funcs.push_back(std::get<FunctionTypePtr>(type));
        return;
      case ExternKind::kValue:
        scope.values.push_back(std::get<ValueTypePtr>(type));
        return;
      case ExternKind::kType:
        scope.types.push_back(type);
        return;
      case ExternKind::kComponent:
        scope.components.push_back(std::get<std::shared_ptr<const ComponentTypeInfo>>(type));
        return;
      case ExternKind::kInstance:
        scope.instances.push_back(std::get<std::shared_ptr<const InstanceTypeInfo>>(type));
        return;
    }
  }

  std::optional<ExternKind> kind_of(const SortRef& sort) const {
    switch (sort.sort) {
      case Sort::kCore:
        if (sort.core_sort == CoreSort::kModule) return ExternKind::kCoreModule;
        return std::nullopt;
      case Sort::kFunc:
        return ExternKind::kFunc;
      case Sort::kValue:
        return ExternKind::kValue;
      case Sort::kType:
        return ExternKind::kType;
      case Sort::kComponent:
        return ExternKind::kComponent;
      case Sort::kInstance:
        return ExternKind::kInstance;
    }
    return std::nullopt;
  }

  // The type of the item at `index` in the space of `kind`.
  AnyType item_type(const Scope& scope, ExternKind kind, uint32_t index) const {
    switch (kind) {
      case ExternKind::kCoreModule:
        if (index >= scope.core_modules) fail("core module index out of range");
        return std::make_shared<const CoreModuleTypeInfo>();
      case ExternKind::kFunc:
        return at(scope.funcs, index, "func");
      case ExternKind::kValue:
        return at(scope.values, index, "value");
      case ExternKind::kType:
        return at(scope.types, index, "type");
      case ExternKind::kComponent:
        return at(scope.components, index, "component");
      case ExternKind::kInstance:
        return at(scope.instances, index, "instance");
    }
    fail("unknown sort");
  }

  void alias(Scope& scope, const Alias& alias) const {
    if (std::holds_alternative<AliasCoreExport>(alias.target)) return;  // core spaces
    if (auto* o = std::get_if<AliasOuter>(&alias.target)) {
      const Scope& target = outer(scope, o->count);
      if (alias.sort.sort == Sort::kType) {
        scope.types.push_back(at(target.types, o->index, "outer type"));
      } else if (alias.sort.sort == Sort::kComponent) {
        scope.components.push_back(at(target.components, o->index, "outer component"));
      } else if (alias.sort == SortRef{Sort::kCore, CoreSort::kType}) {
        scope.core_types.push_back(at(target.core_types, o->index, "outer core type"));
      } else if (alias.sort == SortRef{Sort::kCore, CoreSort::kModule}) {
        ++scope.core_modules;
      } else {
        fail("outer aliases may only name types, modules and components");
      }
      return;
    }
    const auto& e = std::get<AliasExport>(alias.target);
    const auto& instance = at(scope.instances, e.instance, "instance");
    const NamedItem* item = instance->find(e.name);
    if (item == nullptr)
      fail("instance " + std::to_string(e.instance) + " exports no \"" + e.name + "\"");
    auto kind = kind_of(alias.sort);
    if (!kind || *kind != item->kind) {
      fail("\"" + e.name + "\" is a " + sort_name(item->kind) + ", aliased as another sort");
    }
    add(scope, *kind, item->type);
  }

  void declare(Scope& scope, std::vector<NamedItem>& exports, std::vector<NamedItem>& imports,
               const Decl& decl) {
    if (auto* t = std::get_if<std::shared_ptr<CoreType>>(&decl)) {
      scope.core_types.push_back(core_type(**t));
    } else if (auto* t = std::get_if<std::shared_ptr<Type>>(&decl)) {
      scope.types.push_back(deftype(scope, **t));
    } else if (auto* a = std::get_if<Alias>(&decl)) {
      alias(scope, *a);
    } else if (auto* i = std::get_if<ImportDecl>(&decl)) {
      AnyType type = extern_type(scope, i->type);
      add(scope, i->type.kind, type);
      imports.push_back(NamedItem{i->name.name, i->type.kind, type});
    } else {
      const auto& e = std::get<ExportDecl>(decl);
      AnyType type = extern_type(scope, e.type);
      add(scope, e.type.kind, type);
      exports.push_back(NamedItem{e.name.name, e.type.kind, type});
    }
  }

  // ---- component-level definitions -----------------------------------------------------

  void define(Scope& scope, ComponentTypeInfo&, const CoreModule&) { ++scope.core_modules; }
  void define(Scope&, ComponentTypeInfo&, const CoreInstance&) {}
  void define(Scope& scope, ComponentTypeInfo&, const std::shared_ptr<CoreType>& t) {
    scope.core_types.push_back(core_type(*t));
  }
  void define(Scope& scope, ComponentTypeInfo&, const std::shared_ptr<Component>& c) {
    Resolver nested;
    auto resolved = std::make_shared<ResolvedComponent>(nested.component(*c, &scope));
    scope.components.push_back(std::make_shared<ComponentTypeInfo>(resolved->info));
    out_->nested.push_back(std::move(resolved));
  }
  void define(Scope& scope, ComponentTypeInfo&, const Instance& instance) {
    auto info = std::make_shared<InstanceTypeInfo>();
    if (auto* inst = std::get_if<Instantiate>(&instance.expr)) {
      const auto& component = at(scope.components, inst->component, "component");
      Substitution substitution;
      for (const auto& arg : inst->args) {
        auto kind = kind_of(arg.item.sort);
        if (!kind) fail("instantiation argument \"" + arg.name + "\" is a core item");
        for (const auto& import : component->imports) {
          if (import.name == arg.name) {
            substitution.bind(import.type, item_type(scope, *kind, arg.item.index));
          }
        }
      }
      info->exports = component->exports;
      if (!substitution.empty()) {
        for (auto& e : info->exports)
          e.type = substitution.apply(e.type);
      }
    } else {
      for (const auto& e : std::get<std::vector<InlineExport>>(instance.expr)) {
        auto kind = kind_of(e.item.sort);
        if (!kind) fail("an instance cannot export core items other than modules");
        info->exports.push_back(
            NamedItem{e.name.name, *kind, item_type(scope, *kind, e.item.index)});
      }
    }
    scope.instances.push_back(std::move(info));
  }
  void define(Scope& scope, ComponentTypeInfo&, const Alias& a) { alias(scope, a); }
  void define(Scope& scope, ComponentTypeInfo&, const std::shared_ptr<Type>& t) {
    scope.types.push_back(deftype(scope, *t));
    record(scope.types.back());
  }
  void define(Scope& scope, ComponentTypeInfo&, const Canon& canon) {
    if (auto* lift = std::get_if<CanonLift>(&canon)) {
      scope.funcs.push_back(type_as<FunctionTypePtr>(scope, lift->type, "a function type"));
      record(scope.funcs.back());
    } else if (auto* lower = std::get_if<CanonLower>(&canon)) {
      record(at(scope.funcs, lower->func, "func"));
    } else if (auto* n = std::get_if<CanonResourceNew>(&canon)) {
      record(type_as<ResourcePtr>(scope, n->resource, "a resource type"));
    } else if (auto* d = std::get_if<CanonResourceDrop>(&canon)) {
      record(type_as<ResourcePtr>(scope, d->resource, "a resource type"));
    } else if (auto* r = std::get_if<CanonResourceRep>(&canon)) {
      record(type_as<ResourcePtr>(scope, r->resource, "a resource type"));
    } else if (auto* b = std::get_if<CanonBuiltin>(&canon)) {
      // The stream and future built-ins (stream.new 0x0e to future.drop-writable 0x1b)
      // name the type of what they carry.
      if (b->type && b->opcode >= 0x0e && b->opcode <= 0x1b)
        record(type_as<ValueTypePtr>(scope, *b->type, "a stream or future type"));
      // task.return (0x09) names the type of the result it hands over.
      if (b->opcode == 0x09 && b->result) record(value(scope, *b->result));
    }
  }
  void define(Scope&, ComponentTypeInfo&, const Start&) {}
  void define(Scope& scope, ComponentTypeInfo& info, const Import& import) {
    AnyType type = extern_type(scope, import.type);
    add(scope, import.type.kind, type);
    info.imports.push_back(NamedItem{import.name.name, import.type.kind, type});
    record(type);
  }
  void define(Scope& scope, ComponentTypeInfo& info, const Export& e) {
    auto kind = kind_of(e.item.sort);
    if (!kind)
      fail("\"" + e.name.name + "\": components cannot export core items other than modules");
    AnyType type = e.type ? extern_type(scope, *e.type) : item_type(scope, *kind, e.item.index);
    if (e.type && e.type->kind != *kind)
      fail("\"" + e.name.name + "\": ascribed type is of another sort");
    add(scope, *kind, type);
    info.exports.push_back(NamedItem{e.name.name, *kind, type});
    record(type);
  }
  void define(Scope&, ComponentTypeInfo&, const Value&) {}

  void record(const AnyType& type) { out_->definition_types[definition_] = type; }

  size_t definition_ = 0;
  ResolvedComponent* out_ = nullptr;
};

}  // namespace

Result<ComponentTypeInfo, TypeError> resolve_types(const Component& component) {
  auto resolved = resolve_component(component);
  if (!resolved) return std::move(resolved).error();
  return std::move(resolved).value().info;
}

Result<ResolvedComponent, TypeError> resolve_component(const Component& component) {
  try {
    return Resolver().component(component, nullptr);
  } catch (const Failure& failure) {
    return TypeError{failure.message};
  } catch (const std::bad_variant_access&) {
    return TypeError{"an item of one sort was used as another"};
  }
}

}  // namespace gyre::component
