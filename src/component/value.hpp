// A component value on the host side of the generic (dynamic) call path: what a host
// function receives and returns when it is not bound through typed C++ signatures.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "component/types.hpp"

namespace gyre::component {

struct Val {
  ValueKind kind = ValueKind::kBool;
  // bool, integers (two's complement), char (code point), flags (bit set), enum and
  // variant-like case index, resource handle rep.
  uint64_t bits = 0;
  double number = 0;  // f32 and f64
  // string (UTF-8), and the bytes of list<u8> / list<s8>: never one Val per byte.
  std::string bytes;
  // list elements, tuple and record fields in order, a variant-like payload (0 or 1).
  std::vector<Val> items;

  static Val boolean(bool v) { return scalar(ValueKind::kBool, v); }
  static Val u8(uint8_t v) { return scalar(ValueKind::kU8, v); }
  static Val u16(uint16_t v) { return scalar(ValueKind::kU16, v); }
  static Val u32(uint32_t v) { return scalar(ValueKind::kU32, v); }
  static Val u64(uint64_t v) { return scalar(ValueKind::kU64, v); }
  static Val s8(int8_t v) { return scalar(ValueKind::kS8, static_cast<uint64_t>(int64_t{v})); }
  static Val s16(int16_t v) { return scalar(ValueKind::kS16, static_cast<uint64_t>(int64_t{v})); }
  static Val s32(int32_t v) { return scalar(ValueKind::kS32, static_cast<uint64_t>(int64_t{v})); }
  static Val s64(int64_t v) { return scalar(ValueKind::kS64, static_cast<uint64_t>(v)); }
  static Val f32(float v) { return real(ValueKind::kF32, v); }
  static Val f64(double v) { return real(ValueKind::kF64, v); }
  static Val character(char32_t v) { return scalar(ValueKind::kChar, v); }
  static Val string(std::string v) {
    Val out = scalar(ValueKind::kString, 0);
    out.bytes = std::move(v);
    return out;
  }
  static Val byte_list(std::string v) {
    Val out = scalar(ValueKind::kList, 0);
    out.bytes = std::move(v);
    return out;
  }
  static Val list(std::vector<Val> v) { return aggregate(ValueKind::kList, std::move(v)); }
  static Val tuple(std::vector<Val> v) { return aggregate(ValueKind::kTuple, std::move(v)); }
  static Val record(std::vector<Val> v) { return aggregate(ValueKind::kRecord, std::move(v)); }
  static Val flags(uint32_t bits) { return scalar(ValueKind::kFlags, bits); }
  static Val enumeration(uint32_t index) { return scalar(ValueKind::kEnum, index); }
  static Val variant(uint32_t index, std::optional<Val> payload = std::nullopt) {
    return cased(ValueKind::kVariant, index, std::move(payload));
  }
  static Val none() { return cased(ValueKind::kOption, 0, std::nullopt); }
  static Val some(Val v) { return cased(ValueKind::kOption, 1, std::move(v)); }
  static Val ok(std::optional<Val> v = std::nullopt) {
    return cased(ValueKind::kResult, 0, std::move(v));
  }
  static Val err(std::optional<Val> v = std::nullopt) {
    return cased(ValueKind::kResult, 1, std::move(v));
  }
  // The readable end of a stream or future the host writes: the values it delivers.
  static Val stream(std::vector<Val> values) {
    return aggregate(ValueKind::kStream, std::move(values));
  }
  static Val future(std::optional<Val> value) {
    return cased(ValueKind::kFuture, 0, std::move(value));
  }
  static Val own(uint32_t rep) { return scalar(ValueKind::kOwn, rep); }
  static Val borrow(uint32_t rep) { return scalar(ValueKind::kBorrow, rep); }

  int64_t as_signed() const { return static_cast<int64_t>(bits); }
  const Val* payload() const { return items.empty() ? nullptr : &items[0]; }

  bool operator==(const Val&) const = default;

 private:
  static Val scalar(ValueKind kind, uint64_t bits) {
    Val v;
    v.kind = kind;
    v.bits = bits;
    return v;
  }
  static Val real(ValueKind kind, double number) {
    Val v;
    v.kind = kind;
    v.number = number;
    return v;
  }
  static Val aggregate(ValueKind kind, std::vector<Val> items) {
    Val v;
    v.kind = kind;
    v.items = std::move(items);
    return v;
  }
  static Val cased(ValueKind kind, uint32_t index, std::optional<Val> payload) {
    Val v = scalar(kind, index);
    if (payload) v.items.push_back(std::move(*payload));
    return v;
  }
};

}  // namespace gyre::component
