#pragma once
// `omniloop export`: the rights of access and portability (GDPR Art. 15, 20): one JSON
// document with every row the CDP store holds about a data subject (store/subject_rights.h).
#include <string>
#include <vector>

namespace omniloop::app {

// Exit status: 0 written, 1 the store failed, 2 bad usage.
int runExportCommand(const std::vector<std::string>& args);

}  // namespace omniloop::app
