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
endfunction()
