// omniloop.files: the file connectors every installation has. Built with the plugin SDK alone,
// like any vendor plugin. Components (bottom of this file): source file.jsonl, source file.csv,
// sink file.jsonl.
#include <omniloop/plugin.hpp>

#include "csv_source.h"
#include "jsonl_sink.h"
#include "jsonl_source.h"

namespace {

// Options both sources share (JSON Schema "properties" members).
#define OMNILOOP_FILES_COMMON_OPTIONS                                                                                                                                                                                             \
  R"("path": {"type": "string", "format": "path", "minLength": 1, "description": "File to read (relative: to the pipeline file)."},)"                                                                                             \
  R"("follow": {"type": "boolean", "default": false,)"                                                                                                                                                                            \
  R"( "description": "Keep reading lines appended to the file (and follow rotation); otherwise stop at its end."},)"                                                                                                              \
  R"("key_field": {"anyOf": [{"type": "string", "minLength": 1},)"                                                                                                                                                                \
  R"( {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}],)"                                                                                                                                           \
  R"( "description": "Field, or list of fields, whose values are the record's natural key (default: the file's fingerprint and the record's byte offset; offset:<fingerprint>:<n> when every key field is missing or empty)."},)" \
  R"("type": {"type": "string", "description": "Event type set on every event."},)"                                                                                                                                               \
  R"("channel": {"type": "string", "description": "Channel set on every event."},)"                                                                                                                                               \
  R"("max_record_bytes": {"type": "integer", "minimum": 1, "default": 16777216,)"                                                                                                                                                 \
  R"( "description": "Longest record accepted (bytes, line break excluded); a longer one becomes one dead letter (its first 4 KiB kept) and reading goes on with the next record."})"

constexpr const char* kJsonlSourceSchema =
    R"({"type": "object", "additionalProperties": false, "required": ["path"], "properties": {)"
    OMNILOOP_FILES_COMMON_OPTIONS
    R"(, "time_field": {"type": "string", "minLength": 1,)"
    R"( "description": "Dotted path of the field holding the event time (sets occurred_at)."},)"
    R"( "time_format": {"type": "string", "enum": ["iso8601", "unix", "unix_ms"], "default": "iso8601",)"
    R"( "description": "How time_field is written."}}})";

constexpr const char* kCsvSourceSchema =
    R"({"type": "object", "additionalProperties": false, "required": ["path"], "properties": {)"
    OMNILOOP_FILES_COMMON_OPTIONS
    R"(, "header": {"type": "boolean", "default": true,)"
    R"( "description": "The first row holds the column labels (the field names)."},)"
    R"( "columns": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1,)"
    R"( "description": "Field names of the columns, in order; required when header is false."},)"
    R"( "rename": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1},)"
    R"( "description": "Header label -> field name."},)"
    R"( "delimiter": {"type": "string", "minLength": 1, "maxLength": 3, "default": ",",)"
    R"( "description": "One character, or \"tab\"."},)"
    R"( "encoding": {"type": "string", "enum": ["utf-8", "latin-1"], "default": "utf-8",)"
    R"( "description": "utf-8: rows that are not valid UTF-8 are dead-lettered; latin-1: bytes are converted."},)"
    R"( "short_rows": {"type": "string", "enum": ["pad", "dead_letter"], "default": "pad",)"
    R"( "description": "A row with fewer fields than columns (exports drop trailing empty cells): pad with empty strings, or dead-letter it. Longer rows are always dead-lettered."},)"
    R"( "skip_empty_lines": {"type": "boolean", "default": true,)"
    R"( "description": "Ignore empty lines instead of reading them as rows."}}})";

constexpr const char* kJsonlSinkSchema =
    R"({"type": "object", "additionalProperties": false, "required": ["path"], "properties": {)"
    R"("path": {"type": "string", "format": "path", "minLength": 1, "description": "File to write (parent directories are created; relative: to the pipeline file)."},)"
    R"( "append": {"type": "boolean", "default": true, "description": "Append to an existing file; false truncates it at start."},)"
    R"( "fsync": {"type": "boolean", "default": false, "description": "fdatasync on every flush (before each commit)."}}})";

#undef OMNILOOP_FILES_COMMON_OPTIONS

}  // namespace

OMNILOOP_PLUGIN("omniloop.files", "1.1.0",
                OMNILOOP_SOURCE(omniloop::files::JsonlSource, "file.jsonl",
                                "Reads a JSON Lines file: one event per object, nested objects "
                                "flattened to dotted paths",
                                kJsonlSourceSchema),
                OMNILOOP_SOURCE(omniloop::files::CsvSource, "file.csv",
                                "Reads an RFC 4180 CSV file: one event per row, values as strings",
                                kCsvSourceSchema),
                OMNILOOP_SINK(omniloop::files::JsonlSink, "file.jsonl",
                              "Writes every event as one JSON line", kJsonlSinkSchema))
