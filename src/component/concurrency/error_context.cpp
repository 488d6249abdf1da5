#include "component/concurrency/error_context.hpp"

#include <memory>

namespace gyre::component {

uint32_t lower_error_context(const CanonContext& cx, const Val& value) {
  auto error = std::make_shared<ErrorContext>();
  error->message = value.bytes;
  HandleEntry entry;
  entry.kind = HandleKind::kErrorContext;
  entry.object = std::move(error);
  auto index = cx.handles->add(std::move(entry));
  if (!index) throw AbiTrap{"the handle table is full"};
  return *index;
}

Val lift_error_context(const CanonContext& cx, uint32_t index) {
  HandleEntry* entry = cx.handles->get(index);
  if (entry == nullptr || entry->kind != HandleKind::kErrorContext)
    throw AbiTrap{"handle " + std::to_string(index) + " is not an error context"};
  Val out;
  out.kind = ValueKind::kErrorContext;
  out.bytes = static_cast<const ErrorContext&>(*entry->object).message;
  return out;
}

}  // namespace gyre::component
