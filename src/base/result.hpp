// Errors as values at layer boundaries: a Result holds either a value or an error,
// never both, and never throws. Each layer names its own error type.
#pragma once

#include <cassert>
#include <optional>
#include <utility>
#include <variant>

namespace gyre {

template <class T, class E>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  Result(E error) : state_(std::in_place_index<1>, std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return assert(ok()), std::get<0>(state_); }
  const T& value() const& { return assert(ok()), std::get<0>(state_); }
  T&& value() && { return assert(ok()), std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

  const E& error() const& { return assert(!ok()), std::get<1>(state_); }
  E&& error() && { return assert(!ok()), std::get<1>(std::move(state_)); }

 private:
  std::variant<T, E> state_;
};

// A Result that carries no value: success, or an error.
template <class E>
class [[nodiscard]] Result<void, E> {
 public:
  Result() = default;
  Result(E error) : error_(std::move(error)) {}

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const E& error() const& { return assert(!ok()), *error_; }
  E&& error() && { return assert(!ok()), std::move(*error_); }

 private:
  std::optional<E> error_;
};

}  // namespace gyre
