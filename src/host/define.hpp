// Binding C++ functions as component imports.
//
//   host::define(imports, "wasi:cli/environment@0.2.6", "get-arguments",
//                [](host::Context&) -> std::vector<std::string> { return {}; });
//
// The first parameter is the call's Context; the others and the result are C++ types
// with a WitType (wit_type.hpp). When a component links, the signature is checked
// against the type the component declares, and a mismatch is a link error naming the
// interface, the function and both types. A function may also return
// gyre::Result<T, std::string> to trap the guest with a message, or host::Later<T>
// (later.hpp) to finish the call after it returned.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "component/host_imports.hpp"
#include "component/wit.hpp"
#include "host/later.hpp"
#include "host/resources.hpp"
#include "host/wit_type.hpp"

namespace gyre::host {

// A host function's way to trap the guest: return Trap{"why"} in place of a result.
template <class T>
using Trapping = gyre::Result<T, std::string>;

namespace detail {

// A result type R, and whether it is Trapping<T> (then `type` is T).
template <class R>
struct unwrap {
  using type = R;
  static constexpr bool trapping = false;
};
template <class T>
struct unwrap<gyre::Result<T, std::string>> {
  using type = T;
  static constexpr bool trapping = true;
};
template <class T>
struct unwrap<Later<T>> {
  using type = T;
  static constexpr bool trapping = false;
  static constexpr bool later = true;
};
template <class R>
constexpr bool is_later = requires { unwrap<R>::later; };

template <class F>
struct signature : signature<decltype(&F::operator())> {};
template <class C, class R, class... A>
struct signature<R (C::*)(Context&, A...) const> {
  using result = R;
  using args = std::tuple<std::decay_t<A>...>;
};
template <class C, class R, class... A>
struct signature<R (C::*)(Context&, A...)> : signature<R (C::*)(Context&, A...) const> {};
template <class R, class... A>
struct signature<R (*)(Context&, A...)> {
  using result = R;
  using args = std::tuple<std::decay_t<A>...>;
};

template <class R>
using plain_result = typename unwrap<R>::type;

template <class Args, class R>
std::optional<std::string> check(const component::FunctionType& declared) {
  constexpr size_t kArity = std::tuple_size_v<Args>;
  bool ok = declared.params.size() == kArity;
  if (ok) {
    ok = [&]<size_t... I>(std::index_sequence<I...>) {
      return (WitType<std::tuple_element_t<I, Args>>::matches(*declared.params[I].second) && ...);
    }(std::make_index_sequence<kArity>{});
  }
  using Plain = plain_result<R>;
  if constexpr (std::is_void_v<Plain>) {
    ok = ok && declared.result == nullptr;
  } else {
    ok = ok && declared.result != nullptr && WitType<Plain>::matches(*declared.result);
  }
  if (ok) return std::nullopt;
  return "the component imports " + component::structure_of(declared) +
         ", which the host's C++ signature does not match";
}

}  // namespace detail

template <class F>
void define(component::HostImports& imports, std::string_view interface, std::string_view name,
            F function) {
  using Sig = detail::signature<std::decay_t<F>>;
  using Args = typename Sig::args;
  using R = typename Sig::result;
  using Plain = detail::plain_result<R>;
  component::HostInterface& target = imports.interface(interface);
  target.signatures[std::string(name)] = [](const component::FunctionType& declared) {
    return detail::check<Args, R>(declared);
  };
  target.functions[std::string(name)] =
      [function = std::move(function)](
          component::HostCall& call,
          std::span<const Val> values) -> gyre::Result<std::optional<Val>, std::string> {
    Context cx{call.instance};
    try {
      return [&]<size_t... I>(
                 std::index_sequence<I...>) -> gyre::Result<std::optional<Val>, std::string> {
        if (values.size() != sizeof...(I)) return std::string("wrong number of arguments");
        if constexpr (std::is_void_v<R>) {
          function(cx, WitType<std::tuple_element_t<I, Args>>::from(values[I], cx)...);
          return std::optional<Val>{};
        } else if constexpr (detail::is_later<R>) {
          R later = function(cx, WitType<std::tuple_element_t<I, Args>>::from(values[I], cx)...);
          call.deferred = later.pending();
          return std::optional<Val>{};
        } else {
          R result = function(cx, WitType<std::tuple_element_t<I, Args>>::from(values[I], cx)...);
          if constexpr (detail::unwrap<R>::trapping) {
            if (!result) return std::move(result).error();
            if constexpr (std::is_void_v<Plain>) {
              return std::optional<Val>{};
            } else {
              return std::optional<Val>(WitType<Plain>::to(std::move(result).value(), cx));
            }
          } else {
            return std::optional<Val>(WitType<R>::to(std::move(result), cx));
          }
        }
      }(std::make_index_sequence<std::tuple_size_v<Args>>{});
    } catch (const ConversionError& error) {
      return error.message;
    }
  };
}

// Registers the table of a host resource type: a guest dropping its owned handle destroys
// the object, after `on_drop` (when given) has had it within the dropping guest's call:
// for an object whose goodbye waits on something, and so must wait through that guest.
template <class R>
void define_resource(component::HostImports& imports, std::string_view interface,
                     std::string_view name,
                     std::function<void(component::HostCall&, R&)> on_drop = nullptr) {
  imports.interface(interface).resource_drops[std::string(name)] =
      [on_drop = std::move(on_drop)](component::HostCall& call, uint32_t rep) {
        auto object = call.instance.host_state<ResourceTable<R>>().take(rep);
        if (object && on_drop) on_drop(call, *object);
      };
}

}  // namespace gyre::host
