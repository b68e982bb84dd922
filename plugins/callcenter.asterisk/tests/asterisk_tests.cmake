# Tests of callcenter.asterisk (ctest label: plugin), included by ../CMakeLists.txt: paths are
# relative to this file. The row parsing is tested directly; the plugin as built is dlopen'ed and
# driven through the stand-in host of plugins/sdk/testing.
set(asterisk_test_dir ${CMAKE_CURRENT_LIST_DIR})
set(asterisk_src ${CMAKE_CURRENT_LIST_DIR}/../src)
omniloop_test(NAME asterisk_parsers_test
  SOURCES ${asterisk_test_dir}/cdr_record_test.cpp ${asterisk_src}/cdr_record.cpp
          ${asterisk_src}/queue_log.cpp ${asterisk_src}/phone.cpp
  DEPS omniloop_filetail phonenumber
  LABELS plugin)
target_include_directories(asterisk_parsers_test PRIVATE ${asterisk_src})

omniloop_test(NAME asterisk_plugin_test
  SOURCES ${asterisk_test_dir}/cdr_source_test.cpp
  DEPS omniloop_plugin_testhost
  LABELS plugin)
target_compile_definitions(asterisk_plugin_test PRIVATE ASTERISK_TEST_DATA="${asterisk_test_dir}/data")
add_dependencies(asterisk_plugin_test omniloop_plugin_callcenter_asterisk)

# The omniloop binary with the bundled plugin and the shipped pipeline.
find_package(SQLite3 REQUIRED)
omniloop_test(NAME asterisk_e2e_test SOURCES ${asterisk_test_dir}/asterisk_e2e_test.cpp
              DEPS SQLite::SQLite3 LABELS e2e)
target_include_directories(asterisk_e2e_test PRIVATE ${PROJECT_SOURCE_DIR}/tests/e2e)
target_compile_definitions(asterisk_e2e_test PRIVATE ASTERISK_TEST_DATA="${asterisk_test_dir}/data")
add_dependencies(asterisk_e2e_test omniloop omniloop_plugin_callcenter_asterisk)
