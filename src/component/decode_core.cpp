// Decoding core types and core instances inside a component (component/decode.hpp).
#include "component/decode_parts.hpp"

namespace gyre::component::decoding {

static bool is_abstract_heap(uint8_t b) {
  return (b >= 0x65 && b <= 0x75) || b == 0x6e;
}

CoreValType core_valtype(Reader& r) {
  const uint64_t at = r.offset();
  const uint8_t code = r.byte("a core value type");
  CoreValType type{code, 0};
  if (code >= 0x7b && code <= 0x7f) return type;  // i32 i64 f32 f64 v128
  if (code == 0x63 || code == 0x64) {             // (ref null ht) / (ref ht)
    const uint8_t next = r.peek("a heap type");
    if (is_abstract_heap(next)) {
      type.heap_type = -static_cast<int64_t>(r.byte("a heap type"));
    } else {
      type.heap_type = r.s33("a heap type");
      if (type.heap_type < 0) r.fail_at(at, "invalid heap type");
    }
    return type;
  }
  if (is_abstract_heap(code)) return type;  // reference type abbreviations
  r.fail_at(at, "invalid core value type " + hex_byte(code));
}

static void gc_storage_type(Reader& r) {
  const uint8_t b = r.peek("a storage type");
  if (b == 0x78 || b == 0x77) {  // i8, i16
    r.byte("a storage type");
    return;
  }
  core_valtype(r);
}

static void gc_field_type(Reader& r) {
  gc_storage_type(r);
  const uint8_t mut = r.byte("a mutability flag");
  if (mut > 1) r.fail("invalid mutability flag " + hex_byte(mut));
}

// A GC composite type after its opcode.
static void gc_comp_type(Reader& r, uint8_t opcode, uint64_t at) {
  switch (opcode) {
    case 0x60:
      r.vec("parameters", [&] { return core_valtype(r); });
      r.vec("results", [&] { return core_valtype(r); });
      return;
    case 0x5f:
      r.vec("struct fields", [&] { return gc_field_type(r), 0; });
      return;
    case 0x5e:
      gc_field_type(r);
      return;
    case 0x5d:  // continuation type (stack switching)
      r.s33("a type index");
      return;
    default:
      r.fail_at(at, "invalid core composite type " + hex_byte(opcode));
  }
}

static void gc_sub_type(Reader& r) {
  const uint64_t at = r.offset();
  uint8_t opcode = r.byte("a core type");
  if (opcode == 0x50 || opcode == 0x4f) {
    r.vec("supertypes", [&] { return r.u32("a type index"); });
    const uint64_t comp_at = r.offset();
    gc_comp_type(r, r.byte("a composite type"), comp_at);
    return;
  }
  gc_comp_type(r, opcode, at);
}

static CoreLimits limits(Reader& r) {
  const uint64_t at = r.offset();
  const uint8_t flags = r.byte("limits");
  if (flags > 0x07) r.fail_at(at, "invalid limits flags " + hex_byte(flags));
  CoreLimits out;
  out.shared = flags & 0x02;
  out.is64 = flags & 0x04;
  out.min = out.is64 ? r.u64("a minimum") : r.u32("a minimum");
  if (flags & 0x01) out.max = out.is64 ? r.u64("a maximum") : r.u32("a maximum");
  return out;
}

static CoreExternType core_extern_type(Reader& r) {
  const uint64_t at = r.offset();
  const uint8_t kind = r.byte("a core extern type");
  CoreExternType out;
  switch (kind) {
    case 0x00:
      out.kind = CoreSort::kFunc;
      out.type_index = r.u32("a type index");
      break;
    case 0x01:
      out.kind = CoreSort::kTable;
      out.value_type = core_valtype(r);
      out.limits = limits(r);
      break;
    case 0x02:
      out.kind = CoreSort::kMemory;
      out.limits = limits(r);
      break;
    case 0x03: {
      out.kind = CoreSort::kGlobal;
      out.value_type = core_valtype(r);
      const uint8_t mut = r.byte("a mutability flag");
      if (mut > 1) r.fail("invalid mutability flag " + hex_byte(mut));
      out.mutable_global = mut == 1;
      break;
    }
    case 0x04: {
      out.kind = CoreSort::kTag;
      const uint8_t attribute = r.byte("a tag attribute");
      if (attribute != 0) r.fail("invalid tag attribute " + hex_byte(attribute));
      out.type_index = r.u32("a type index");
      break;
    }
    default:
      r.fail_at(at, "invalid core extern type " + hex_byte(kind));
  }
  return out;
}

CoreSort core_sort(Reader& r) {
  const uint64_t at = r.offset();
  const uint8_t b = r.byte("a core sort");
  switch (b) {
    case 0x00:
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x10:
    case 0x11:
    case 0x12:
      return static_cast<CoreSort>(b);
    default:
      r.fail_at(at, "invalid core sort " + hex_byte(b));
  }
}

std::shared_ptr<CoreType> core_type(Reader& r, int depth);

static CoreModuleDecl module_decl(Reader& r, int depth) {
  const uint64_t at = r.offset();
  const uint8_t kind = r.byte("a module type declaration");
  switch (kind) {
    case 0x00: {
      CoreImport import;
      import.module = r.name("an import module name");
      import.name = r.name("an import name");
      import.type = core_extern_type(r);
      return import;
    }
    case 0x01:
      return core_type(r, depth + 1);
    case 0x02: {
      const uint8_t sort = r.byte("an alias sort");
      const uint8_t target = r.byte("an alias target");
      if (sort != 0x10 || target != 0x01) {
        r.fail_at(at, "a module type may only alias outer types");
      }
      CoreOuterAlias alias;
      alias.count = r.u32("an outer count");
      alias.index = r.u32("a type index");
      return alias;
    }
    case 0x03: {
      CoreExportDecl decl;
      decl.name = r.name("an export name");
      decl.type = core_extern_type(r);
      return decl;
    }
    default:
      r.fail_at(at, "invalid module type declaration " + hex_byte(kind));
  }
}

std::shared_ptr<CoreType> core_type(Reader& r, int depth) {
  if (depth > kMaxDepth) r.fail("types nested too deeply");
  const uint64_t at = r.offset();
  const uint8_t opcode = r.peek("a core type");
  auto out = std::make_shared<CoreType>();
  if (opcode == 0x50) {  // module type
    r.byte("a core type");
    CoreModuleType module;
    module.decls = r.vec("module type declarations", [&] { return module_decl(r, depth); });
    out->type = std::move(module);
  } else if (opcode == 0x60) {  // plain function type
    r.byte("a core type");
    CoreFuncType func;
    func.params = r.vec("parameters", [&] { return core_valtype(r); });
    func.results = r.vec("results", [&] { return core_valtype(r); });
    out->type = std::move(func);
  } else if (opcode == 0x00) {  // non-final subtype, prefixed in this position
    r.byte("a core type");
    if (r.peek("a subtype") != 0x50) r.fail("expected 0x50 after 0x00 in a core type");
    gc_sub_type(r);
    out->type = CoreGcType{ByteRange{at, r.offset() - at}};
  } else if (opcode == 0x4e) {  // recursion group
    r.byte("a core type");
    r.vec("a recursion group", [&] { return gc_sub_type(r), 0; });
    out->type = CoreGcType{ByteRange{at, r.offset() - at}};
  } else {
    gc_sub_type(r);
    out->type = CoreGcType{ByteRange{at, r.offset() - at}};
  }
  return out;
}

CoreInstance core_instance(Reader& r) {
  const uint64_t at = r.offset();
  const uint8_t kind = r.byte("a core instance");
  CoreInstance out;
  if (kind == 0x00) {
    CoreInstantiate inst;
    inst.module = r.u32("a module index");
    inst.args = r.vec("instantiation arguments", [&] {
      CoreInstantiateArg arg;
      arg.name = r.name("an argument name");
      const uint8_t sort = r.byte("an argument sort");
      if (sort != 0x12)
        r.fail("core instantiation arguments must be instances, found sort " + hex_byte(sort));
      arg.instance = r.u32("an instance index");
      return arg;
    });
    out.expr = std::move(inst);
  } else if (kind == 0x01) {
    out.expr = r.vec("inline exports", [&] {
      CoreInlineExport e;
      e.name = r.name("an export name");
      e.item.sort = core_sort(r);
      e.item.index = r.u32("an index");
      return e;
    });
  } else {
    r.fail_at(at, "invalid core instance kind " + hex_byte(kind));
  }
  return out;
}

}  // namespace gyre::component::decoding
