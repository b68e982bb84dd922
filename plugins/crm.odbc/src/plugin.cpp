// crm.odbc: contacts, leads and accounts of a CRM database through unixODBC. Built with the
// plugin SDK alone. Component (bottom of this file): source crm.odbc.
#include <omniloop/plugin.hpp>

#include "crm_source.h"

namespace {

constexpr const char* kCrmSourceSchema =
    R"({"type": "object", "additionalProperties": false, "required": ["connection"], "properties": {)"
    R"("connection": {"type": "string", "minLength": 1,)"
    R"( "description": "ODBC connection string (Driver=...;Database=...) or a DSN name. Put ${password} where the secret goes, or it is appended as PWD."},)"
    R"( "password_file": {"type": "string", "format": "path", "minLength": 1,)"
    R"( "description": "File holding the database password (trailing newline ignored)."},)"
    R"( "password_env": {"type": "string", "minLength": 1,)"
    R"( "description": "Environment variable holding the database password."},)"
    R"( "schema": {"type": "string", "enum": ["suitecrm", "generic"], "default": "suitecrm",)"
    R"( "description": "suitecrm: the built-in SuiteCRM/SugarCRM 6.5-7 mapping; generic: your query and column mapping."},)"
    R"( "poll_interval": {"type": "number", "minimum": 0, "default": 30,)"
    R"( "description": "Seconds between polls once every row is read."},)"
    R"( "batch_rows": {"type": "integer", "minimum": 1, "default": 500,)"
    R"( "description": "Rows fetched per query."},)"
    R"( "channel": {"type": "string", "minLength": 1, "default": "crm", "description": "Channel of the events."},)"
    R"( "consent_map": {"type": "object", "additionalProperties": false, "properties": {)"
    R"("do_not_call": {"type": "array", "items": {"type": "string", "minLength": 1},)"
    R"( "description": "Purposes denied when do_not_call is set."},)"
    R"( "email_opt_out": {"type": "array", "items": {"type": "string", "minLength": 1},)"
    R"( "description": "Purposes denied when an e-mail address of the person is opted out."}}},)"
    R"( "query": {"type": "string", "minLength": 1,)"
    R"( "description": "generic: SELECT with :cursor_ts, :cursor_id (and :batch_rows) placeholders, ordered by modification time then id."},)"
    R"( "id_column": {"type": "string", "minLength": 1, "default": "id", "description": "generic: the key column."},)"
    R"( "modified_column": {"type": "string", "minLength": 1, "default": "date_modified",)"
    R"( "description": "generic: the modification-time column."},)"
    R"( "deleted_column": {"type": "string", "minLength": 1, "description": "generic: a column true for deleted rows."},)"
    R"( "entity": {"type": "string", "minLength": 1, "default": "record",)"
    R"( "description": "generic: event types are <entity>.snapshot and <entity>.deleted."},)"
    R"( "table": {"type": "string", "minLength": 1, "default": "query",)"
    R"( "description": "generic: the name of the feed in event keys, the cursor and dead letters."},)"
    R"( "start_ts": {"type": "string", "minLength": 1,)"
    R"( "description": "generic: the cursor's first modification time (default 0001-01-01 00:00:00)."},)"
    R"( "columns": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1},)"
    R"( "description": "generic: result column -> attribute path, $identities.<type> or $consent.<purpose>."}}})";

// Personal fields of the built-in SuiteCRM mapping (e-mails and phones are identities,
// pseudonymised by the store).
constexpr const char* kPersonal[] = {"salutation", "first_name", "last_name",
                                     "title",      "birthdate",  "address"};

}  // namespace

OMNILOOP_PLUGIN("crm.odbc", "1.0.0",
                omniloop::sdk::withPersonalFields(
                    OMNILOOP_SOURCE(omniloop::crm::CrmSource, "crm.odbc",
                                    "Reads CRM contacts, leads and accounts over ODBC (SuiteCRM "
                                    "schema or your SQL), incrementally by modification time",
                                    kCrmSourceSchema),
                    kPersonal))
