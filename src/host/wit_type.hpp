// How a C++ type stands for a WIT type in a host function's signature: which component
// types it matches (checked when a component links), and how a component value converts
// to and from it. Specialise WitType<T> for more types; records, enums and flags are
// declared with the traits below.
//
//   bool int8_t..uint64_t float double char32_t   bool s8..u64 f32 f64 char
//   std::string (result) / std::string_view (arg)   string
//   std::vector<uint8_t> / Bytes (arg)              list<u8>
//   std::vector<T>                                  list<T>
//   std::optional<T>                                option<T>
//   host::Result<T, E>                              result<T, E> (Unit for no payload)
//   std::tuple<T...>                                tuple<T...>
//   a struct with RecordFields                      record
//   an enum with EnumLabels                         enum
//   host::Own<R> / host::Borrow<R>                  own<r> / borrow<r> (resources.hpp)
//   host::Stream<T> / host::Future<T> (results)      stream<T> / future<T> (Unit: none)
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "base/byte_copy.hpp"
#include "component/instance.hpp"
#include "component/types.hpp"
#include "component/value.hpp"

namespace gyre::host {

using component::Val;
using component::ValueKind;
using component::ValueType;

// What conversions may need beyond the value: the instance (for resource tables).
struct Context {
  component::ComponentInstance& instance;
};

// Thrown by conversions when a value does not have the shape its type promised; the
// call traps with the message.
struct ConversionError {
  std::string message;
};

// A payload-less result case.
struct Unit {
  bool operator==(const Unit&) const = default;
};

// result<T, E>: either an ok value or an error value.
template <class T, class E>
struct Result {
  std::variant<T, E> value;
  static Result ok(T v) { return Result{std::variant<T, E>(std::in_place_index<0>, std::move(v))}; }
  static Result err(E e) {
    return Result{std::variant<T, E>(std::in_place_index<1>, std::move(e))};
  }
  bool is_ok() const { return value.index() == 0; }
};

// stream<T> and future<T> a host function returns: what the guest will read from them,
// all made before the function returns (fed to the guest by component/concurrency/
// channel.hpp's feed).
template <class T>
struct Stream {
  std::vector<T> values;
};
template <class T>
struct Future {
  T value;
};

// list<u8> arguments: a view of the bytes, valid during the call.
using Bytes = std::span<const uint8_t>;

// Declare a struct as a record: a tuple of (label, member pointer) in field order.
//   template <> struct RecordFields<Point> {
//     static constexpr auto fields = std::make_tuple(std::pair{"x", &Point::x}, ...);
//   };
template <class T>
struct RecordFields;

// Declare an enum as a WIT enum: its labels, in the order of its values 0, 1, 2, ...
template <class T>
struct EnumLabels;

// Declare a struct whose `value` member is a std::variant as a WIT variant: its case
// labels, in the order of the std::variant's alternatives (Unit for no payload).
template <class T>
struct VariantLabels;

template <class T, class = void>
struct WitType;

// ---- primitives ---------------------------------------------------------------------

template <class T, ValueKind K>
struct Scalar {
  static bool matches(const ValueType& t) { return t.kind == K; }
  static T from(const Val& v, Context&) {
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      return static_cast<T>(v.number);
    } else {
      return static_cast<T>(v.bits);
    }
  }
  static Val to(T v, Context&) {
    Val out;
    out.kind = K;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      out.number = v;
    } else if constexpr (std::is_signed_v<T>) {
      out.bits = static_cast<uint64_t>(static_cast<int64_t>(v));
    } else {
      out.bits = static_cast<uint64_t>(v);
    }
    return out;
  }
};

template <>
struct WitType<bool> : Scalar<bool, ValueKind::kBool> {};
template <>
struct WitType<int8_t> : Scalar<int8_t, ValueKind::kS8> {};
template <>
struct WitType<uint8_t> : Scalar<uint8_t, ValueKind::kU8> {};
template <>
struct WitType<int16_t> : Scalar<int16_t, ValueKind::kS16> {};
template <>
struct WitType<uint16_t> : Scalar<uint16_t, ValueKind::kU16> {};
template <>
struct WitType<int32_t> : Scalar<int32_t, ValueKind::kS32> {};
template <>
struct WitType<uint32_t> : Scalar<uint32_t, ValueKind::kU32> {};
template <>
struct WitType<int64_t> : Scalar<int64_t, ValueKind::kS64> {};
template <>
struct WitType<uint64_t> : Scalar<uint64_t, ValueKind::kU64> {};
template <>
struct WitType<float> : Scalar<float, ValueKind::kF32> {};
template <>
struct WitType<double> : Scalar<double, ValueKind::kF64> {};
template <>
struct WitType<char32_t> : Scalar<char32_t, ValueKind::kChar> {};

template <>
struct WitType<std::string> {
  static bool matches(const ValueType& t) { return t.kind == ValueKind::kString; }
  static std::string from(const Val& v, Context&) { return v.bytes; }
  static Val to(std::string v, Context&) { return Val::string(std::move(v)); }
};

// Views into the lifted value: valid for the duration of the call.
template <>
struct WitType<std::string_view> {
  static bool matches(const ValueType& t) { return t.kind == ValueKind::kString; }
  static std::string_view from(const Val& v, Context&) { return v.bytes; }
};

inline bool is_byte_list(const ValueType& t) {
  return t.kind == ValueKind::kList && !t.fixed_length && t.types[0]->kind == ValueKind::kU8;
}

template <>
struct WitType<Bytes> {
  static bool matches(const ValueType& t) { return is_byte_list(t); }
  static Bytes from(const Val& v, Context&) {
    return {reinterpret_cast<const uint8_t*>(v.bytes.data()), v.bytes.size()};
  }
};

// list<u8> results the host already holds as text (a body chunk, a file's bytes): moved
// into the value, never copied on the way.
struct ByteString {
  std::string data;
  bool empty() const { return data.empty(); }
  size_t size() const { return data.size(); }
  Bytes view() const { return {reinterpret_cast<const uint8_t*>(data.data()), data.size()}; }
};

template <>
struct WitType<ByteString> {
  static bool matches(const ValueType& t) { return is_byte_list(t); }
  static ByteString from(const Val& v, Context&) { return ByteString{v.bytes}; }
  static Val to(ByteString v, Context&) { return Val::byte_list(std::move(v.data)); }
};

template <>
struct WitType<std::vector<uint8_t>> {
  static bool matches(const ValueType& t) { return is_byte_list(t); }
  static std::vector<uint8_t> from(const Val& v, Context&) { return to_byte_vector(v.bytes); }
  static Val to(const std::vector<uint8_t>& v, Context&) { return Val::byte_list(to_text(v)); }
};

// ---- compound types ---------------------------------------------------------------------

template <class T>
  requires(!std::is_same_v<T, uint8_t>)
struct WitType<std::vector<T>, void> {
  static bool matches(const ValueType& t) {
    return t.kind == ValueKind::kList && !t.fixed_length && WitType<T>::matches(*t.types[0]);
  }
  static std::vector<T> from(const Val& v, Context& cx) {
    std::vector<T> out;
    out.reserve(v.items.size());
    for (const Val& item : v.items)
      out.push_back(WitType<T>::from(item, cx));
    return out;
  }
  static Val to(std::vector<T> v, Context& cx) {
    std::vector<Val> items;
    items.reserve(v.size());
    for (auto& item : v)
      items.push_back(WitType<T>::to(std::move(item), cx));
    return Val::list(std::move(items));
  }
};

template <class T>
struct WitType<std::optional<T>> {
  static bool matches(const ValueType& t) {
    return t.kind == ValueKind::kOption && WitType<T>::matches(*t.types[0]);
  }
  static std::optional<T> from(const Val& v, Context& cx) {
    if (v.bits == 0) return std::nullopt;
    if (v.items.empty()) throw ConversionError{"option's some case has no payload"};
    return WitType<T>::from(v.items[0], cx);
  }
  static Val to(std::optional<T> v, Context& cx) {
    return v ? Val::some(WitType<T>::to(std::move(*v), cx)) : Val::none();
  }
};

template <class T>
bool payload_matches(const component::ValueTypePtr& t) {
  if constexpr (std::is_same_v<T, Unit>) {
    return t == nullptr;
  } else {
    return t != nullptr && WitType<T>::matches(*t);
  }
}

template <class T>
T payload_from([[maybe_unused]] const Val& v, [[maybe_unused]] Context& cx) {
  if constexpr (std::is_same_v<T, Unit>) {
    return Unit{};
  } else {
    if (v.items.empty()) throw ConversionError{"result case has no payload"};
    return WitType<T>::from(v.items[0], cx);
  }
}

template <class T>
std::optional<Val> payload_to([[maybe_unused]] T v, [[maybe_unused]] Context& cx) {
  if constexpr (std::is_same_v<T, Unit>) {
    return std::nullopt;
  } else {
    return WitType<T>::to(std::move(v), cx);
  }
}

template <class T, class E>
struct WitType<Result<T, E>> {
  static bool matches(const ValueType& t) {
    return t.kind == ValueKind::kResult && payload_matches<T>(t.types[0]) &&
           payload_matches<E>(t.types[1]);
  }
  static Result<T, E> from(const Val& v, Context& cx) {
    if (v.bits == 0) return Result<T, E>::ok(payload_from<T>(v, cx));
    return Result<T, E>::err(payload_from<E>(v, cx));
  }
  static Val to(Result<T, E> r, Context& cx) {
    if (r.is_ok()) return Val::ok(payload_to<T>(std::get<0>(std::move(r.value)), cx));
    return Val::err(payload_to<E>(std::get<1>(std::move(r.value)), cx));
  }
};

template <class... T>
struct WitType<std::tuple<T...>> {
  static bool matches(const ValueType& t) {
    if (t.kind != ValueKind::kTuple || t.types.size() != sizeof...(T)) return false;
    return [&]<size_t... I>(std::index_sequence<I...>) {
      return (WitType<T>::matches(*t.types[I]) && ...);
    }(std::index_sequence_for<T...>{});
  }
  static std::tuple<T...> from(const Val& v, Context& cx) {
    if (v.items.size() != sizeof...(T)) throw ConversionError{"tuple has the wrong arity"};
    return [&]<size_t... I>(std::index_sequence<I...>) {
      return std::tuple<T...>(WitType<T>::from(v.items[I], cx)...);
    }(std::index_sequence_for<T...>{});
  }
  static Val to(std::tuple<T...> v, Context& cx) {
    return std::apply(
        [&](auto&&... e) {
          return Val::tuple({WitType<std::decay_t<decltype(e)>>::to(std::move(e), cx)...});
        },
        std::move(v));
  }
};

template <class T>
struct WitType<Stream<T>> {
  static bool matches(const ValueType& t) {
    return t.kind == ValueKind::kStream && payload_matches<T>(t.types[0]);
  }
  static Stream<T> from(const Val&, Context&) {
    throw ConversionError{"a guest cannot pass a stream to the host yet"};
  }
  static Val to(Stream<T> s, Context& cx) {
    std::vector<Val> values;
    values.reserve(s.values.size());
    for (auto& v : s.values) {
      if constexpr (std::is_same_v<T, Unit>) {
        values.push_back(Val::tuple({}));  // nothing of it is stored
      } else {
        values.push_back(WitType<T>::to(std::move(v), cx));
      }
    }
    return Val::stream(std::move(values));
  }
};

template <class T>
struct WitType<Future<T>> {
  static bool matches(const ValueType& t) {
    return t.kind == ValueKind::kFuture && payload_matches<T>(t.types[0]);
  }
  static Future<T> from(const Val&, Context&) {
    throw ConversionError{"a guest cannot pass a future to the host yet"};
  }
  static Val to(Future<T> f, Context& cx) {
    return Val::future(payload_to<T>(std::move(f.value), cx));
  }
};

// Records: fields matched by label and type, in order.
template <class T>
  requires requires { RecordFields<T>::fields; }
struct WitType<T, void> {
  static constexpr size_t kCount =
      std::tuple_size_v<std::decay_t<decltype(RecordFields<T>::fields)>>;

  static bool matches(const ValueType& t) {
    if (t.kind != ValueKind::kRecord || t.types.size() != kCount) return false;
    return [&]<size_t... I>(std::index_sequence<I...>) {
      return ((t.labels[I] == std::get<I>(RecordFields<T>::fields).first &&
               WitType<member_type<I>>::matches(*t.types[I])) &&
              ...);
    }(std::make_index_sequence<kCount>{});
  }
  static T from(const Val& v, Context& cx) {
    if (v.items.size() != kCount) throw ConversionError{"record has the wrong number of fields"};
    T out{};
    [&]<size_t... I>(std::index_sequence<I...>) {
      ((out.*(std::get<I>(RecordFields<T>::fields).second) =
            WitType<member_type<I>>::from(v.items[I], cx)),
       ...);
    }(std::make_index_sequence<kCount>{});
    return out;
  }
  static Val to(T v, Context& cx) {
    return [&]<size_t... I>(std::index_sequence<I...>) {
      return Val::record({WitType<member_type<I>>::to(
          std::move(v.*(std::get<I>(RecordFields<T>::fields).second)), cx)...});
    }(std::make_index_sequence<kCount>{});
  }

 private:
  template <size_t I>
  using member_type = std::remove_cvref_t<decltype(std::declval<T&>().*
                                                   (std::get<I>(RecordFields<T>::fields).second))>;
};

// Enums: labels matched in order.
template <class T>
  requires(std::is_enum_v<T> && requires { EnumLabels<T>::labels; })
struct WitType<T, void> {
  static bool matches(const ValueType& t) {
    if (t.kind != ValueKind::kEnum || t.labels.size() != std::size(EnumLabels<T>::labels))
      return false;
    for (size_t i = 0; i < t.labels.size(); ++i) {
      if (t.labels[i] != EnumLabels<T>::labels[i]) return false;
    }
    return true;
  }
  static T from(const Val& v, Context&) { return static_cast<T>(v.bits); }
  static Val to(T v, Context&) { return Val::enumeration(static_cast<uint32_t>(v)); }
};

// Variants: labels matched in order, payloads by alternative.
template <class T>
  requires requires { VariantLabels<T>::labels; }
struct WitType<T, void> {
  using Alternatives = decltype(T::value);
  static constexpr size_t kCount = std::variant_size_v<Alternatives>;
  template <size_t I>
  using Alternative = std::variant_alternative_t<I, Alternatives>;

  static bool matches(const ValueType& t) {
    if (t.kind != ValueKind::kVariant || t.labels.size() != kCount) return false;
    return [&]<size_t... I>(std::index_sequence<I...>) {
      return ((t.labels[I] == VariantLabels<T>::labels[I] &&
               payload_matches<Alternative<I>>(t.types[I])) &&
              ...);
    }(std::make_index_sequence<kCount>{});
  }
  static T from(const Val& v, Context& cx) {
    if (v.bits >= kCount) throw ConversionError{"variant case out of range"};
    return [&]<size_t... I>(std::index_sequence<I...>) {
      using Maker = T (*)(const Val&, Context&);
      constexpr Maker makers[] = {+[](const Val& val, Context& c) {
        return T{Alternatives(std::in_place_index<I>, payload_from<Alternative<I>>(val, c))};
      }...};
      return makers[v.bits](v, cx);
    }(std::make_index_sequence<kCount>{});
  }
  static Val to(T v, Context& cx) {
    const auto index = static_cast<uint32_t>(v.value.index());
    return std::visit(
        [&](auto&& payload) { return Val::variant(index, payload_to(std::move(payload), cx)); },
        std::move(v.value));
  }
};

}  // namespace gyre::host
