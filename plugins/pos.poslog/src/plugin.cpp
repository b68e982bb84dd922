// pos.poslog: ARTS/NRF POSLog XML exported by store tills. Built with the plugin SDK alone.
// Component (bottom of this file): source pos.poslog.
#include <omniloop/plugin.hpp>

#include "poslog_source.h"

namespace {

constexpr const char* kPoslogSourceSchema =
    R"({"type": "object", "additionalProperties": false, "required": ["path"], "properties": {)"
    R"("path": {"type": "string", "format": "path", "minLength": 1,)"
    R"( "description": "A POSLog file, or a directory whose matching files are read in name order (relative: to the pipeline file)."},)"
    R"( "glob": {"type": "string", "minLength": 1, "default": "*.xml",)"
    R"( "description": "Which files of the directory are POSLog files (shell pattern)."},)"
    R"( "follow": {"type": "boolean", "default": false,)"
    R"( "description": "Keep watching: wait for the rest of a file still being written and for new files; otherwise stop once every file is read (a file ending inside a transaction is then truncated: that transaction is dead-lettered)."},)"
    R"( "done_dir": {"type": "string", "format": "path", "minLength": 1,)"
    R"( "description": "Move files read to their end here (at the next start, once their events are committed)."},)"
    R"( "channel": {"type": "string", "minLength": 1, "default": "pos", "description": "Channel of the events."},)"
    R"( "timezone": {"type": "string", "default": "Z",)"
    R"( "description": "Offset of date-times written without one, e.g. +01:00."}}})";

// What a till's transaction says about people: the customer and the employee at the till.
// (Loyalty account, e-mail and phone are emitted as $identities, which the store pseudonymises.)
constexpr const char* kPersonalFields[] = {"customer.id", "customer.first_name",
                                           "customer.last_name", "operator_id"};

}  // namespace

OMNILOOP_PLUGIN("pos.poslog", "1.0.0",
                omniloop::sdk::withPersonalFields(
                    OMNILOOP_SOURCE(omniloop::poslog::PoslogSource, "pos.poslog",
                                    "Reads ARTS/NRF POSLog XML (2.2, 6.0): one order.placed or "
                                    "order.returned event per completed retail transaction",
                                    kPoslogSourceSchema),
                    kPersonalFields))
