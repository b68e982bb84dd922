#pragma once
// `omniloop erase`: the right to erasure (GDPR Art. 17). Removes a data subject from every
// table of the CDP store, leaves suppression entries so they are never ingested again, and
// writes an audit entry (docs/privacy.md, "Rights of the data subject").
#include <string>
#include <vector>

#include "store/subject_rights.h"

namespace omniloop::app {

// Exit status: 0 erased (or no data held), 1 the store failed (nothing changed), 2 bad usage.
int runEraseCommand(const std::vector<std::string>& args);

// The erasure report as JSON (CLI --json and POST /v1/subjects/erase).
std::string eraseReportJson(const store::EraseReport& report);

}  // namespace omniloop::app
