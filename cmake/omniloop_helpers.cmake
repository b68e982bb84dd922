# omniloop_core_library(NAME <folder> SOURCES ... [DEPS ...])
# One static library per core folder: target omniloop_<folder>, include root core/.
function(omniloop_core_library)
  cmake_parse_arguments(A "" "NAME" "SOURCES;DEPS" ${ARGN})
  add_library(omniloop_${A_NAME} STATIC ${A_SOURCES})
  target_include_directories(omniloop_${A_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/core
                                                       ${PROJECT_BINARY_DIR}/generated)
  target_link_libraries(omniloop_${A_NAME} PUBLIC ${A_DEPS})
  target_compile_definitions(omniloop_${A_NAME} PUBLIC OMNILOOP_VERSION="${PROJECT_VERSION}")
endfunction()

# omniloop_test(NAME <name> SOURCES ... [DEPS ...] [LABELS ...] [TIMEOUT s])
function(omniloop_test)
  cmake_parse_arguments(A "" "NAME;TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${A_NAME} ${A_SOURCES})
  target_link_libraries(${A_NAME} PRIVATE ${A_DEPS} GTest::gtest GTest::gtest_main)
  # Test code at -O1 (-O0 under the sanitizers) whatever the build type; it comes after the
  # type's flags. Optimising gtest's macro-heavy bodies is most of their compile time
  # (tests/e2e/cli_test.cpp: 15 s at -O3, 9 s at -O1; sanitized with clang 17 s at -O1, 9.5 s
  # at -O0) and buys nothing: what they test is linked from the libraries and plugins, which
  # keep the build's flags.
  if(OMNILOOP_SANITIZE OR OMNILOOP_FUZZ)
    target_compile_options(${A_NAME} PRIVATE -O0)
  else()
    target_compile_options(${A_NAME} PRIVATE -O1)
  endif()
  target_compile_definitions(${A_NAME} PRIVATE
    OMNILOOP_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    OMNILOOP_BINARY_DIR="${PROJECT_BINARY_DIR}"
    OMNILOOP_PLUGIN_DIR="${OMNILOOP_PLUGIN_OUTPUT_DIR}"
    OMNILOOP_BIN_DIR="${CMAKE_RUNTIME_OUTPUT_DIRECTORY}")
  if(NOT A_TIMEOUT)
    set(A_TIMEOUT 300)
  endif()
  add_test(NAME ${A_NAME} COMMAND ${A_NAME})
  set_tests_properties(${A_NAME} PROPERTIES LABELS "${A_LABELS}" TIMEOUT ${A_TIMEOUT})
  if("release" IN_LIST A_LABELS)
    set_property(GLOBAL APPEND PROPERTY OMNILOOP_RELEASE_TESTS ${A_NAME})
  endif()
endfunction()
