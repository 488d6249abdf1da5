# Fixture components, built from fixtures/ by fixtures/build.sh into the build tree (each
# cached by content outside it, so an unchanged fixture costs a hard link).
set(GYRE_FIXTURE_DIR ${CMAKE_BINARY_DIR}/fixtures)
set(GYRE_WASM_TOOLS ${GYRE_CACHE}/toolchain/cargo/bin/wasm-tools)
add_custom_target(fixtures ALL
  COMMAND ${CMAKE_COMMAND} -E env GYRE_CACHE=${GYRE_CACHE}
          ${PROJECT_SOURCE_DIR}/fixtures/build.sh ${GYRE_FIXTURE_DIR}
  COMMENT "Building fixture components"
  USES_TERMINAL VERBATIM)
