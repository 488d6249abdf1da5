#include "component/decode.hpp"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "component/decode_parts.hpp"

namespace gyre::component {
namespace {

using namespace decoding;  // the reader, and core types (decode_core.cpp)

constexpr uint8_t kMagic[4] = {0x00, 0x61, 0x73, 0x6d};
constexpr uint8_t kComponentVersion = 0x0d;

// ---- component types --------------------------------------------------------------

std::optional<PrimType> primitive(uint8_t code) {
  if (code >= 0x73 && code <= 0x7f) return static_cast<PrimType>(0x7f - code);
  if (code == 0x64) return PrimType::kErrorContext;
  return std::nullopt;
}

ValType valtype(Reader& r) {
  const uint64_t at = r.offset();
  const int64_t v = r.s33("a value type");
  if (v >= 0) return ValType::index(static_cast<uint32_t>(v));
  // Negative single-byte SLEB128 values are the primitive opcodes.
  if (v >= -64) {
    if (auto p = primitive(static_cast<uint8_t>(v & 0x7f))) return ValType::prim(*p);
  }
  r.fail_at(at, "invalid value type");
}

template <class T>
std::optional<T> optional(Reader& r, const char* what, T (*read)(Reader&)) {
  const uint64_t at = r.offset();
  const uint8_t flag = r.byte(what);
  if (flag == 0x00) return std::nullopt;
  if (flag == 0x01) return read(r);
  r.fail_at(at, std::string("invalid presence flag ") + hex_byte(flag) + " for " + what);
}

std::string label(Reader& r) {
  return r.name("a label");
}

ExternName extern_name(Reader& r) {
  const uint64_t at = r.offset();
  const uint8_t kind = r.byte("an extern name");
  ExternName out;
  if (kind > 0x02) r.fail_at(at, "invalid extern name kind " + hex_byte(kind));
  out.name = r.name("an extern name");
  if (kind == 0x02) {
    const uint32_t n = r.count("name attributes");
    for (uint32_t i = 0; i < n; ++i) {
      const uint64_t attr_at = r.offset();
      const uint8_t attribute = r.byte("a name attribute");
      std::optional<std::string>* slot = nullptr;
      switch (attribute) {
        case 0x00:
          slot = &out.implements;
          break;
        case 0x01:
          slot = &out.version_suffix;
          break;
        case 0x02:
          slot = &out.external_id;
          break;
        default:
          r.fail_at(attr_at, "invalid name attribute " + hex_byte(attribute));
      }
      if (slot->has_value()) r.fail_at(attr_at, "duplicate name attribute");
      *slot = r.name("a name attribute");
    }
  }
  return out;
}

ExternType extern_type(Reader& r) {
  const uint64_t at = r.offset();
  const uint8_t kind = r.byte("an extern type");
  ExternType out;
  switch (kind) {
    case 0x00: {
      const uint8_t module = r.byte("a core module type");
      if (module != 0x11) r.fail("expected 0x11 (core module) in an extern type");
      out.kind = ExternKind::kCoreModule;
      out.type_index = r.u32("a core type index");
      break;
    }
    case 0x01:
      out.kind = ExternKind::kFunc;
      out.type_index = r.u32("a type index");
      break;
    case 0x02: {
      out.kind = ExternKind::kValue;
      const uint8_t bound = r.byte("a value bound");
      if (bound == 0x00) {
        out.type_index = r.u32("a value index");
      } else if (bound == 0x01) {
        out.value_type = valtype(r);
      } else {
        r.fail("invalid value bound " + hex_byte(bound));
      }
      break;
    }
    case 0x03: {
      out.kind = ExternKind::kType;
      const uint8_t bound = r.byte("a type bound");
      if (bound == 0x00) {
        out.type_index = r.u32("a type index");
      } else if (bound == 0x01) {
        out.sub_resource = true;
      } else {
        r.fail("invalid type bound " + hex_byte(bound));
      }
      break;
    }
    case 0x04:
      out.kind = ExternKind::kComponent;
      out.type_index = r.u32("a type index");
      break;
    case 0x05:
      out.kind = ExternKind::kInstance;
      out.type_index = r.u32("a type index");
      break;
    default:
      r.fail_at(at, "invalid extern type " + hex_byte(kind));
  }
  return out;
}

SortRef sort(Reader& r) {
  const uint64_t at = r.offset();
  const uint8_t b = r.byte("a sort");
  if (b == 0x00) return SortRef{Sort::kCore, core_sort(r)};
  if (b >= 0x01 && b <= 0x05) return SortRef{static_cast<Sort>(b), CoreSort::kFunc};
  r.fail_at(at, "invalid sort " + hex_byte(b));
}

SortIndex sort_index(Reader& r) {
  SortIndex out;
  out.sort = sort(r);
  out.index = r.u32("an index");
  return out;
}

Alias alias(Reader& r) {
  Alias out;
  out.sort = sort(r);
  const uint64_t at = r.offset();
  const uint8_t target = r.byte("an alias target");
  switch (target) {
    case 0x00: {
      AliasExport e;
      e.instance = r.u32("an instance index");
      e.name = r.name("an export name");
      out.target = std::move(e);
      break;
    }
    case 0x01: {
      AliasCoreExport e;
      e.instance = r.u32("a core instance index");
      e.name = r.name("an export name");
      out.target = std::move(e);
      break;
    }
    case 0x02: {
      AliasOuter o;
      o.count = r.u32("an outer count");
      o.index = r.u32("an index");
      out.target = o;
      break;
    }
    default:
      r.fail_at(at, "invalid alias target " + hex_byte(target));
  }
  return out;
}

std::vector<LabeledType> labeled_types(Reader& r, const char* what) {
  return r.vec(what, [&] {
    LabeledType t;
    t.label = label(r);
    t.type = valtype(r);
    return t;
  });
}

std::vector<std::string> labels(Reader& r, const char* what) {
  return r.vec(what, [&] { return label(r); });
}

DefValType defvaltype(Reader& r, uint8_t opcode, uint64_t at) {
  if (auto p = primitive(opcode)) return *p;
  switch (opcode) {
    case 0x72: {
      RecordType t{labeled_types(r, "record fields")};
      if (t.fields.empty()) r.fail_at(at, "a record needs at least one field");
      return t;
    }
    case 0x71: {
      VariantType t;
      t.cases = r.vec("variant cases", [&] {
        VariantCase c;
        c.label = label(r);
        c.type = optional<ValType>(r, "a case type", valtype);
        const uint8_t refines = r.byte("a case terminator");
        if (refines != 0x00) r.fail("invalid variant case terminator " + hex_byte(refines));
        return c;
      });
      if (t.cases.empty()) r.fail_at(at, "a variant needs at least one case");
      return t;
    }
    case 0x70:
      return ListType{valtype(r), std::nullopt};
    case 0x67: {
      ListType t{valtype(r), r.u32("a list length")};
      if (*t.fixed_length == 0) r.fail_at(at, "a fixed-length list needs a length above zero");
      return t;
    }
    case 0x6f: {
      TupleType t{r.vec("tuple elements", [&] { return valtype(r); })};
      if (t.elements.empty()) r.fail_at(at, "a tuple needs at least one element");
      return t;
    }
    case 0x6e: {
      FlagsType t{labels(r, "flags")};
      if (t.labels.empty() || t.labels.size() > 32) {
        r.fail_at(at, "flags need 1 to 32 labels, found " + std::to_string(t.labels.size()));
      }
      return t;
    }
    case 0x6d: {
      EnumType t{labels(r, "enum cases")};
      if (t.labels.empty()) r.fail_at(at, "an enum needs at least one case");
      return t;
    }
    case 0x6b:
      return OptionType{valtype(r)};
    case 0x6a: {
      ResultType t;
      t.ok = optional<ValType>(r, "a result type", valtype);
      t.error = optional<ValType>(r, "an error type", valtype);
      return t;
    }
    case 0x69:
      return OwnType{r.u32("a resource type index")};
    case 0x68:
      return BorrowType{r.u32("a resource type index")};
    case 0x66:
      return StreamType{optional<ValType>(r, "a stream element type", valtype)};
    case 0x65:
      return FutureType{optional<ValType>(r, "a future element type", valtype)};
    case 0x63: {
      MapType t;
      t.key = valtype(r);
      t.value = valtype(r);
      return t;
    }
    default:
      r.fail_at(at, "invalid type opcode " + hex_byte(opcode));
  }
}

std::shared_ptr<Type> type(Reader& r, int depth);

Decl decl(Reader& r, int depth, bool in_component_type) {
  const uint64_t at = r.offset();
  const uint8_t kind = r.byte("a declaration");
  switch (kind) {
    case 0x00:
      return core_type(r, depth + 1);
    case 0x01:
      return type(r, depth + 1);
    case 0x02:
      return alias(r);
    case 0x03: {
      if (!in_component_type) r.fail_at(at, "an instance type cannot declare imports");
      ImportDecl d;
      d.name = extern_name(r);
      d.type = extern_type(r);
      return d;
    }
    case 0x04: {
      ExportDecl d;
      d.name = extern_name(r);
      d.type = extern_type(r);
      return d;
    }
    default:
      r.fail_at(at, "invalid declaration " + hex_byte(kind));
  }
}

std::optional<ValType> result_list(Reader& r) {
  const uint64_t at = r.offset();
  const uint8_t kind = r.byte("a result list");
  if (kind == 0x00) return valtype(r);
  if (kind == 0x01) {
    if (r.byte("an empty result list") != 0x00) r.fail_at(at, "invalid result list");
    return std::nullopt;
  }
  r.fail_at(at, "invalid result list " + hex_byte(kind));
}

std::shared_ptr<Type> type(Reader& r, int depth) {
  if (depth > kMaxDepth) r.fail("types nested too deeply");
  const uint64_t at = r.offset();
  const uint8_t opcode = r.byte("a type");
  auto out = std::make_shared<Type>();
  switch (opcode) {
    case 0x40:
    case 0x43: {
      FuncType f;
      f.async = opcode == 0x43;
      f.params = labeled_types(r, "parameters");
      f.result = result_list(r);
      out->type = std::move(f);
      break;
    }
    case 0x41: {
      ComponentType c;
      c.decls = r.vec("component type declarations", [&] { return decl(r, depth, true); });
      out->type = std::move(c);
      break;
    }
    case 0x42: {
      InstanceType i;
      i.decls = r.vec("instance type declarations", [&] { return decl(r, depth, false); });
      out->type = std::move(i);
      break;
    }
    case 0x3f: {
      ResourceType t;
      t.representation = core_valtype(r);
      t.destructor = optional<uint32_t>(
          r, "a destructor", [](Reader& rr) { return rr.u32("a destructor function index"); });
      out->type = t;
      break;
    }
    default:
      out->type = defvaltype(r, opcode, at);
  }
  return out;
}

// ---- canonical definitions --------------------------------------------------------

CanonOptions canon_options(Reader& r) {
  CanonOptions out;
  bool seen[8] = {};
  const uint32_t n = r.count("canonical options");
  for (uint32_t i = 0; i < n; ++i) {
    const uint64_t at = r.offset();
    const uint8_t option = r.byte("a canonical option");
    if (option > 0x07) r.fail_at(at, "invalid canonical option " + hex_byte(option));
    // The three string encodings share one slot: they conflict with each other.
    const int slot = option <= 0x02 ? 0 : option;
    if (seen[slot]) r.fail_at(at, "duplicate or conflicting canonical option " + hex_byte(option));
    seen[slot] = true;
    switch (option) {
      case 0x00:
      case 0x01:
      case 0x02:
        out.string_encoding = static_cast<StringEncoding>(option);
        break;
      case 0x03:
        out.memory = r.u32("a memory index");
        break;
      case 0x04:
        out.realloc = r.u32("a realloc function index");
        break;
      case 0x05:
        out.post_return = r.u32("a post-return function index");
        break;
      case 0x06:
        out.async = true;
        break;
      case 0x07:
        out.callback = r.u32("a callback function index");
        break;
    }
  }
  return out;
}

bool flag(Reader& r, const char* what) {
  const uint64_t at = r.offset();
  const uint8_t b = r.byte(what);
  if (b > 1) r.fail_at(at, std::string("invalid ") + what + " flag " + hex_byte(b));
  return b == 1;
}

Canon canon(Reader& r) {
  const uint64_t at = r.offset();
  const uint8_t opcode = r.byte("a canonical definition");
  auto func_sort = [&] {
    if (r.byte("a function sort") != 0x00) r.fail_at(at, "expected the func sort 0x00");
  };
  switch (opcode) {
    case 0x00: {
      func_sort();
      CanonLift lift;
      lift.core_func = r.u32("a core function index");
      lift.options = canon_options(r);
      lift.type = r.u32("a type index");
      return lift;
    }
    case 0x01: {
      func_sort();
      CanonLower lower;
      lower.func = r.u32("a function index");
      lower.options = canon_options(r);
      return lower;
    }
    case 0x02:
      return CanonResourceNew{r.u32("a resource type index")};
    case 0x03:
      return CanonResourceDrop{r.u32("a resource type index")};
    case 0x04:
      return CanonResourceRep{r.u32("a resource type index")};
    default:
      break;
  }
  CanonBuiltin b;
  b.opcode = opcode;
  switch (opcode) {
    case 0x24:  // backpressure.inc
    case 0x25:  // backpressure.dec
    case 0x05:  // task.cancel
    case 0x0d:  // subtask.drop
    case 0x1e:  // error-context.drop
    case 0x1f:  // waitable-set.new
    case 0x22:  // waitable-set.drop
    case 0x23:  // waitable.join
    case 0x26:  // thread.index
    case 0x28:  // thread.resume-later
      break;
    case 0x09:  // task.return
      b.result = result_list(r);
      b.options = canon_options(r);
      break;
    case 0x0a:  // context.get
    case 0x0b:  // context.set
      b.core_type = core_valtype(r);
      b.second = r.u32("a context index");
      break;
    case 0x06:  // subtask.cancel
      b.flag = flag(r, "async");
      break;
    case 0x0e:  // stream.new
    case 0x13:  // stream.drop-readable
    case 0x14:  // stream.drop-writable
    case 0x15:  // future.new
    case 0x1a:  // future.drop-readable
    case 0x1b:  // future.drop-writable
      b.type = r.u32("a type index");
      break;
    case 0x0f:  // stream.read
    case 0x10:  // stream.write
    case 0x16:  // future.read
    case 0x17:  // future.write
      b.type = r.u32("a type index");
      b.options = canon_options(r);
      break;
    case 0x11:  // stream.cancel-read
    case 0x12:  // stream.cancel-write
    case 0x18:  // future.cancel-read
    case 0x19:  // future.cancel-write
      b.type = r.u32("a type index");
      b.flag = flag(r, "async");
      break;
    case 0x1c:  // error-context.new
    case 0x1d:  // error-context.debug-message
      b.options = canon_options(r);
      break;
    case 0x20:  // waitable-set.wait
    case 0x21:  // waitable-set.poll
      b.flag = flag(r, "cancellable");
      b.second = r.u32("a memory index");
      break;
    case 0x27:  // thread.new-indirect
      b.type = r.u32("a core type index");
      b.second = r.u32("a table index");
      break;
    case 0x29:  // thread.suspend
    case 0x0c:  // thread.yield
    case 0x2a:
    case 0x2b:
    case 0x2c:
    case 0x2d:
      b.flag = flag(r, "cancellable");
      break;
    case 0x40:  // thread.spawn-ref
      b.flag = flag(r, "shared");
      b.type = r.u32("a core type index");
      break;
    case 0x41:  // thread.spawn-indirect
      b.flag = flag(r, "shared");
      b.type = r.u32("a core type index");
      b.second = r.u32("a table index");
      break;
    case 0x42:  // thread.available-parallelism
      b.flag = flag(r, "shared");
      break;
    default:
      r.fail_at(at, "invalid canonical definition " + hex_byte(opcode));
  }
  return b;
}

// ---- component-level definitions ---------------------------------------------------

Instance instance(Reader& r) {
  const uint64_t at = r.offset();
  const uint8_t kind = r.byte("an instance");
  Instance out;
  if (kind == 0x00) {
    Instantiate inst;
    inst.component = r.u32("a component index");
    inst.args = r.vec("instantiation arguments", [&] {
      InstantiateArg arg;
      arg.name = r.name("an argument name");
      arg.item = sort_index(r);
      return arg;
    });
    out.expr = std::move(inst);
  } else if (kind == 0x01) {
    out.expr = r.vec("inline exports", [&] {
      InlineExport e;
      e.name = extern_name(r);
      e.item = sort_index(r);
      return e;
    });
  } else {
    r.fail_at(at, "invalid instance kind " + hex_byte(kind));
  }
  return out;
}

Component component(Reader& r, int depth);

void section(Reader& r, uint8_t id, Component& out, int depth) {
  auto& defs = out.definitions;
  auto each = [&](const char* what, auto element) {
    const uint32_t n = r.count(what);
    defs.reserve(defs.size() + n);
    for (uint32_t i = 0; i < n; ++i)
      defs.push_back(element());
  };
  switch (id) {
    case 0: {
      CustomSection custom;
      custom.name = r.name("a custom section name");
      custom.payload = r.range_to_end();
      r.skip_to_end();
      out.custom_sections.push_back(std::move(custom));
      return;
    }
    case 1: {
      const ByteRange range = r.range_to_end();
      if (range.size < 8) r.fail("a core module section is too short to hold a module");
      defs.push_back(CoreModule{range});
      r.skip_to_end();
      return;
    }
    case 2:
      return each("core instances", [&] { return core_instance(r); });
    case 3:
      return each("core types", [&] { return core_type(r, depth + 1); });
    case 4: {
      defs.push_back(std::make_shared<Component>(component(r, depth + 1)));
      return;
    }
    case 5:
      return each("instances", [&] { return instance(r); });
    case 6:
      return each("aliases", [&] { return alias(r); });
    case 7:
      return each("types", [&] { return type(r, depth + 1); });
    case 8:
      return each("canonical definitions", [&] { return canon(r); });
    case 9: {
      Start start;
      start.func = r.u32("a function index");
      start.args = r.vec("start arguments", [&] { return r.u32("a value index"); });
      start.results = r.u32("a result count");
      defs.push_back(std::move(start));
      return;
    }
    case 10:
      return each("imports", [&] {
        Import import;
        import.name = extern_name(r);
        import.type = extern_type(r);
        return import;
      });
    case 11:
      return each("exports", [&] {
        Export e;
        e.name = extern_name(r);
        e.item = sort_index(r);
        e.type = optional<ExternType>(r, "an export type", extern_type);
        return e;
      });
    case 12:
      return each("values", [&] {
        Value v;
        v.type = valtype(r);
        const uint32_t len = r.count("a value");
        Reader payload = r.sub(len, "a value");
        v.bytes = payload.range_to_end();
        return v;
      });
    default:
      break;
  }
}

Component component(Reader& r, int depth) {
  if (depth > kMaxDepth) r.fail("components nested too deeply");
  Component out;
  out.bytes = r.range_to_end();
  const uint64_t start = r.offset();
  for (int i = 0; i < 4; ++i) {
    if (r.byte("the wasm magic number") != kMagic[i]) {
      r.fail_at(start, "not a WebAssembly binary (bad magic number)");
    }
  }
  const uint64_t version_at = r.offset();
  const uint8_t version = r.byte("a version");
  const uint8_t version_high = r.byte("a version");
  const uint8_t layer = r.byte("a layer");
  const uint8_t layer_high = r.byte("a layer");
  if (layer == 0x00 && layer_high == 0x00) {
    r.fail_at(version_at, "this is a core WebAssembly module, not a component");
  }
  if (layer != 0x01 || layer_high != 0x00) r.fail_at(version_at + 2, "unknown binary layer");
  if (version != kComponentVersion || version_high != 0x00) {
    r.fail_at(version_at, "unsupported component binary version " + hex_byte(version) +
                              " (Gyre reads version " + hex_byte(kComponentVersion) + ")");
  }
  while (!r.done()) {
    const uint64_t id_at = r.offset();
    const uint8_t id = r.byte("a section id");
    if (id > 12) r.fail_at(id_at, "invalid component section id " + std::to_string(id));
    const uint32_t size = r.u32("a section size");
    Reader body = r.sub(size, "section");
    section(body, id, out, depth);
    if (!body.done()) {
      body.fail("section " + std::to_string(id) + " has " + std::to_string(body.remaining()) +
                " unread bytes at its end");
    }
  }
  return out;
}

}  // namespace

std::string DecodeError::describe() const {
  char prefix[64];
  std::snprintf(prefix, sizeof prefix,
                "at byte offset 0x%llx (%llu): ", static_cast<unsigned long long>(offset),
                static_cast<unsigned long long>(offset));
  return prefix + message;
}

BinaryKind sniff(std::span<const uint8_t> bytes) {
  if (bytes.size() < 8 || !std::equal(kMagic, kMagic + 4, bytes.begin())) {
    return BinaryKind::kNotWasm;
  }
  if (bytes[6] == 0x00 && bytes[7] == 0x00) return BinaryKind::kCoreModule;
  if (bytes[6] == 0x01 && bytes[7] == 0x00) return BinaryKind::kComponent;
  return BinaryKind::kNotWasm;
}

Result<Component, DecodeError> decode(std::span<const uint8_t> bytes) {
  try {
    Reader reader(bytes, 0);
    return component(reader, 0);
  } catch (const Failure& failure) {
    return DecodeError{failure.offset, failure.message};
  } catch (const std::bad_alloc&) {
    return DecodeError{0, "out of memory while decoding"};
  }
}

namespace {

void collect_module_ranges(const Component& component, std::vector<ByteRange>& out) {
  for (const Definition& d : component.definitions) {
    if (auto* m = std::get_if<CoreModule>(&d)) out.push_back(m->bytes);
    if (auto* c = std::get_if<std::shared_ptr<Component>>(&d)) collect_module_ranges(**c, out);
  }
}

}  // namespace

std::vector<ByteRange> core_module_ranges(const Component& component) {
  std::vector<ByteRange> out;
  collect_module_ranges(component, out);
  return out;
}

}  // namespace gyre::component
