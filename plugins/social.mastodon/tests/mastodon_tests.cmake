# Tests of social.mastodon: the plugin as built (dlopen) through the stand-in host against a
# real HTTP server on 127.0.0.1 in the test binary (label plugin), and the omniloop binary
# against the same server, killed with SIGKILL and restarted (label e2e).
set(mastodon_test_dir ${CMAKE_CURRENT_LIST_DIR})
omniloop_test(NAME mastodon_plugin_test
  SOURCES ${mastodon_test_dir}/mastodon_source_test.cpp ${mastodon_test_dir}/../src/api.cpp
  DEPS omniloop_plugin_testhost omniloop_filetail Poco::Net Poco::Foundation
  LABELS plugin)
target_include_directories(mastodon_plugin_test PRIVATE ${mastodon_test_dir}/../src ${mastodon_test_dir})
add_dependencies(mastodon_plugin_test omniloop_plugin_social_mastodon)

find_package(SQLite3 REQUIRED)
omniloop_test(NAME mastodon_e2e_test SOURCES ${mastodon_test_dir}/mastodon_e2e_test.cpp
              DEPS SQLite::SQLite3 Poco::Net Poco::Foundation LABELS e2e TIMEOUT 300)
target_include_directories(mastodon_e2e_test PRIVATE ${PROJECT_SOURCE_DIR}/tests/e2e ${mastodon_test_dir})
add_dependencies(mastodon_e2e_test omniloop omniloop_plugin_social_mastodon omniloop_plugin_omniloop_files)
