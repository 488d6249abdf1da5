#include "component/wit.hpp"

#include <algorithm>
#include <set>
#include <sstream>
#include <unordered_map>

namespace gyre::component {
namespace {

// "wasi:io/poll@0.2.12" -> package "wasi:io@0.2.12", interface "poll".
struct InterfaceName {
  std::string package;
  std::string interface;
};

std::optional<InterfaceName> split_interface(const std::string& name) {
  const size_t colon = name.find(':');
  const size_t slash = name.find('/');
  if (colon == std::string::npos || slash == std::string::npos || slash < colon)
    return std::nullopt;
  const size_t at = name.find('@', slash);
  std::string version = at == std::string::npos ? "" : name.substr(at);
  std::string interface =
      name.substr(slash + 1, (at == std::string::npos ? name.size() : at) - slash - 1);
  return InterfaceName{name.substr(0, slash) + version, interface};
}

const char* primitive_name(ValueKind kind) {
  static const char* kNames[] = {"bool", "s8",  "u8",  "s16", "u16",  "s32",    "u32",
                                 "s64",  "u64", "f32", "f64", "char", "string", "error-context"};
  return kNames[static_cast<size_t>(kind)];
}

// WIT keywords take a % when used as identifiers.
std::string ident(const std::string& name) {
  static const std::set<std::string> kKeywords = {
      "use",     "type",          "func",   "u8",       "u16",       "u32",         "u64",
      "s8",      "s16",           "s32",    "s64",      "f32",       "f64",         "float32",
      "float64", "char",          "record", "resource", "own",       "borrow",      "flags",
      "variant", "enum",          "bool",   "string",   "option",    "result",      "future",
      "stream",  "list",          "import", "export",   "interface", "package",     "world",
      "include", "with",          "as",     "from",     "static",    "constructor", "async",
      "tuple",   "error-context", "map",    "_"};
  return kKeywords.count(name) ? "%" + name : name;
}

const void* identity(const AnyType& type) {
  if (auto* v = std::get_if<ValueTypePtr>(&type)) return v->get();
  if (auto* r = std::get_if<ResourcePtr>(&type)) return r->get();
  return nullptr;
}

struct Origin {
  std::string interface;  // full interface name, or "" at world level
  std::string name;
};

class Printer {
 public:
  explicit Printer(const ComponentTypeInfo& component) : component_(component) {
    for (const auto& item : component.imports)
      learn(item);
    for (const auto& item : component.exports)
      learn(item);
  }

  std::string structure(const ValueType& type) const {
    return expr(std::shared_ptr<const ValueType>(&type, [](const ValueType*) {}), false);
  }
  std::string signature(const FunctionType& type) const { return func(type, false); }

  std::string print() {
    out_ << "package root:component;\n\nworld root {\n";
    for (const auto& item : component_.imports)
      world_item("import", item);
    for (const auto& item : component_.exports)
      world_item("export", item);
    out_ << "}\n";

    // Interfaces by package, each once, packages in order of first appearance.
    std::vector<std::pair<std::string, std::vector<const NamedItem*>>> packages;
    std::set<std::string> seen;
    for (const auto* list : {&component_.imports, &component_.exports}) {
      for (const auto& item : *list) {
        auto split = split_interface(item.name);
        if (item.kind != ExternKind::kInstance || !split || !seen.insert(item.name).second)
          continue;
        auto package = std::find_if(packages.begin(), packages.end(),
                                    [&](const auto& p) { return p.first == split->package; });
        if (package == packages.end())
          package = packages.insert(packages.end(), {split->package, {}});
        package->second.push_back(&item);
      }
    }
    for (const auto& [package, items] : packages) {
      out_ << "package " << package << " {\n";
      for (size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out_ << "\n";
        out_ << "  interface " << ident(split_interface(items[i]->name)->interface) << " {\n";
        interface_body(items[i]->name, instance_of(*items[i]), "    ");
        out_ << "  }\n";
      }
      out_ << "}\n";
    }
    return out_.str();
  }

 private:
  static const InstanceTypeInfo& instance_of(const NamedItem& item) {
    return *std::get<std::shared_ptr<const InstanceTypeInfo>>(item.type);
  }

  // Where each named type was first declared, for `use` and for references.
  void learn(const NamedItem& item) {
    if (item.kind == ExternKind::kType) {
      origins_.emplace(identity(item.type), Origin{"", item.name});
    } else if (item.kind == ExternKind::kInstance) {
      for (const auto& e : instance_of(item).exports) {
        if (e.kind == ExternKind::kType)
          origins_.emplace(identity(e.type), Origin{item.name, e.name});
      }
    }
  }

  void world_item(const char* direction, const NamedItem& item) {
    local_.clear();
    switch (item.kind) {
      case ExternKind::kInstance:
        if (split_interface(item.name)) {
          out_ << "  " << direction << " " << item.name << ";\n";
        } else {
          out_ << "  " << direction << " " << ident(item.name) << ": interface {\n";
          interface_body(item.name, instance_of(item), "    ");
          out_ << "  }\n";
        }
        return;
      case ExternKind::kFunc:
        out_ << "  " << direction << " " << ident(item.name) << ": "
             << func(*std::get<FunctionTypePtr>(item.type), false) << ";\n";
        return;
      case ExternKind::kType:
        type_definition(item.name, item.type, "  ");
        return;
      default:
        out_ << "  /* " << direction << " " << item.name << ": not expressible in WIT */\n";
    }
  }

  void interface_body(const std::string& interface, const InstanceTypeInfo& info,
                      const std::string& indent) {
    // The first name a type gets in this interface is its name here; later names for
    // the same type are aliases of it.
    local_.clear();
    for (const auto& e : info.exports) {
      if (e.kind == ExternKind::kType) local_.emplace(identity(e.type), e.name);
    }
    // `use` statements first, one per interface they come from.
    std::vector<std::pair<std::string, std::vector<std::string>>> uses;
    for (const auto& e : info.exports) {
      if (e.kind != ExternKind::kType) continue;
      const Origin* origin = foreign_origin(e.type, interface);
      if (origin == nullptr || local_.at(identity(e.type)) != e.name) continue;
      auto use = std::find_if(uses.begin(), uses.end(),
                              [&](const auto& u) { return u.first == origin->interface; });
      if (use == uses.end()) use = uses.insert(uses.end(), {origin->interface, {}});
      use->second.push_back(ident(origin->name) +
                            (origin->name != e.name ? " as " + ident(e.name) : ""));
    }
    for (const auto& [from, names] : uses) {
      out_ << indent << "use " << interface_ref(from, interface) << ".{";
      for (size_t i = 0; i < names.size(); ++i)
        out_ << (i ? ", " : "") << names[i];
      out_ << "};\n";
    }
    for (const auto& e : info.exports) {
      if (e.kind == ExternKind::kType) {
        const std::string& first = local_.at(identity(e.type));
        if (first != e.name) {
          out_ << indent << "type " << ident(e.name) << " = " << ident(first) << ";\n";
        } else if (foreign_origin(e.type, interface) == nullptr) {
          type_definition(e.name, e.type, indent, &info);
        }
      } else if (e.kind == ExternKind::kFunc && e.name.rfind('[', 0) != 0) {
        out_ << indent << ident(e.name) << ": " << func(*std::get<FunctionTypePtr>(e.type), false)
             << ";\n";
      }
    }
  }

  // Where a type comes from when that is another interface than `interface`.
  const Origin* foreign_origin(const AnyType& type, const std::string& interface) const {
    auto origin = origins_.find(identity(type));
    if (origin == origins_.end() || origin->second.interface.empty() ||
        origin->second.interface == interface) {
      return nullptr;
    }
    return &origin->second;
  }

  void type_definition(const std::string& name, const AnyType& type, const std::string& indent,
                       const InstanceTypeInfo* info = nullptr) {
    if (std::holds_alternative<ResourcePtr>(type)) {
      resource(name, info, indent);
      return;
    }
    const auto* value = std::get_if<ValueTypePtr>(&type);
    if (value == nullptr) return;
    const ValueType& t = **value;
    auto block = [&](const char* keyword, auto body) {
      out_ << indent << keyword << " " << ident(name) << " {\n";
      for (size_t i = 0; i < t.labels.size(); ++i)
        out_ << indent << "  " << body(i) << ",\n";
      out_ << indent << "}\n";
    };
    switch (t.kind) {
      case ValueKind::kRecord:
        return block("record",
                     [&](size_t i) { return ident(t.labels[i]) + ": " + expr(t.types[i]); });
      case ValueKind::kVariant:
        return block("variant", [&](size_t i) {
          return ident(t.labels[i]) + (t.types[i] ? "(" + expr(t.types[i]) + ")" : "");
        });
      case ValueKind::kEnum:
        return block("enum", [&](size_t i) { return ident(t.labels[i]); });
      case ValueKind::kFlags:
        return block("flags", [&](size_t i) { return ident(t.labels[i]); });
      default:
        out_ << indent << "type " << ident(name) << " = " << expr(*value, false) << ";\n";
    }
  }

  void resource(const std::string& name, const InstanceTypeInfo* info, const std::string& indent) {
    std::vector<std::string> members;
    if (info != nullptr) {
      for (const auto& e : info->exports) {
        if (e.kind != ExternKind::kFunc) continue;
        const auto& f = *std::get<FunctionTypePtr>(e.type);
        if (e.name == "[constructor]" + name) {
          members.push_back("constructor" + params(f, false) + ";");
        } else if (e.name.rfind("[method]" + name + ".", 0) == 0) {
          members.push_back(ident(e.name.substr(9 + name.size())) + ": " + func(f, true) + ";");
        } else if (e.name.rfind("[static]" + name + ".", 0) == 0) {
          members.push_back(ident(e.name.substr(9 + name.size())) + ": static " + func(f, false) +
                            ";");
        }
      }
    }
    if (members.empty()) {
      out_ << indent << "resource " << ident(name) << ";\n";
      return;
    }
    out_ << indent << "resource " << ident(name) << " {\n";
    for (const auto& m : members)
      out_ << indent << "  " << m << "\n";
    out_ << indent << "}\n";
  }

  std::string interface_ref(const std::string& target, const std::string& from) const {
    auto a = split_interface(target), b = split_interface(from);
    if (a && b && a->package == b->package) return ident(a->interface);
    return target;
  }

  std::string params(const FunctionType& f, bool skip_self) const {
    std::string out = "(";
    bool first = true;
    for (size_t i = skip_self ? 1 : 0; i < f.params.size(); ++i) {
      if (!first) out += ", ";
      first = false;
      out += ident(f.params[i].first) + ": " + expr(f.params[i].second);
    }
    return out + ")";
  }

  std::string func(const FunctionType& f, bool method) const {
    std::string out = f.async ? "async func" : "func";
    out += params(f, method);
    if (f.result) out += " -> " + expr(f.result);
    return out;
  }

  std::string name_of(const void* node) const {
    if (auto local = local_.find(node); local != local_.end()) return ident(local->second);
    if (auto origin = origins_.find(node); origin != origins_.end())
      return ident(origin->second.name);
    return "";
  }

  // A type as used: its name if it has one (unless `named` is false, for the right-hand
  // side of its own definition), else its structure.
  std::string expr(const ValueTypePtr& type, bool named = true) const {
    if (!type) return "_";
    if (std::string name = named ? name_of(type.get()) : ""; !name.empty()) return name;
    if (type->is_primitive()) return primitive_name(type->kind);
    const ValueType& t = *type;
    auto list = [&](size_t from) {
      std::string out;
      for (size_t i = from; i < t.types.size(); ++i)
        out += (i > from ? ", " : "") + expr(t.types[i]);
      return out;
    };
    switch (t.kind) {
      case ValueKind::kList:
        return "list<" + expr(t.types[0]) +
               (t.fixed_length ? ", " + std::to_string(*t.fixed_length) : "") + ">";
      case ValueKind::kTuple:
        return "tuple<" + list(0) + ">";
      case ValueKind::kOption:
        return "option<" + expr(t.types[0]) + ">";
      case ValueKind::kResult:
        if (!t.types[0] && !t.types[1]) return "result";
        if (!t.types[1]) return "result<" + expr(t.types[0]) + ">";
        return "result<" + expr(t.types[0]) + ", " + expr(t.types[1]) + ">";
      case ValueKind::kOwn:
        return resource_name(t.resource);
      case ValueKind::kBorrow:
        return "borrow<" + resource_name(t.resource) + ">";
      case ValueKind::kStream:
        return t.types[0] ? "stream<" + expr(t.types[0]) + ">" : "stream";
      case ValueKind::kFuture:
        return t.types[0] ? "future<" + expr(t.types[0]) + ">" : "future";
      case ValueKind::kMap:
        return "map<" + list(0) + ">";
      default: {
        // A record, variant, enum or flags type nobody named: not valid WIT, so shown
        // structurally for the reader.
        static const char* kKinds[] = {"record", "variant", "list", "tuple", "flags", "enum"};
        std::string out =
            std::string(
                kKinds[static_cast<size_t>(t.kind) - static_cast<size_t>(ValueKind::kRecord)]) +
            " { ";
        for (size_t i = 0; i < t.labels.size(); ++i) {
          out += (i ? ", " : "") + ident(t.labels[i]);
          if (i < t.types.size() && t.types[i]) out += ": " + expr(t.types[i]);
        }
        return out + " }";
      }
    }
  }

  std::string resource_name(const ResourcePtr& r) const {
    std::string named = name_of(r.get());
    return named.empty() ? "<anonymous resource>" : named;
  }

  const ComponentTypeInfo& component_;
  std::unordered_map<const void*, Origin> origins_;
  std::unordered_map<const void*, std::string> local_;
  std::ostringstream out_;
};

}  // namespace

std::string print_wit(const ComponentTypeInfo& component) {
  return Printer(component).print();
}

std::string structure_of(const ValueType& type) {
  static const ComponentTypeInfo kNoNames;
  return Printer(kNoNames).structure(type);
}

std::string structure_of(const FunctionType& type) {
  static const ComponentTypeInfo kNoNames;
  return Printer(kNoNames).signature(type);
}

}  // namespace gyre::component
