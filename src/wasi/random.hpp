// wasi:random 0.2 and 0.3 (every version of wasi/versions.hpp) — random, insecure,
// insecure-seed.
#pragma once

#include "component/host_imports.hpp"

namespace gyre::wasi {

// Secure bytes come from the operating system (getrandom); the insecure interfaces use the
// same source, which is allowed and simpler than a second generator.
void add_random(component::HostImports& imports);

}  // namespace gyre::wasi
