# The engine: Wasmtime's C API as a static library that tools/bootstrap.sh built into a
# cache folder outside the build tree (see deps/wasmtime-capi). Only src/wasm links it
# publicly; the rest of Gyre reaches Wasmtime through src/wasm alone.
set(GYRE_ENGINE_DIR "" CACHE PATH "Engine cache folder made by tools/bootstrap.sh (lib/ and include/)")
if(NOT GYRE_ENGINE_DIR OR NOT EXISTS "${GYRE_ENGINE_DIR}/lib/libgyre_wasmtime.a")
  message(FATAL_ERROR
    "GYRE_ENGINE_DIR is not set to a built engine. Run tools/bootstrap.sh, then configure with "
    "-DGYRE_ENGINE_DIR=$(bash -c 'source tools/lib.sh; engine_dir'), or use tools/build.sh.")
endif()

add_library(gyre_wasmtime STATIC IMPORTED GLOBAL)
set_target_properties(gyre_wasmtime PROPERTIES
  IMPORTED_LOCATION "${GYRE_ENGINE_DIR}/lib/libgyre_wasmtime.a"
  INTERFACE_INCLUDE_DIRECTORIES "${GYRE_ENGINE_DIR}/include"
  INTERFACE_LINK_LIBRARIES "Threads::Threads;${CMAKE_DL_LIBS};m")
