// Error contexts (CanonicalABI.md, 📝): an immutable debug message a guest makes with
// error-context.new and passes along, copied into each component it reaches. On the host
// side it is a Val of kind kErrorContext whose `bytes` are the message.
#pragma once

#include <cstdint>
#include <string>

#include "component/abi.hpp"
#include "component/concurrency/waitable.hpp"
#include "component/value.hpp"

namespace gyre::component {

struct ErrorContext final : AsyncObject {
  std::string message;
};

// A new handle of the guest for the error context `value` carries.
uint32_t lower_error_context(const CanonContext& cx, const Val& value);
// The error context of handle `index`, which the guest keeps (lifting copies it).
Val lift_error_context(const CanonContext& cx, uint32_t index);

}  // namespace gyre::component
