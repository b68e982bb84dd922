# Tests of callcenter.connect (ctest label: plugin): the plugin as built, dlopen'ed and driven
# through the stand-in host of plugins/sdk/testing.
set(connect_test_dir ${CMAKE_CURRENT_LIST_DIR})
omniloop_test(NAME connect_plugin_test
  SOURCES ${connect_test_dir}/ctr_source_test.cpp ${connect_test_dir}/../src/ctr_source.cpp
  DEPS omniloop_plugin_testhost omniloop_filetail
  LABELS plugin)
target_include_directories(connect_plugin_test PRIVATE ${connect_test_dir}/../src)
target_compile_definitions(connect_plugin_test PRIVATE CONNECT_TEST_DATA="${connect_test_dir}/data")
add_dependencies(connect_plugin_test omniloop_plugin_callcenter_connect)

find_package(SQLite3 REQUIRED)
omniloop_test(NAME connect_e2e_test SOURCES ${connect_test_dir}/connect_e2e_test.cpp
              DEPS SQLite::SQLite3 LABELS e2e)
target_include_directories(connect_e2e_test PRIVATE ${PROJECT_SOURCE_DIR}/tests/e2e)
target_compile_definitions(connect_e2e_test PRIVATE CONNECT_TEST_DATA="${connect_test_dir}/data")
add_dependencies(connect_e2e_test omniloop omniloop_plugin_callcenter_connect)
