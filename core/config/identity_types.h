#pragma once
// The identity types omniloop knows without being told (identity::defaultConfig() gives each
// its rule). Here, below identity/, so that loading omniloop.yaml can tell a new type from a
// misspelt built-in one (config/daemon_config.cpp).
#include <string_view>

namespace omniloop::config {

inline constexpr std::string_view kBuiltinIdentityTypes[] = {"crm_id", "loyalty_id", "email",
                                                             "phone",  "social",     "device_id"};

}  // namespace omniloop::config
