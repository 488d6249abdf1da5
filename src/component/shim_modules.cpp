#include "component/shim_modules.hpp"

#include <algorithm>
#include <map>
#include <string_view>

#include "component/core_reader.hpp"

namespace gyre::component {
namespace {

struct FuncType {
  std::vector<uint8_t> params, results;
  bool operator==(const FuncType&) const = default;
};

// A funcref table type with plain 32-bit limits; anything else fails the reader.
void funcref_table(CoreReader& r) {
  if (r.byte() != 0x70) r.fail();
  const uint8_t limits = r.byte();
  if (limits > 1) r.fail();
  r.u32();
  if (limits == 1) r.u32();
}

// What the recognizers need from a module, in one pass over its sections.
struct Module {
  std::vector<FuncType> types;
  struct Import {
    std::string module, name;
    uint8_t kind;
    uint32_t type;  // functions
  };
  std::vector<Import> imports;
  std::vector<uint32_t> functions;  // defined functions' type indices
  uint32_t tables = 0;
  struct Export {
    std::string name;
    uint8_t kind;
    uint32_t index;
  };
  std::vector<Export> exports;
  std::optional<uint32_t> start;
  uint32_t segments = 0;
  std::optional<int32_t> segment_offset;  // the one plain active segment's
  std::vector<uint32_t> segment_elements;
  std::vector<std::span<const uint8_t>> bodies;
  bool other = false;  // memories, globals, data, tags, or section kinds not parsed here
};

std::optional<Module> parse(std::span<const uint8_t> bytes) {
  static constexpr uint8_t kHeader[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  if (bytes.size() < sizeof kHeader || !std::equal(kHeader, kHeader + 8, bytes.begin()))
    return std::nullopt;
  Module m;
  CoreReader r(bytes.subspan(8));
  while (r.ok() && !r.done()) {
    const uint8_t id = r.byte();
    CoreReader s(r.take(r.u32()));
    if (!r.ok()) return std::nullopt;
    switch (id) {
      case 0:  // custom
        continue;
      case 1:
        for (uint32_t n = s.u32(); n > 0 && s.ok(); --n) {
          if (s.byte() != 0x60) return std::nullopt;
          FuncType t;
          for (uint32_t k = s.u32(); k > 0 && s.ok(); --k)
            t.params.push_back(s.byte());
          for (uint32_t k = s.u32(); k > 0 && s.ok(); --k)
            t.results.push_back(s.byte());
          m.types.push_back(std::move(t));
        }
        break;
      case 2:
        for (uint32_t n = s.u32(); n > 0 && s.ok(); --n) {
          Module::Import import{s.name(), s.name(), s.byte(), 0};
          if (import.kind == 0x00) {
            import.type = s.u32();
          } else if (import.kind == 0x01) {
            funcref_table(s);
          } else {
            return std::nullopt;  // memories, globals, tags
          }
          m.imports.push_back(std::move(import));
        }
        break;
      case 3:
        for (uint32_t n = s.u32(); n > 0 && s.ok(); --n)
          m.functions.push_back(s.u32());
        break;
      case 4:
        for (uint32_t n = s.u32(); n > 0 && s.ok(); --n) {
          funcref_table(s);
          ++m.tables;
        }
        break;
      case 7:
        for (uint32_t n = s.u32(); n > 0 && s.ok(); --n)
          m.exports.push_back(Module::Export{s.name(), s.byte(), s.u32()});
        break;
      case 8:
        m.start = s.u32();
        break;
      case 9:
        for (uint32_t n = s.u32(); n > 0 && s.ok(); --n) {
          ++m.segments;
          // Only flags 0: active, table 0, an i32.const offset, function indices.
          if (s.u32() != 0 || s.byte() != 0x41) return std::nullopt;
          m.segment_offset = s.s32();
          if (s.byte() != 0x0b) return std::nullopt;
          for (uint32_t k = s.u32(); k > 0 && s.ok(); --k)
            m.segment_elements.push_back(s.u32());
        }
        break;
      case 10:
        for (uint32_t n = s.u32(); n > 0 && s.ok(); --n)
          m.bodies.push_back(s.take(s.u32()));
        break;
      default:
        m.other = true;
        continue;
    }
    if (!s.ok() || !s.done()) return std::nullopt;
  }
  if (!r.ok() || m.bodies.size() != m.functions.size()) return std::nullopt;
  for (const auto& i : m.imports) {
    if (i.kind == 0x00 && i.type >= m.types.size()) return std::nullopt;
  }
  for (uint32_t t : m.functions) {
    if (t >= m.types.size()) return std::nullopt;
  }
  return m;
}

// The slot a shim function calls, if its body is exactly: every parameter in order,
// i32.const slot, call_indirect of its own type on table 0, end; and no locals.
std::optional<uint32_t> forwarded_slot(std::span<const uint8_t> body, const FuncType& type,
                                       const std::vector<FuncType>& types) {
  CoreReader r(body);
  if (r.u32() != 0) return std::nullopt;  // local declarations
  for (uint32_t p = 0; p < type.params.size(); ++p) {
    if (r.byte() != 0x20 || r.u32() != p) return std::nullopt;
  }
  if (r.byte() != 0x41) return std::nullopt;
  const int32_t slot = r.s32();
  if (r.byte() != 0x11) return std::nullopt;
  const uint32_t called = r.u32();
  if (r.byte() != 0x00 || r.byte() != 0x0b || !r.ok() || !r.done()) return std::nullopt;
  if (slot < 0 || called >= types.size() || !(types[called] == type)) return std::nullopt;
  return static_cast<uint32_t>(slot);
}

}  // namespace

std::optional<IndirectShim> recognize_indirect_shim(std::span<const uint8_t> bytes) {
  auto m = parse(bytes);
  if (!m || m->other || !m->imports.empty() || m->tables != 1 || m->start || m->segments != 0)
    return std::nullopt;
  IndirectShim shim;
  std::map<uint32_t, uint32_t> slots;  // function index -> slot
  for (size_t f = 0; f < m->functions.size(); ++f) {
    auto slot = forwarded_slot(m->bodies[f], m->types[m->functions[f]], m->types);
    if (!slot) return std::nullopt;
    slots[static_cast<uint32_t>(f)] = *slot;
  }
  bool table_exported = false;
  for (const auto& e : m->exports) {
    if (e.kind == 0x01 && e.index == 0 && !table_exported) {
      shim.table_export = e.name;
      table_exported = true;
    } else if (e.kind == 0x00 && slots.count(e.index)) {
      shim.functions.push_back({e.name, slots[e.index]});
    } else {
      return std::nullopt;
    }
  }
  if (!table_exported) return std::nullopt;
  return shim;
}

std::optional<TableFixup> recognize_table_fixup(std::span<const uint8_t> bytes) {
  auto m = parse(bytes);
  if (!m || m->other || !m->functions.empty() || m->tables != 0 || !m->exports.empty() ||
      m->segments != 1 || !m->segment_offset || *m->segment_offset < 0) {
    return std::nullopt;
  }
  TableFixup fixup;
  bool has_table = false;
  for (const auto& i : m->imports) {
    if (i.kind == 0x00) {
      fixup.functions.push_back({i.module, i.name});
    } else if (!has_table) {
      fixup.table = {i.module, i.name};
      has_table = true;
    } else {
      return std::nullopt;
    }
  }
  if (!has_table) return std::nullopt;
  for (uint32_t e : m->segment_elements) {
    if (e >= fixup.functions.size()) return std::nullopt;
  }
  if (m->start && *m->start >= fixup.functions.size()) return std::nullopt;
  // A start function that takes or returns values cannot be called as a start function.
  if (m->start) {
    uint32_t seen = 0;
    for (const auto& i : m->imports) {
      if (i.kind != 0x00) continue;
      if (seen++ == *m->start && !(m->types[i.type] == FuncType{})) return std::nullopt;
    }
  }
  fixup.offset = static_cast<uint32_t>(*m->segment_offset);
  fixup.elements = std::move(m->segment_elements);
  fixup.start = m->start;
  return fixup;
}

bool may_have_start_function(std::span<const uint8_t> bytes) {
  static constexpr uint8_t kHeader[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  if (bytes.size() < sizeof kHeader || !std::equal(kHeader, kHeader + 8, bytes.begin()))
    return true;
  CoreReader r(bytes.subspan(8));
  while (r.ok() && !r.done()) {
    if (r.byte() == 8) return true;
    r.take(r.u32());
  }
  return !r.ok();
}

}  // namespace gyre::component
