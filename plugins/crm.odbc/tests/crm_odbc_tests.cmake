# Tests of crm.odbc (ctest label: plugin / e2e), included by ../CMakeLists.txt into the top
# directory's scope: paths are relative to this file.
set(crm_odbc_test_dir ${CMAKE_CURRENT_LIST_DIR})
# The plugin as it ships, driven by `omniloop run` over SQLite ODBC and PostgreSQL ODBC
# fixture databases into a real SQLite store.
omniloop_test(NAME crm_odbc_e2e_test SOURCES ${crm_odbc_test_dir}/crm_odbc_e2e_test.cpp
  DEPS SQLite::SQLite3 PostgreSQL::PostgreSQL LABELS "plugin;e2e" TIMEOUT 600)
target_include_directories(crm_odbc_e2e_test PRIVATE ${PROJECT_SOURCE_DIR})
add_dependencies(crm_odbc_e2e_test omniloop omniloop_plugin_crm_odbc)
