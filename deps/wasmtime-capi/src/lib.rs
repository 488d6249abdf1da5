//! Re-exports Wasmtime's C API so that cargo emits it as one static library
//! (`libgyre_wasmtime.a`) that Gyre links, plus the few entry points the C API lacks
//! (a store memory limit that traps, dirty-page resets, exports found without names).
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

/// Lets the pooling allocator ask the kernel (`PAGEMAP_SCAN`, Linux 6.7 and later) which
/// pages of a linear memory an instance dirtied, so that ending an instance resets only
/// those pages instead of all `keep_resident` bytes. Where the kernel lacks the scan the
/// allocator falls back to resetting everything, as without this call.
#[unsafe(no_mangle)]
pub extern "C" fn gyre_pooling_allocation_config_pagemap_scan_set(
    config: &mut wasmtime_pooling_allocation_config_t,
    enable: bool,
) {
    // The C API's type is a `#[repr(C)]` struct whose one field is the Rust config, so the
    // field sits at offset 0; the crate does not expose it otherwise.
    let inner = unsafe {
        &mut *(config as *mut wasmtime_pooling_allocation_config_t)
            .cast::<wasmtime_c_api::wasmtime::PoolingAllocationConfig>()
    };
    inner.pagemap_scan(if enable {
        wasmtime_c_api::wasmtime::Enabled::Auto
    } else {
        wasmtime_c_api::wasmtime::Enabled::No
    });
}

/// Finds the export `name` of `instance`'s module once. The handle then finds that export
/// in any instance of the same module without a name lookup (Wasmtime's `ModuleExport`);
/// the C API only offers lookups by name, or by position in time linear in the position.
/// Null when the module has no such export. Free with `gyre_export_handle_delete`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn gyre_export_handle_new(
    store: WasmtimeStoreContextMut<'_>,
    instance: &wasmtime_c_api::wasmtime::Instance,
    name: *const u8,
    len: usize,
) -> Option<Box<wasmtime_c_api::wasmtime::ModuleExport>> {
    let bytes = unsafe { std::slice::from_raw_parts(name, len) };
    let name = std::str::from_utf8(bytes).ok()?;
    instance.module(&store).get_export_index(name).map(Box::new)
}

#[unsafe(no_mangle)]
pub extern "C" fn gyre_export_handle_delete(
    _handle: Option<Box<wasmtime_c_api::wasmtime::ModuleExport>>,
) {
}

/// The export a handle from `gyre_export_handle_new` names, in `instance`, which must be
/// an instance of the same module (false otherwise).
#[unsafe(no_mangle)]
pub extern "C" fn gyre_instance_export_by_handle(
    store: WasmtimeStoreContextMut<'_>,
    instance: &wasmtime_c_api::wasmtime::Instance,
    handle: &wasmtime_c_api::wasmtime::ModuleExport,
    item: &mut std::mem::MaybeUninit<wasmtime_extern_t>,
) -> bool {
    match instance.get_module_export(store, handle) {
        Some(found) => {
            item.write(found.into());
            true
        }
        None => false,
    }
}
