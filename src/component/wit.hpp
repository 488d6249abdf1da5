// Prints a component's imports and exports as WIT, in the shape `wasm-tools component wit`
// uses: a `world root` listing them, then each imported or exported interface with its
// types, resources and functions, grouped by package.
#pragma once

#include <string>

#include "component/types.hpp"

namespace gyre::component {

std::string print_wit(const ComponentTypeInfo& component);

// A value type's structure in WIT syntax, without names ("list<tuple<string, u8>>",
// "record { a: u8 }"); for messages such as signature mismatches.
std::string structure_of(const ValueType& type);
std::string structure_of(const FunctionType& type);

}  // namespace gyre::component
