// callcenter.asterisk: Asterisk call detail records (cdr_csv Master.csv), joined with queue_log,
// as call events. Built with the plugin SDK alone (plus libphonenumber and the shared filetail
// helper). Component (bottom of this file): source asterisk.cdr.
#include <omniloop/plugin.hpp>

#include "cdr_source.h"

namespace {

constexpr const char* kCdrSchema =
    R"({"type": "object", "additionalProperties": false, "required": ["path"], "properties": {)"
    R"("path": {"type": "string", "format": "path", "minLength": 1,)"
    R"( "description": "Master.csv of cdr_csv (e.g. /var/log/asterisk/cdr-csv/Master.csv; relative: to the pipeline file)."},)"
    R"("follow": {"type": "boolean", "default": false,)"
    R"( "description": "Keep reading rows as the PBX appends them, across rotation (rename or copytruncate); otherwise stop at the end of the file."},)"
    R"("country": {"type": "string", "pattern": "^[A-Z]{2}$",)"
    R"( "description": "ISO 3166-1 alpha-2 country of the PBX (DE, US): national caller numbers are read in it. Without it only +international numbers become phone identities."},)"
    R"("timezone": {"type": "string", "default": "+00:00",)"
    R"( "description": "UTC offset of the PBX's clock (cdr_csv writes local time unless usegmtime=yes): +01:00, -0500, UTC."},)"
    R"("queue_log": {"type": "string", "format": "path", "minLength": 1,)"
    R"( "description": "Asterisk queue_log (e.g. /var/log/asterisk/queue_log): adds queue, agent, wait and talk time to calls by uniqueid."},)"
    R"("channel": {"type": "string", "minLength": 1, "default": "call_center", "description": "Channel set on every event."},)"
    R"("encoding": {"type": "string", "enum": ["utf-8", "latin-1"], "default": "utf-8",)"
    R"( "description": "utf-8: rows that are not valid UTF-8 are dead-lettered; latin-1: rows are converted."}}})";

// The caller's name and number in clear, the dialled number (a customer's on outbound calls),
// the dial string and the dialplan's free text. ($identities.phone is pseudonymised by the store.)
constexpr const char* kPersonal[] = {"caller.name", "caller.number",  "call.clid",     "call.src",
                                     "call.dst",    "call.last_data", "call.userfield"};

}  // namespace

OMNILOOP_PLUGIN("callcenter.asterisk", "1.0.0",
                omniloop::sdk::withPersonalFields(
                    OMNILOOP_SOURCE(omniloop::asterisk::CdrSource, "asterisk.cdr",
                                    "Asterisk cdr_csv Master.csv (and queue_log) as call events, "
                                    "followed live across rotation",
                                    kCdrSchema),
                    kPersonal))
