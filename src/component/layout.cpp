#include "component/layout.hpp"

#include <algorithm>

namespace gyre::component {
namespace {

// The largest alignment of a variant-like type's case payloads: an enum has none, an
// option its one, a variant or result one per case (or null).
uint32_t max_case_alignment(const ValueType& type) {
  uint32_t a = 1;
  if (type.kind == ValueKind::kEnum) return a;
  for (const auto& c : type.types) {
    if (c) a = std::max(a, alignment(*c));
  }
  return a;
}

CoreKind join(CoreKind a, CoreKind b) {
  if (a == b) return a;
  if ((a == CoreKind::kI32 && b == CoreKind::kF32) ||
      (a == CoreKind::kF32 && b == CoreKind::kI32)) {
    return CoreKind::kI32;
  }
  return CoreKind::kI64;
}

bool variant_like(ValueKind kind) {
  return kind == ValueKind::kVariant || kind == ValueKind::kEnum || kind == ValueKind::kOption ||
         kind == ValueKind::kResult;
}

}  // namespace

uint32_t compute_alignment(const ValueType& type);
uint32_t compute_size(const ValueType& type);

uint32_t discriminant_size(size_t cases) {
  if (cases <= 0x100) return 1;
  if (cases <= 0x10000) return 2;
  return 4;
}

size_t case_count(const ValueType& type) {
  switch (type.kind) {
    case ValueKind::kEnum:
      return type.labels.size();
    case ValueKind::kOption:
      return 2;
    default:
      return type.types.size();
  }
}

const ValueType* case_payload(const ValueType& type, size_t index) {
  switch (type.kind) {
    case ValueKind::kEnum:
      return nullptr;
    case ValueKind::kOption:
      return index == 0 ? nullptr : type.types[0].get();
    default:
      return type.types[index].get();
  }
}

// Bytes of the fixed-size scalars (where size and alignment agree); 0 for the rest.
uint32_t scalar_bytes(const ValueType& type) {
  switch (type.kind) {
    case ValueKind::kBool:
    case ValueKind::kS8:
    case ValueKind::kU8:
      return 1;
    case ValueKind::kS16:
    case ValueKind::kU16:
      return 2;
    case ValueKind::kS64:
    case ValueKind::kU64:
    case ValueKind::kF64:
      return 8;
    case ValueKind::kFlags:
      return type.labels.size() <= 8 ? 1 : type.labels.size() <= 16 ? 2 : 4;
    case ValueKind::kS32:
    case ValueKind::kU32:
    case ValueKind::kF32:
    case ValueKind::kChar:
    case ValueKind::kErrorContext:
    case ValueKind::kOwn:
    case ValueKind::kBorrow:
    case ValueKind::kStream:
    case ValueKind::kFuture:
      return 4;
    default:
      return 0;
  }
}

uint32_t alignment(const ValueType& type) {
  if (uint32_t bytes = scalar_bytes(type)) return bytes;
  if (uint32_t known = type.layout.alignment.load(std::memory_order_relaxed)) return known;
  const uint32_t computed = compute_alignment(type);
  type.layout.alignment.store(computed, std::memory_order_relaxed);
  return computed;
}

uint32_t size(const ValueType& type) {
  if (uint32_t bytes = scalar_bytes(type)) return bytes;
  if (type.layout.size_known.load(std::memory_order_acquire))
    return type.layout.size.load(std::memory_order_relaxed);
  const uint32_t computed = compute_size(type);
  type.layout.size.store(computed, std::memory_order_relaxed);
  type.layout.size_known.store(true, std::memory_order_release);
  return computed;
}

uint32_t compute_alignment(const ValueType& type) {
  switch (type.kind) {
    case ValueKind::kList:
      return type.fixed_length ? alignment(*type.types[0]) : 4;
    case ValueKind::kRecord:
    case ValueKind::kTuple: {
      uint32_t a = 1;
      for (const auto& f : type.types)
        a = std::max(a, alignment(*f));
      return a;
    }
    case ValueKind::kVariant:
    case ValueKind::kEnum:
    case ValueKind::kOption:
    case ValueKind::kResult: {
      return std::max(discriminant_size(case_count(type)), max_case_alignment(type));
    }
    default:  // string and map: two 32-bit words
      return 4;
  }
}

uint32_t payload_offset(const ValueType& type) {
  return align_to(discriminant_size(case_count(type)), max_case_alignment(type));
}

uint32_t compute_size(const ValueType& type) {
  switch (type.kind) {
    case ValueKind::kString:
    case ValueKind::kMap:
      return 8;
    case ValueKind::kList:
      return type.fixed_length ? *type.fixed_length * size(*type.types[0]) : 8;
    case ValueKind::kRecord:
    case ValueKind::kTuple: {
      uint32_t s = 0;
      for (const auto& f : type.types)
        s = align_to(s, alignment(*f)) + size(*f);
      return align_to(s, alignment(type));
    }
    case ValueKind::kVariant:
    case ValueKind::kEnum:
    case ValueKind::kOption:
    case ValueKind::kResult: {
      uint32_t largest = 0;
      if (type.kind != ValueKind::kEnum) {
        for (const auto& c : type.types) {
          if (c) largest = std::max(largest, size(*c));
        }
      }
      return align_to(payload_offset(type) + largest, alignment(type));
    }
    default:
      return 4;
  }
}

void flatten(const ValueType& type, std::vector<CoreKind>& out) {
  switch (type.kind) {
    case ValueKind::kS64:
    case ValueKind::kU64:
      out.push_back(CoreKind::kI64);
      return;
    case ValueKind::kF32:
      out.push_back(CoreKind::kF32);
      return;
    case ValueKind::kF64:
      out.push_back(CoreKind::kF64);
      return;
    case ValueKind::kString:
    case ValueKind::kMap:
      out.insert(out.end(), {CoreKind::kI32, CoreKind::kI32});
      return;
    case ValueKind::kList:
      if (type.fixed_length) {
        for (uint32_t i = 0; i < *type.fixed_length; ++i)
          flatten(*type.types[0], out);
      } else {
        out.insert(out.end(), {CoreKind::kI32, CoreKind::kI32});
      }
      return;
    case ValueKind::kRecord:
    case ValueKind::kTuple:
      for (const auto& f : type.types)
        flatten(*f, out);
      return;
    default:
      if (!variant_like(type.kind)) {
        out.push_back(CoreKind::kI32);
        return;
      }
  }
  const auto flat = flat_types(type);
  out.insert(out.end(), flat.begin(), flat.end());
}

std::span<const CoreKind> flat_types(const ValueType& type) {
  std::call_once(type.layout.flat_once, [&] {
    std::vector<CoreKind> out;
    if (!variant_like(type.kind)) {
      flatten(type, out);
    } else {
      // Variants: the discriminant, then the element-wise join of every case's flattening.
      std::vector<CoreKind> joined;
      for (size_t c = 0; c < case_count(type); ++c) {
        const ValueType* payload = case_payload(type, c);
        if (!payload) continue;
        const auto flat = flat_types(*payload);
        for (size_t i = 0; i < flat.size(); ++i) {
          if (i < joined.size()) {
            joined[i] = join(joined[i], flat[i]);
          } else {
            joined.push_back(flat[i]);
          }
        }
      }
      out.push_back(CoreKind::kI32);
      out.insert(out.end(), joined.begin(), joined.end());
    }
    type.layout.flat = std::move(out);
  });
  return type.layout.flat;
}

std::vector<CoreKind> flatten(const std::vector<ValueTypePtr>& types) {
  std::vector<CoreKind> out;
  for (const auto& t : types)
    flatten(*t, out);
  return out;
}

FlatSignature flatten_function(const FunctionType& type, AbiContext context) {
  FlatSignature sig;
  std::vector<ValueTypePtr> params;
  for (const auto& p : type.params)
    params.push_back(p.second);
  sig.params = flatten(params);
  if (type.result) flatten(*type.result, sig.results);
  if (context == AbiContext::kAsyncLower) {
    if (sig.params.size() > kMaxFlatAsyncParams) {
      sig.params = {CoreKind::kI32};
      sig.params_in_memory = true;
    }
    sig.results_in_memory = type.result != nullptr;
    if (sig.results_in_memory) sig.params.push_back(CoreKind::kI32);
    sig.results = {CoreKind::kI32};
    return sig;
  }
  if (sig.params.size() > kMaxFlatParams) {
    sig.params = {CoreKind::kI32};
    sig.params_in_memory = true;
  }
  if (context == AbiContext::kAsyncLift) {
    sig.results.clear();
    return sig;
  }
  if (sig.results.size() > kMaxFlatResults) {
    sig.results_in_memory = true;
    if (context == AbiContext::kLift) {
      sig.results = {CoreKind::kI32};
    } else {
      sig.params.push_back(CoreKind::kI32);
      sig.results.clear();
    }
  }
  return sig;
}

}  // namespace gyre::component
