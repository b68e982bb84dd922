# Tests of http.webhook: the plugin as built through the stand-in host with real HTTP on
# 127.0.0.1 (label plugin), and the omniloop binary killed with SIGKILL while senders post
# (label e2e).
set(webhook_test_dir ${CMAKE_CURRENT_LIST_DIR})
omniloop_test(NAME webhook_plugin_test
  SOURCES ${webhook_test_dir}/webhook_source_test.cpp ${webhook_test_dir}/../src/signature.cpp
  DEPS omniloop_plugin_testhost Poco::Net Poco::Foundation OpenSSL::Crypto
  LABELS plugin)
target_include_directories(webhook_plugin_test PRIVATE ${webhook_test_dir}/../src)
add_dependencies(webhook_plugin_test omniloop_plugin_http_webhook)

find_package(SQLite3 REQUIRED)
omniloop_test(NAME webhook_e2e_test SOURCES ${webhook_test_dir}/webhook_e2e_test.cpp
                                            ${webhook_test_dir}/../src/signature.cpp
              DEPS SQLite::SQLite3 Poco::Net Poco::Foundation OpenSSL::Crypto LABELS e2e TIMEOUT 300)
target_include_directories(webhook_e2e_test PRIVATE ${PROJECT_SOURCE_DIR}/tests/e2e ${webhook_test_dir}/../src)
add_dependencies(webhook_e2e_test omniloop omniloop_plugin_http_webhook)
