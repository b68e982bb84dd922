#pragma once
// Personal data declared and checked before anything runs: a pipeline lists its personal fields
// (`personal:`; its source type may declare more), and every one of them is followed through
// the stages (map rename/copy/set/time/drop, filter, route, mask; plugin stages pass fields
// through) to every sink the pipeline can write to. A field that can reach a sink in clear is
// an error at the line where it is declared, unless `allow_clear:` gives the reason.
// Reference: docs/privacy.md "Personal data declarations".
#include <string>
#include <vector>

#include "config/catalog.h"
#include "config/pipeline_spec.h"

namespace omniloop::config {

// Reads `personal:` and `allow_clear:` of spec.root (after the schema check), adds the personal
// fields the source type declares, follows each field and appends a Diagnostic per field and
// sink it reaches in clear (and for allow_clear keys that name no personal field). Fills
// spec.personal and spec.personal_explanation.
void checkPersonalData(PipelineSpec& spec, const Catalog& catalog, std::vector<Diagnostic>& out);

}  // namespace omniloop::config
