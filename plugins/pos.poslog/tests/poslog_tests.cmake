# Tests of pos.poslog (ctest label: plugin / e2e), included by ../CMakeLists.txt into the top
# directory's scope: paths are relative to this file.
set(poslog_test_dir ${CMAKE_CURRENT_LIST_DIR})
set(poslog_src ${CMAKE_CURRENT_LIST_DIR}/../src)
omniloop_test(NAME poslog_parser_test
  SOURCES ${poslog_test_dir}/poslog_parser_test.cpp ${poslog_src}/poslog_parser.cpp
  DEPS EXPAT::EXPAT
  LABELS plugin)
target_include_directories(poslog_parser_test PRIVATE ${poslog_src})
target_compile_definitions(poslog_parser_test PRIVATE POSLOG_TEST_DATA="${poslog_test_dir}/data")

# The plugin as it ships, driven by `omniloop run` into a real SQLite store.
omniloop_test(NAME poslog_e2e_test SOURCES ${poslog_test_dir}/poslog_e2e_test.cpp
  DEPS SQLite::SQLite3 LABELS "plugin;e2e" TIMEOUT 600)
target_compile_definitions(poslog_e2e_test PRIVATE POSLOG_TEST_DATA="${poslog_test_dir}/data")
add_dependencies(poslog_e2e_test omniloop omniloop_plugin_pos_poslog)

# A generated 1 GB file read in bounded memory (slow; not under the sanitizers).
omniloop_test(NAME poslog_large_file_test SOURCES ${poslog_test_dir}/poslog_large_file_test.cpp
  LABELS "plugin;slow;no-sanitizer" TIMEOUT 900)
add_dependencies(poslog_large_file_test omniloop omniloop_plugin_pos_poslog)
