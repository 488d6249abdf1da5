#include "component/abi.hpp"

#include <bit>
#include <cmath>
#include <cstring>

#include "base/utf8.hpp"
#include "component/concurrency/concurrency.hpp"
#include "component/concurrency/error_context.hpp"

namespace gyre::component {
namespace {

using wasm::RawValue;

constexpr uint32_t kMaxStringBytes = (1u << 28) - 1;
constexpr uint32_t kMaxListBytes = (1u << 28) - 1;
constexpr uint32_t kUtf16Tag = 1u << 31;

[[noreturn]] void trap(std::string message) {
  throw AbiTrap{std::move(message)};
}

std::span<uint8_t> memory(const CanonContext& cx) {
  if (!cx.memory) trap("the canonical option `memory` is required here but was not given");
  return cx.memory_view();
}

void check_range(const CanonContext& cx, uint64_t ptr, uint64_t length, const char* what) {
  const uint64_t size = memory(cx).size();
  if (ptr + length > size) {
    trap(std::string(what) + " at " + std::to_string(ptr) + " of " + std::to_string(length) +
         " bytes runs past the end of linear memory (" + std::to_string(size) + " bytes)");
  }
}

void check_aligned(uint32_t ptr, uint32_t alignment, const char* what) {
  if (ptr % alignment != 0) {
    trap(std::string(what) + " pointer " + std::to_string(ptr) + " is not " +
         std::to_string(alignment) + "-byte aligned");
  }
}

}  // namespace

void check_elements(const CanonContext& cx, uint32_t ptr, uint64_t count, const ValueType& element,
                    const char* what) {
  check_aligned(ptr, alignment(element), what);
  check_range(cx, ptr, count * size(element), what);
}

namespace {

template <class T>
T read(const CanonContext& cx, uint32_t ptr) {
  check_range(cx, ptr, sizeof(T), "a value");
  T value;
  std::memcpy(&value, memory(cx).data() + ptr, sizeof(T));
  return value;
}

template <class T>
void write(const CanonContext& cx, uint32_t ptr, T value) {
  check_range(cx, ptr, sizeof(T), "a value");
  std::memcpy(memory(cx).data() + ptr, &value, sizeof(T));
}

void write_uint(const CanonContext& cx, uint32_t ptr, uint64_t value, uint32_t bytes) {
  switch (bytes) {
    case 1:
      return write<uint8_t>(cx, ptr, static_cast<uint8_t>(value));
    case 2:
      return write<uint16_t>(cx, ptr, static_cast<uint16_t>(value));
    case 4:
      return write<uint32_t>(cx, ptr, static_cast<uint32_t>(value));
    default:
      return write<uint64_t>(cx, ptr, value);
  }
}

uint64_t read_uint(const CanonContext& cx, uint32_t ptr, uint32_t bytes) {
  switch (bytes) {
    case 1:
      return read<uint8_t>(cx, ptr);
    case 2:
      return read<uint16_t>(cx, ptr);
    case 4:
      return read<uint32_t>(cx, ptr);
    default:
      return read<uint64_t>(cx, ptr);
  }
}

double canonical_f32(float f) {
  return std::isnan(f) ? static_cast<double>(std::bit_cast<float>(0x7fc00000u)) : f;
}
double canonical_f64(double f) {
  return std::isnan(f) ? std::bit_cast<double>(0x7ff8000000000000ull) : f;
}

uint64_t to_char(uint32_t code_point) {
  if (code_point >= 0x110000 || (code_point >= 0xd800 && code_point <= 0xdfff)) {
    trap("invalid char: " + std::to_string(code_point) + " is not a Unicode scalar value");
  }
  return code_point;
}

uint64_t sign_extend(uint64_t value, int bits) {
  const uint64_t mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
  value &= mask;
  if (bits < 64 && (value >> (bits - 1)) & 1) value |= ~mask;
  return value;
}

// An integer kind's value from its low bits: masked to its width, sign-extended if signed.
uint64_t integer_of(ValueKind kind, uint64_t raw) {
  switch (kind) {
    case ValueKind::kU8:
      return raw & 0xff;
    case ValueKind::kS8:
      return sign_extend(raw, 8);
    case ValueKind::kU16:
      return raw & 0xffff;
    case ValueKind::kS16:
      return sign_extend(raw, 16);
    case ValueKind::kU32:
      return raw & 0xffffffffu;
    case ValueKind::kS32:
      return sign_extend(raw, 32);
    default:
      return raw;
  }
}

uint32_t flags_mask(const ValueType& type) {
  return type.labels.size() >= 32 ? 0xffffffffu : (1u << type.labels.size()) - 1;
}

bool is_byte(const ValueType& element) {
  return element.kind == ValueKind::kU8 || element.kind == ValueKind::kS8;
}

// ---- strings ------------------------------------------------------------------------

Val load_string_from_range(const CanonContext& cx, uint32_t ptr, uint32_t units) {
  uint32_t alignment = 1;
  uint64_t bytes = units;
  enum { kUtf8, kUtf16, kLatin1 } encoding = kUtf8;
  switch (cx.encoding) {
    case StringEncoding::kUtf8:
      break;
    case StringEncoding::kUtf16:
      alignment = 2, bytes = 2ull * units, encoding = kUtf16;
      break;
    case StringEncoding::kLatin1Utf16:
      alignment = 2;
      if (units & kUtf16Tag) {
        bytes = 2ull * (units ^ kUtf16Tag), encoding = kUtf16;
      } else {
        encoding = kLatin1;
      }
      break;
  }
  if (bytes > kMaxStringBytes) trap("string of " + std::to_string(bytes) + " bytes is too long");
  check_aligned(ptr, alignment, "string");
  check_range(cx, ptr, bytes, "string");
  const uint8_t* data = memory(cx).data() + ptr;
  Val out = Val::string("");
  switch (encoding) {
    case kUtf8:
      out.bytes.assign(reinterpret_cast<const char*>(data), bytes);
      if (!valid_utf8(out.bytes)) trap("string is not valid UTF-8");
      break;
    case kUtf16: {
      auto text = utf16_to_utf8({data, static_cast<size_t>(bytes)});
      if (!text) trap("string is not valid UTF-16");
      out.bytes = std::move(*text);
      break;
    }
    case kLatin1:
      for (uint64_t i = 0; i < bytes; ++i)
        append_utf8(out.bytes, data[i]);
      break;
  }
  return out;
}

// Returns (pointer, tagged code units).
std::pair<uint32_t, uint32_t> store_string_into_range(const CanonContext& cx,
                                                      const std::string& text) {
  if (!valid_utf8(text)) trap("host string is not valid UTF-8");
  if (text.size() > kMaxStringBytes) trap("string too long");
  if (cx.encoding == StringEncoding::kUtf8) {
    const auto size = static_cast<uint32_t>(text.size());
    const uint32_t ptr = allocate(cx, 1, size);
    std::memcpy(memory(cx).data() + ptr, text.data(), size);
    return {ptr, size};
  }
  const std::vector<char32_t> code_points = decode_utf8(text);
  bool latin1 = cx.encoding == StringEncoding::kLatin1Utf16;
  for (char32_t cp : code_points)
    latin1 = latin1 && cp < 0x100;
  if (latin1) {
    const auto size = static_cast<uint32_t>(code_points.size());
    const uint32_t ptr = allocate(cx, 2, size);
    uint8_t* out = memory(cx).data() + ptr;
    for (size_t i = 0; i < code_points.size(); ++i)
      out[i] = static_cast<uint8_t>(code_points[i]);
    return {ptr, size};
  }
  std::vector<uint16_t> units;
  units.reserve(code_points.size());
  for (char32_t cp : code_points) {
    if (cp >= 0x10000) {
      units.push_back(static_cast<uint16_t>(0xd800 + ((cp - 0x10000) >> 10)));
      units.push_back(static_cast<uint16_t>(0xdc00 + ((cp - 0x10000) & 0x3ff)));
    } else {
      units.push_back(static_cast<uint16_t>(cp));
    }
  }
  const auto count = static_cast<uint32_t>(units.size());
  const uint32_t ptr = allocate(cx, 2, 2 * count);
  uint8_t* out = memory(cx).data() + ptr;
  for (uint32_t i = 0; i < count; ++i) {
    out[2 * i] = static_cast<uint8_t>(units[i]);
    out[2 * i + 1] = static_cast<uint8_t>(units[i] >> 8);
  }
  return {ptr, cx.encoding == StringEncoding::kLatin1Utf16 ? count | kUtf16Tag : count};
}

// ---- lists ----------------------------------------------------------------------------

Val load_list_from_range(const CanonContext& cx, uint32_t ptr, uint32_t length,
                         const ValueType& element) {
  const uint64_t element_size = size(element);
  const uint64_t bytes = element_size * length;
  if (bytes > kMaxListBytes) trap("list of " + std::to_string(bytes) + " bytes is too long");
  check_elements(cx, ptr, length, element, "list");
  if (is_byte(element)) {
    return Val::byte_list(
        std::string(reinterpret_cast<const char*>(memory(cx).data() + ptr), length));
  }
  std::vector<Val> items;
  items.reserve(length);
  for (uint32_t i = 0; i < length; ++i) {
    items.push_back(load(cx, ptr + i * static_cast<uint32_t>(element_size), element));
  }
  return Val::list(std::move(items));
}

size_t list_length(const Val& value, const ValueType& element) {
  return is_byte(element) && value.items.empty() ? value.bytes.size() : value.items.size();
}

void store_list_elements(const CanonContext& cx, const Val& value, const ValueType& element,
                         uint32_t ptr) {
  if (is_byte(element) && value.items.empty()) {
    std::memcpy(memory(cx).data() + ptr, value.bytes.data(), value.bytes.size());
    return;
  }
  const uint32_t element_size = size(element);
  for (size_t i = 0; i < value.items.size(); ++i) {
    store(cx, value.items[i], element, ptr + static_cast<uint32_t>(i) * element_size);
  }
}

// Returns (pointer, length).
std::pair<uint32_t, uint32_t> store_list_into_range(const CanonContext& cx, const Val& value,
                                                    const ValueType& element) {
  const uint64_t length = list_length(value, element);
  const uint64_t bytes = length * size(element);
  if (bytes > kMaxListBytes) trap("list too long");
  const uint32_t ptr = allocate(cx, alignment(element), static_cast<uint32_t>(bytes));
  store_list_elements(cx, value, element, ptr);
  return {ptr, static_cast<uint32_t>(length)};
}

// ---- handles --------------------------------------------------------------------------

// The guest's handle `index`, which must be of `type`'s resource.
HandleEntry& handle_of(const CanonContext& cx, uint32_t index, const ValueType& type) {
  HandleEntry* entry = cx.handles->get(index);
  if (entry == nullptr) trap("unknown handle " + std::to_string(index));
  if (entry->resource != type.resource.get()) {
    trap("handle " + std::to_string(index) + " is of another resource type");
  }
  return *entry;
}

Val lift_own(const CanonContext& cx, uint32_t index, const ValueType& type) {
  const HandleEntry& entry = handle_of(cx, index, type);
  if (!entry.own)
    trap("handle " + std::to_string(index) + " is borrowed; an owned handle is required");
  if (entry.lends != 0) trap("handle " + std::to_string(index) + " is still lent out");
  const uint32_t rep = entry.rep;
  cx.handles->remove(index);
  return Val::own(rep);
}

Val lift_borrow(const CanonContext& cx, uint32_t index, const ValueType& type) {
  return Val::borrow(handle_of(cx, index, type).rep);
}

uint32_t lower_handle(const CanonContext& cx, const Val& value, const ValueType& type) {
  const bool own = type.kind == ValueKind::kOwn;
  const auto rep = static_cast<uint32_t>(value.bits);
  // A component borrowing its own resource gets the representation itself.
  if (!own && type.resource->owner != nullptr && type.resource->owner == cx.component) return rep;
  auto index = cx.handles->add(HandleEntry{type.resource.get(), rep, own, 0, !own});
  if (!index) trap("the handle table is full");
  if (!own) ++cx.handles->outstanding_borrows;
  return *index;
}

// Host values must be of the kind the type says, or the guest would read garbage.
void check_kind(const Val& value, const ValueType& type) {
  if (value.kind != type.kind) {
    trap(std::string("host value is a ") + to_string(value.kind) + " where the type is a " +
         to_string(type.kind));
  }
}

// ---- type helpers -----------------------------------------------------------------------

const Val& field(const Val& value, size_t i, size_t count) {
  if (value.items.size() != count) {
    trap("host value has " + std::to_string(value.items.size()) + " fields where the type has " +
         std::to_string(count));
  }
  return value.items[i];
}

// Checks a host-provided case value against the type's cases; returns the case index.
uint32_t checked_case(const Val& value, const ValueType& type) {
  const uint64_t index = value.bits;
  const size_t cases = case_count(type);
  if (index >= cases)
    trap("host value names case " + std::to_string(index) + " of " + std::to_string(cases));
  if ((case_payload(type, index) != nullptr) != !value.items.empty()) {
    trap("host value's payload does not match case " + std::to_string(index));
  }
  return static_cast<uint32_t>(index);
}

std::shared_ptr<ValueType> tuple_of(const FunctionType& type) {
  auto tuple = std::make_shared<ValueType>();
  tuple->kind = ValueKind::kTuple;
  for (const auto& p : type.params)
    tuple->types.push_back(p.second);
  return tuple;
}

RawValue coerce(RawValue value, CoreKind have, CoreKind want) {
  if (have == want) return value;
  if (have == CoreKind::kI64 && want == CoreKind::kI32)
    return RawValue::from_i32(static_cast<int32_t>(value.i64));
  if (have == CoreKind::kI32 && want == CoreKind::kF32) return RawValue::from_i32(value.i32);
  if (have == CoreKind::kI64 && want == CoreKind::kF32) {
    return RawValue::from_i32(static_cast<int32_t>(value.i64));
  }
  return value;  // i64 holding f64 bits: same bytes
}

}  // namespace

// ---- FlatReader -------------------------------------------------------------------------

RawValue FlatReader::next(CoreKind want) {
  if (index_ >= values_.size()) trap("too few core values for the type being lifted");
  const CoreKind have = index_ < types_.size() ? types_[index_] : want;
  return coerce(values_[index_++], have, want);
}

// ---- load / store -----------------------------------------------------------------------

Val load(const CanonContext& cx, uint32_t ptr, const ValueType& type) {
  Val out;
  out.kind = type.kind;
  switch (type.kind) {
    case ValueKind::kBool:
      out.bits = read<uint8_t>(cx, ptr) != 0;
      return out;
    case ValueKind::kU8:
    case ValueKind::kS8:
    case ValueKind::kU16:
    case ValueKind::kS16:
    case ValueKind::kU32:
    case ValueKind::kS32:
    case ValueKind::kU64:
    case ValueKind::kS64:
      out.bits = integer_of(type.kind, read_uint(cx, ptr, size(type)));
      return out;
    case ValueKind::kF32:
      out.number = canonical_f32(read<float>(cx, ptr));
      return out;
    case ValueKind::kF64:
      out.number = canonical_f64(read<double>(cx, ptr));
      return out;
    case ValueKind::kChar:
      out.bits = to_char(read<uint32_t>(cx, ptr));
      return out;
    case ValueKind::kString:
      return load_string_from_range(cx, read<uint32_t>(cx, ptr), read<uint32_t>(cx, ptr + 4));
    case ValueKind::kList: {
      const ValueType& element = *type.types[0];
      if (!type.fixed_length) {
        return load_list_from_range(cx, read<uint32_t>(cx, ptr), read<uint32_t>(cx, ptr + 4),
                                    element);
      }
      std::vector<Val> items;
      for (uint32_t i = 0; i < *type.fixed_length; ++i)
        items.push_back(load(cx, ptr + i * size(element), element));
      return Val::list(std::move(items));
    }
    case ValueKind::kRecord:
    case ValueKind::kTuple:
      for (const auto& f : type.types) {
        ptr = align_to(ptr, alignment(*f));
        out.items.push_back(load(cx, ptr, *f));
        ptr += size(*f);
      }
      return out;
    case ValueKind::kVariant:
    case ValueKind::kEnum:
    case ValueKind::kOption:
    case ValueKind::kResult: {
      const size_t cases = case_count(type);
      const uint64_t index = read_uint(cx, ptr, discriminant_size(cases));
      if (index >= cases)
        trap("invalid discriminant " + std::to_string(index) + " for " + std::to_string(cases) +
             " cases");
      out.bits = index;
      if (const ValueType* payload = case_payload(type, index))
        out.items.push_back(load(cx, ptr + payload_offset(type), *payload));
      return out;
    }
    case ValueKind::kFlags:
      out.bits = read_uint(cx, ptr, size(type)) & flags_mask(type);
      return out;
    case ValueKind::kOwn:
      return lift_own(cx, read<uint32_t>(cx, ptr), type);
    case ValueKind::kBorrow:
      return lift_borrow(cx, read<uint32_t>(cx, ptr), type);
    case ValueKind::kStream:
    case ValueKind::kFuture:
      return lift_channel(cx, read<uint32_t>(cx, ptr), type);
    case ValueKind::kErrorContext:
      return lift_error_context(cx, read<uint32_t>(cx, ptr));
    default:
      trap("values of this type (map) cannot cross yet");
  }
}

void store(const CanonContext& cx, const Val& value, const ValueType& type, uint32_t ptr) {
  check_kind(value, type);
  switch (type.kind) {
    case ValueKind::kBool:
      return write<uint8_t>(cx, ptr, value.bits != 0);
    case ValueKind::kU8:
    case ValueKind::kS8:
    case ValueKind::kU16:
    case ValueKind::kS16:
    case ValueKind::kU32:
    case ValueKind::kS32:
    case ValueKind::kU64:
    case ValueKind::kS64:
      return write_uint(cx, ptr, value.bits, size(type));
    case ValueKind::kF32:
      return write<float>(cx, ptr, static_cast<float>(value.number));
    case ValueKind::kF64:
      return write<double>(cx, ptr, value.number);
    case ValueKind::kChar:
      return write<uint32_t>(cx, ptr,
                             static_cast<uint32_t>(to_char(static_cast<uint32_t>(value.bits))));
    case ValueKind::kString: {
      check_range(cx, ptr, 8, "a string");
      auto [begin, units] = store_string_into_range(cx, value.bytes);
      write<uint32_t>(cx, ptr, begin);
      return write<uint32_t>(cx, ptr + 4, units);
    }
    case ValueKind::kList: {
      const ValueType& element = *type.types[0];
      if (type.fixed_length) {
        if (list_length(value, element) != *type.fixed_length)
          trap("host list has the wrong length");
        check_range(cx, ptr, size(type), "a list");
        return store_list_elements(cx, value, element, ptr);
      }
      check_range(cx, ptr, 8, "a list");
      auto [begin, length] = store_list_into_range(cx, value, element);
      write<uint32_t>(cx, ptr, begin);
      return write<uint32_t>(cx, ptr + 4, length);
    }
    case ValueKind::kRecord:
    case ValueKind::kTuple:
      for (size_t i = 0; i < type.types.size(); ++i) {
        ptr = align_to(ptr, alignment(*type.types[i]));
        store(cx, field(value, i, type.types.size()), *type.types[i], ptr);
        ptr += size(*type.types[i]);
      }
      return;
    case ValueKind::kVariant:
    case ValueKind::kEnum:
    case ValueKind::kOption:
    case ValueKind::kResult: {
      const uint32_t index = checked_case(value, type);
      write_uint(cx, ptr, index, discriminant_size(case_count(type)));
      if (const ValueType* payload = case_payload(type, index))
        store(cx, value.items[0], *payload, ptr + payload_offset(type));
      return;
    }
    case ValueKind::kFlags:
      return write_uint(cx, ptr, value.bits & flags_mask(type), size(type));
    case ValueKind::kOwn:
    case ValueKind::kBorrow:
      return write<uint32_t>(cx, ptr, lower_handle(cx, value, type));
    case ValueKind::kStream:
    case ValueKind::kFuture:
      return write<uint32_t>(cx, ptr, lower_channel(cx, value, type));
    case ValueKind::kErrorContext:
      return write<uint32_t>(cx, ptr, lower_error_context(cx, value));
    default:
      trap("values of this type (map) cannot cross yet");
  }
}

// ---- flat lifting and lowering ----------------------------------------------------------

Val lift_flat(const CanonContext& cx, FlatReader& reader, const ValueType& type) {
  Val out;
  out.kind = type.kind;
  switch (type.kind) {
    case ValueKind::kBool:
      out.bits = reader.next(CoreKind::kI32).i32 != 0;
      return out;
    case ValueKind::kU8:
    case ValueKind::kS8:
    case ValueKind::kU16:
    case ValueKind::kS16:
    case ValueKind::kU32:
    case ValueKind::kS32:
      out.bits = integer_of(type.kind, static_cast<uint32_t>(reader.next(CoreKind::kI32).i32));
      return out;
    case ValueKind::kU64:
    case ValueKind::kS64:
      out.bits = static_cast<uint64_t>(reader.next(CoreKind::kI64).i64);
      return out;
    case ValueKind::kFlags:
      out.bits = static_cast<uint32_t>(reader.next(CoreKind::kI32).i32) & flags_mask(type);
      return out;
    case ValueKind::kF32:
      out.number = canonical_f32(reader.next(CoreKind::kF32).f32);
      return out;
    case ValueKind::kF64:
      out.number = canonical_f64(reader.next(CoreKind::kF64).f64);
      return out;
    case ValueKind::kChar:
      out.bits = to_char(static_cast<uint32_t>(reader.next(CoreKind::kI32).i32));
      return out;
    case ValueKind::kString: {
      const auto ptr = static_cast<uint32_t>(reader.next(CoreKind::kI32).i32);
      const auto units = static_cast<uint32_t>(reader.next(CoreKind::kI32).i32);
      return load_string_from_range(cx, ptr, units);
    }
    case ValueKind::kList: {
      const ValueType& element = *type.types[0];
      if (!type.fixed_length) {
        const auto ptr = static_cast<uint32_t>(reader.next(CoreKind::kI32).i32);
        const auto length = static_cast<uint32_t>(reader.next(CoreKind::kI32).i32);
        return load_list_from_range(cx, ptr, length, element);
      }
      for (uint32_t i = 0; i < *type.fixed_length; ++i)
        out.items.push_back(lift_flat(cx, reader, element));
      return out;
    }
    case ValueKind::kRecord:
    case ValueKind::kTuple:
      for (const auto& f : type.types)
        out.items.push_back(lift_flat(cx, reader, *f));
      return out;
    case ValueKind::kVariant:
    case ValueKind::kEnum:
    case ValueKind::kOption:
    case ValueKind::kResult: {
      const auto joined = flat_types(type);
      const size_t cases = case_count(type);
      const auto index = static_cast<uint32_t>(reader.next(CoreKind::kI32).i32);
      if (index >= cases)
        trap("invalid discriminant " + std::to_string(index) + " for " + std::to_string(cases) +
             " cases");
      out.bits = index;
      // The payload's values, as the joined types stored them, read back as the case's.
      // Flat values are at most 16 (MAX_FLAT_PARAMS), else they travel in memory.
      const size_t count = joined.size() - 1;
      RawValue small[16];
      std::vector<RawValue> large(count > std::size(small) ? count : 0);
      const std::span<RawValue> payload =
          large.empty() ? std::span<RawValue>(small, count) : std::span<RawValue>(large);
      for (size_t i = 0; i < count; ++i)
        payload[i] = reader.next(joined[i + 1]);
      if (const ValueType* case_type = case_payload(type, index)) {
        FlatReader inner(payload, joined.subspan(1));
        out.items.push_back(lift_flat(cx, inner, *case_type));
      }
      return out;
    }
    case ValueKind::kOwn:
      return lift_own(cx, static_cast<uint32_t>(reader.next(CoreKind::kI32).i32), type);
    case ValueKind::kBorrow:
      return lift_borrow(cx, static_cast<uint32_t>(reader.next(CoreKind::kI32).i32), type);
    case ValueKind::kStream:
    case ValueKind::kFuture:
      return lift_channel(cx, static_cast<uint32_t>(reader.next(CoreKind::kI32).i32), type);
    case ValueKind::kErrorContext:
      return lift_error_context(cx, static_cast<uint32_t>(reader.next(CoreKind::kI32).i32));
    default:
      trap("values of this type (map) cannot cross yet");
  }
}

void lower_flat(const CanonContext& cx, const Val& value, const ValueType& type,
                std::vector<RawValue>& out) {
  check_kind(value, type);
  switch (type.kind) {
    case ValueKind::kBool:
      out.push_back(RawValue::from_i32(value.bits != 0));
      return;
    case ValueKind::kU8:
    case ValueKind::kS8:
    case ValueKind::kU16:
    case ValueKind::kS16:
    case ValueKind::kU32:
    case ValueKind::kS32:
      out.push_back(RawValue::from_i32(static_cast<int32_t>(value.bits)));
      return;
    case ValueKind::kFlags:
      out.push_back(RawValue::from_i32(static_cast<int32_t>(value.bits & flags_mask(type))));
      return;
    case ValueKind::kU64:
    case ValueKind::kS64:
      out.push_back(RawValue::from_i64(static_cast<int64_t>(value.bits)));
      return;
    case ValueKind::kF32:
      out.push_back(RawValue::from_f32(static_cast<float>(value.number)));
      return;
    case ValueKind::kF64:
      out.push_back(RawValue::from_f64(value.number));
      return;
    case ValueKind::kChar:
      out.push_back(
          RawValue::from_i32(static_cast<int32_t>(to_char(static_cast<uint32_t>(value.bits)))));
      return;
    case ValueKind::kString: {
      auto [ptr, units] = store_string_into_range(cx, value.bytes);
      out.push_back(RawValue::from_i32(static_cast<int32_t>(ptr)));
      out.push_back(RawValue::from_i32(static_cast<int32_t>(units)));
      return;
    }
    case ValueKind::kList: {
      const ValueType& element = *type.types[0];
      if (type.fixed_length) {
        if (list_length(value, element) != *type.fixed_length)
          trap("host list has the wrong length");
        for (const Val& item : value.items)
          lower_flat(cx, item, element, out);
        return;
      }
      auto [ptr, length] = store_list_into_range(cx, value, element);
      out.push_back(RawValue::from_i32(static_cast<int32_t>(ptr)));
      out.push_back(RawValue::from_i32(static_cast<int32_t>(length)));
      return;
    }
    case ValueKind::kRecord:
    case ValueKind::kTuple:
      for (size_t i = 0; i < type.types.size(); ++i) {
        lower_flat(cx, field(value, i, type.types.size()), *type.types[i], out);
      }
      return;
    case ValueKind::kVariant:
    case ValueKind::kEnum:
    case ValueKind::kOption:
    case ValueKind::kResult: {
      const auto joined = flat_types(type);
      const uint32_t index = checked_case(value, type);
      out.push_back(RawValue::from_i32(static_cast<int32_t>(index)));
      // The case's own values go in place, then take the joined types, then zeros pad.
      const size_t first = out.size();
      std::span<const CoreKind> have;
      if (const ValueType* case_type = case_payload(type, index)) {
        lower_flat(cx, value.items[0], *case_type, out);
        have = flat_types(*case_type);
      }
      for (size_t i = 1; i < joined.size(); ++i) {
        const CoreKind want = joined[i];
        if (i - 1 >= have.size()) {
          out.push_back(want == CoreKind::kI64 ? RawValue::from_i64(0) : RawValue::from_i32(0));
          continue;
        }
        RawValue& v = out[first + i - 1];
        const CoreKind from = have[i - 1];
        if (from == CoreKind::kI32 && want == CoreKind::kI64) {
          v = RawValue::from_i64(static_cast<uint32_t>(v.i32));
        } else if (from == CoreKind::kF32 && want == CoreKind::kI64) {
          v = RawValue::from_i64(std::bit_cast<uint32_t>(v.f32));
        } else if (from == CoreKind::kF32 && want == CoreKind::kI32) {
          v = RawValue::from_i32(std::bit_cast<int32_t>(v.f32));
        }
      }
      return;
    }
    case ValueKind::kOwn:
    case ValueKind::kBorrow:
      out.push_back(RawValue::from_i32(static_cast<int32_t>(lower_handle(cx, value, type))));
      return;
    case ValueKind::kStream:
    case ValueKind::kFuture:
      out.push_back(RawValue::from_i32(static_cast<int32_t>(lower_channel(cx, value, type))));
      return;
    case ValueKind::kErrorContext:
      out.push_back(RawValue::from_i32(static_cast<int32_t>(lower_error_context(cx, value))));
      return;
    default:
      trap("values of this type (map) cannot cross yet");
  }
}

uint32_t allocate(const CanonContext& cx, uint32_t alignment, uint32_t size) {
  if (!cx.realloc) trap("the canonical option `realloc` is required here but was not given");
  RawValue slots[4] = {RawValue::from_i32(0), RawValue::from_i32(0),
                       RawValue::from_i32(static_cast<int32_t>(alignment)),
                       RawValue::from_i32(static_cast<int32_t>(size))};
  auto called = cx.realloc->call_raw(cx.store, slots);
  cx.forget_memory();
  if (!called) trap("realloc failed: " + called.error().message());
  const auto ptr = static_cast<uint32_t>(slots[0].i32);
  check_aligned(ptr, alignment, "realloc's");
  check_range(cx, ptr, size, "memory from realloc");
  return ptr;
}

// ---- whole signatures -------------------------------------------------------------------

void lift_params(const CanonContext& cx, std::span<const RawValue> flat, const FunctionType& type,
                 const FlatSignature& sig, std::pmr::vector<Val>& out) {
  out.clear();
  if (sig.params_in_memory) {
    auto tuple = tuple_of(type);
    const auto ptr = static_cast<uint32_t>(flat[0].i32);
    check_aligned(ptr, alignment(*tuple), "parameters");
    check_range(cx, ptr, size(*tuple), "parameters");
    Val loaded = load(cx, ptr, *tuple);
    out.assign(std::make_move_iterator(loaded.items.begin()),
               std::make_move_iterator(loaded.items.end()));
    return;
  }
  FlatReader reader(flat, sig.params);
  out.reserve(type.params.size());
  for (const auto& p : type.params)
    out.push_back(lift_flat(cx, reader, *p.second));
}

void lower_params(const CanonContext& cx, std::span<const Val> args, const FunctionType& type,
                  const FlatSignature& sig, std::vector<RawValue>& out) {
  if (args.size() != type.params.size()) {
    trap("expected " + std::to_string(type.params.size()) + " arguments, got " +
         std::to_string(args.size()));
  }
  if (!sig.params_in_memory) {
    for (size_t i = 0; i < args.size(); ++i)
      lower_flat(cx, args[i], *type.params[i].second, out);
    return;
  }
  auto tuple = tuple_of(type);
  const uint32_t ptr = allocate(cx, alignment(*tuple), size(*tuple));
  store(cx, Val::tuple(std::vector<Val>(args.begin(), args.end())), *tuple, ptr);
  out.push_back(RawValue::from_i32(static_cast<int32_t>(ptr)));
}

std::optional<Val> lift_result(const CanonContext& cx, std::span<const RawValue> flat,
                               const FunctionType& type, const FlatSignature& sig) {
  if (!type.result) return std::nullopt;
  if (sig.results_in_memory) {
    const auto ptr = static_cast<uint32_t>(flat[0].i32);
    check_aligned(ptr, alignment(*type.result), "result");
    check_range(cx, ptr, size(*type.result), "result");
    return load(cx, ptr, *type.result);
  }
  FlatReader reader(flat, sig.results);
  return lift_flat(cx, reader, *type.result);
}

void lower_result(const CanonContext& cx, const std::optional<Val>& result,
                  const FunctionType& type, const FlatSignature& sig, std::span<RawValue> slots) {
  if (!type.result) return;
  if (!result) trap("host function returned no value where its type has a result");
  if (sig.results_in_memory) {
    const auto ptr = static_cast<uint32_t>(slots[sig.params.size() - 1].i32);
    check_aligned(ptr, alignment(*type.result), "result");
    check_range(cx, ptr, size(*type.result), "result");
    store(cx, *result, *type.result, ptr);
    return;
  }
  std::vector<RawValue> flat;
  lower_flat(cx, *result, *type.result, flat);
  slots[0] = flat[0];
}

}  // namespace gyre::component
