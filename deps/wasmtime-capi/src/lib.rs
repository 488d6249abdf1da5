//! Re-exports Wasmtime's C API so that cargo emits it as one static library
//! (`libgyre_wasmtime.a`) that Gyre links, plus the one entry point the C API lacks.
pub use wasmtime_c_api::*;

use wasmtime_c_api::wasmtime::StoreLimitsBuilder;

/// Caps every linear memory of the store at `memory_size` bytes and makes a refused
/// growth trap instead of returning -1 from `memory.grow`, so the embedder can tell
/// "ran out of its memory limit" apart from any other trap. The C API's
/// `wasmtime_store_limiter` installs the limiter that reads these limits; it must be
/// called on the store first.
#[unsafe(no_mangle)]
pub extern "C" fn gyre_context_set_memory_limit(
    mut context: WasmtimeStoreContextMut<'_>,
    memory_size: u64,
) {
    context.data_mut().store_limits = StoreLimitsBuilder::new()
        .memory_size(usize::try_from(memory_size).unwrap_or(usize::MAX))
        .trap_on_grow_failure(true)
        .build();
}
