// callcenter.connect: Amazon Connect contact trace records (CTR) as exported to files by Kinesis
// Data Firehose, as contact events. Built with the plugin SDK alone plus the shared filetail
// helper. Component (bottom of this file): source connect.ctr.
#include <omniloop/plugin.hpp>

#include "ctr_source.h"

namespace {

constexpr const char* kCtrSchema =
    R"({"type": "object", "additionalProperties": false, "required": ["path"], "properties": {)"
    R"("path": {"type": "string", "format": "path", "minLength": 1,)"
    R"( "description": "File of CTRs, one JSON object per line (relative: to the pipeline file)."},)"
    R"("follow": {"type": "boolean", "default": false,)"
    R"( "description": "Keep reading records as they are appended, across rotation; otherwise stop at the end of the file."},)"
    R"("channel": {"type": "string", "minLength": 1, "default": "call_center", "description": "Channel set on every event."},)"
    R"("max_record_bytes": {"type": "integer", "minimum": 1024, "default": 4194304,)"
    R"( "description": "Longest line accepted; a longer one is dead-lettered."}}})";

// The customer's number (or address) in clear, and the contact attributes (whatever the contact
// flow stored). ($identities.phone is pseudonymised by the store.)
constexpr const char* kPersonal[] = {"customer.endpoint", "attributes"};

}  // namespace

OMNILOOP_PLUGIN("callcenter.connect", "1.0.0",
                omniloop::sdk::withPersonalFields(
                    OMNILOOP_SOURCE(omniloop::connect::CtrSource, "connect.ctr",
                                    "Amazon Connect contact trace records (JSON lines, as "
                                    "Firehose writes them) as contact events, followed live",
                                    kCtrSchema),
                    kPersonal))
