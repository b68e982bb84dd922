# Tests of omniloop.files (ctest label: plugin), included by ../CMakeLists.txt into the top
# directory's scope: paths are relative to this file. The parsers are tested directly; the plugin
# as built is dlopen'ed from OMNILOOP_PLUGIN_DIR and driven through the SDK's stand-in host
# (plugins/sdk/testing; files_test_host.h).
find_package(GTest REQUIRED)
set(files_test_dir ${CMAKE_CURRENT_LIST_DIR})
set(files_src ${CMAKE_CURRENT_LIST_DIR}/../src)
omniloop_test(NAME files_parsers_test
  SOURCES ${files_test_dir}/csv_parser_test.cpp ${files_test_dir}/jsonl_parser_test.cpp
          ${files_test_dir}/time_parse_test.cpp ${files_test_dir}/cursor_test.cpp
          ${files_src}/csv_parser.cpp ${files_src}/jsonl_parser.cpp ${files_src}/time_parse.cpp
          ${files_src}/cursor.cpp
  DEPS simdjson::simdjson
  LABELS plugin)
target_include_directories(files_parsers_test PRIVATE ${files_src})

omniloop_test(NAME files_plugin_test
  SOURCES ${files_test_dir}/files_test_host.cpp ${files_test_dir}/csv_source_test.cpp
          ${files_test_dir}/jsonl_source_test.cpp ${files_test_dir}/jsonl_sink_test.cpp
          ${files_test_dir}/config_test.cpp ${files_test_dir}/rotation_test.cpp
  DEPS omniloop_plugin_testhost
  LABELS plugin)
target_compile_definitions(files_plugin_test PRIVATE
  FILES_TEST_DATA="${files_test_dir}/data")
add_dependencies(files_plugin_test omniloop_plugin_omniloop_files)
