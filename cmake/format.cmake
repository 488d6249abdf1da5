# `format` rewrites every C++ source in place; `format-check` fails on any that differs.
find_program(CLANG_FORMAT NAMES clang-format-19 clang-format)
if(CLANG_FORMAT)
  file(GLOB_RECURSE GYRE_FORMAT_SOURCES CONFIGURE_DEPENDS
    ${PROJECT_SOURCE_DIR}/src/*.cpp ${PROJECT_SOURCE_DIR}/src/*.hpp
    ${PROJECT_SOURCE_DIR}/tests/*.cpp ${PROJECT_SOURCE_DIR}/tests/*.hpp
    ${PROJECT_SOURCE_DIR}/bench/*.cpp ${PROJECT_SOURCE_DIR}/bench/*.hpp
    ${PROJECT_SOURCE_DIR}/fuzz/*.cpp)
  add_custom_target(format COMMAND ${CLANG_FORMAT} -i ${GYRE_FORMAT_SOURCES} VERBATIM)
  add_custom_target(format-check
    COMMAND ${CLANG_FORMAT} --dry-run --Werror ${GYRE_FORMAT_SOURCES} VERBATIM)
  if(GYRE_TESTS)
    add_test(NAME format COMMAND ${CLANG_FORMAT} --dry-run --Werror ${GYRE_FORMAT_SOURCES})
  endif()
endif()
