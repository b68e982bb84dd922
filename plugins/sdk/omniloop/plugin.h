/*
 * omniloop plugin ABI v1 — the only header a connector plugin needs.
 *
 * Pure C (C99 and C++ compatible). Only <stdint.h> and <stddef.h>.
 *
 * Rules of the boundary
 *  - A plugin exports exactly one symbol: OMNILOOP_PLUGIN_ENTRY_SYMBOL ("omniloop_plugin_entry").
 *    The host calls it with its own ABI version; the plugin returns a pointer to a static
 *    descriptor (or NULL if it refuses to run on that host). The descriptor lives for the
 *    life of the process; the host never unloads a plugin.
 *  - Every struct begins with `size` (sizeof as the plugin/host compiled it). Structs only
 *    ever grow at the end; a reader checks `size` before touching a newer field, and steps
 *    through a table (the component table) by the element size the writer declares.
 *  - The host refuses a plugin whose ABI major differs or whose minor is newer than its own.
 *  - Strings cross as (pointer, length), are UTF-8 and are NOT NUL-terminated unless noted.
 *    Pointers handed to a callback are valid only for the duration of that call unless noted.
 *  - No exception, no STL type and no allocation ownership crosses. Errors are returned as
 *    ol_status plus a message written into a caller-owned error buffer (NUL-terminated,
 *    truncated to its capacity).
 *  - Events are owned by the host. A plugin builds them through the host API's builder calls
 *    (strings are copied into the batch's arena by the host) and reads them through accessors.
 */
#ifndef OMNILOOP_PLUGIN_H
#define OMNILOOP_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OMNILOOP_ABI_MAJOR 1
#define OMNILOOP_ABI_MINOR 1
#define OMNILOOP_PLUGIN_ENTRY_SYMBOL "omniloop_plugin_entry"

#if defined(__GNUC__)
#define OMNILOOP_EXPORT __attribute__((visibility("default")))
#else
#define OMNILOOP_EXPORT
#endif

/* Status codes returned by every plugin callback and most host calls. */
typedef enum ol_status {
  OL_OK = 0,     /* success */
  OL_END = 1,    /* source: no more data, ever (finite source finished) */
  OL_RETRY = 2,  /* transient failure: the host retries the same call later with backoff */
  OL_ERROR = 3,  /* permanent failure; message in the error buffer */
  OL_IDLE = 4    /* source: nothing new right now (followed file, polled API); call again later */
} ol_status;

typedef enum ol_component_kind { OL_SOURCE = 1, OL_STAGE = 2, OL_SINK = 3 } ol_component_kind;

typedef enum ol_log_level {
  OL_LOG_TRACE = 0, OL_LOG_DEBUG = 1, OL_LOG_INFO = 2, OL_LOG_WARN = 3, OL_LOG_ERROR = 4
} ol_log_level;

/* Typed value of an event field. */
typedef enum ol_value_type {
  OL_NULL = 0, OL_BOOL = 1, OL_INT = 2, OL_DOUBLE = 3, OL_STRING = 4,
  OL_JSON = 5 /* raw JSON text kept whole (arrays); `str` holds it */
} ol_value_type;

typedef struct ol_value {
  uint32_t type; /* ol_value_type */
  int32_t bool_value;
  int64_t int_value;
  double double_value;
  const char* str; /* OL_STRING: points into host memory, valid until the batch is recycled */
  size_t str_len;
} ol_value;

/* Opaque handles owned by the host. */
typedef struct ol_batch ol_batch;
typedef struct ol_event ol_event;

/* One attribute of an event: a dotted path ("customer.email") and its value. */
typedef struct ol_field {
  const char* path;
  size_t path_len;
  ol_value value;
} ol_field;

/* Event disposition a stage may set. */
typedef enum ol_disposition { OL_KEEP = 0, OL_DROP = 1, OL_DEAD_LETTER = 2 } ol_disposition;

/*
 * The host API: a table of functions the host hands to every component instance.
 * `ctx` is the host's per-instance context; pass it back unchanged.
 */
typedef struct ol_host_api {
  uint32_t size;
  uint16_t abi_major;
  uint16_t abi_minor;

  /* Logging. Never log personal data: log ids, counts and hashes. */
  void (*log)(void* ctx, int level, const char* msg, size_t msg_len);
  /* Add `delta` to a plugin counter exposed as a metric ("omniloop_plugin_<name>"). */
  void (*counter_add)(void* ctx, const char* name, size_t name_len, int64_t delta);

  /* ---- batch access (sources, stages, sinks) ---- */
  size_t (*batch_size)(const ol_batch* b);
  ol_event* (*batch_event)(ol_batch* b, size_t index);
  /* Sources: the cursor that, once this batch is committed, resumes after its last event. */
  void (*batch_set_cursor)(ol_batch* b, const char* cursor, size_t len);

  /* ---- event builder (sources) ---- */
  /* Appends a new empty event to the batch; NULL if the batch is full. */
  ol_event* (*event_append)(ol_batch* b);
  /* Removes the last appended event (e.g. a record that turned out to be malformed). */
  void (*event_discard_last)(ol_batch* b);
  /* Natural key of the record in its source (row id, byte offset...). The host derives the
   * deterministic event id from the pipeline's source name and this key. */
  void (*event_set_key)(ol_event* e, const char* key, size_t len);
  void (*event_set_type)(ol_event* e, const char* type, size_t len);
  void (*event_set_channel)(ol_event* e, const char* channel, size_t len);
  /* Microseconds since the Unix epoch, UTC. */
  void (*event_set_time)(ol_event* e, int64_t unix_micros);
  void (*event_add_identity)(ol_event* e, const char* type, size_t type_len, const char* value,
                             size_t value_len);
  /* status: "granted" | "denied" | "unknown" */
  void (*event_set_consent)(ol_event* e, const char* purpose, size_t purpose_len,
                            const char* status, size_t status_len);
  /* Attributes by dotted path. Setting an existing path replaces its value. */
  void (*event_set_string)(ol_event* e, const char* path, size_t path_len, const char* v,
                           size_t v_len);
  void (*event_set_int)(ol_event* e, const char* path, size_t path_len, int64_t v);
  void (*event_set_double)(ol_event* e, const char* path, size_t path_len, double v);
  void (*event_set_bool)(ol_event* e, const char* path, size_t path_len, int v);
  void (*event_set_null)(ol_event* e, const char* path, size_t path_len);
  /* Raw JSON text (an array, or an object kept whole), emitted verbatim on output. */
  void (*event_set_json)(ol_event* e, const char* path, size_t path_len, const char* json,
                         size_t json_len);
  /* Marks a malformed record: keeps its raw bytes and routes the event to the dead-letter
   * output with `reason` (the event needs no other field but its key). */
  void (*event_dead_letter)(ol_event* e, const char* raw, size_t raw_len, const char* reason,
                            size_t reason_len);

  /* ---- event accessors (stages, sinks) ---- */
  /* Returns 1 and fills *out when the path exists, else 0. Paths "$id", "$type", "$channel",
   * "$source", "$occurred_at" (int micros), "$identities.<type>", "$consent.<purpose>" address
   * the event's envelope. */
  int (*event_get)(const ol_event* e, const char* path, size_t path_len, ol_value* out);
  size_t (*event_field_count)(const ol_event* e);
  int (*event_field_at)(const ol_event* e, size_t index, ol_field* out);
  void (*event_remove)(ol_event* e, const char* path, size_t path_len);
  int (*event_disposition)(const ol_event* e);
  void (*event_set_disposition)(ol_event* e, int disposition, const char* reason,
                                size_t reason_len);
  /* Serialises the whole event (envelope + nested attributes) as one JSON object into `buf`.
   * Returns the full length needed; writes at most `cap` bytes (no NUL). */
  size_t (*event_to_json)(const ol_event* e, char* buf, size_t cap);
} ol_host_api;

/*
 * One component a plugin provides. Unused callbacks for a kind are NULL.
 * config_json: the instance's `with:` block, already validated by the host against
 * `config_schema`, as a JSON object text.
 */
typedef struct ol_component {
  uint32_t size;
  uint32_t kind; /* ol_component_kind */
  const char* type;          /* NUL-terminated, e.g. "file.jsonl" */
  const char* description;   /* NUL-terminated, one line */
  const char* config_schema; /* NUL-terminated JSON Schema of the `with:` block */

  int (*create)(const ol_host_api* host, void* ctx, const char* config_json, size_t config_len,
                void** instance, char* err, size_t err_cap);
  void (*destroy)(void* instance);

  /* Sources. resume: restore position from a cursor previously set on a committed batch
   * (called at most once, before the first read; absent cursor = start). read: append up to
   * `max_events` events to `batch` and set its cursor. Returns OL_OK (events appended),
   * OL_IDLE (none now), OL_END (finished; may have appended a last few), OL_RETRY, OL_ERROR. */
  int (*resume)(void* instance, const char* cursor, size_t cursor_len, char* err, size_t err_cap);
  int (*read)(void* instance, ol_batch* batch, size_t max_events, char* err, size_t err_cap);

  /* Stages: transform the batch in place (set fields, set dispositions). */
  int (*process)(void* instance, ol_batch* batch, char* err, size_t err_cap);

  /* Sinks: write every event of the batch whose disposition is OL_KEEP. flush: make writes
   * durable (called before the host commits the batch's cursor). */
  int (*write)(void* instance, ol_batch* batch, char* err, size_t err_cap);
  int (*flush)(void* instance, char* err, size_t err_cap);

  /* ---- ABI 1.1 ---- */
  /* Sources: the attribute paths of personal data the events carry ("first_name",
   * "customer.email"; "customer" covers its children), NUL-terminated. A pipeline reading from
   * this source must mask, drop or pseudonymise them, or allow them in clear with a reason:
   * `omniloop validate` checks it. NULL/0 when none (or not known). The array and its strings
   * stay valid for the life of the process. */
  const char* const* personal_fields;
  size_t personal_field_count;
} ol_component;

/* sizeof(ol_component) in ABI 1.0, the smallest component a host accepts. */
#define OL_COMPONENT_SIZE_1_0 (offsetof(ol_component, flush) + sizeof(void (*)(void)))

typedef struct ol_plugin_descriptor {
  uint32_t size;
  uint16_t abi_major; /* OMNILOOP_ABI_MAJOR the plugin was built with */
  uint16_t abi_minor; /* OMNILOOP_ABI_MINOR the plugin was built with */
  const char* name;    /* NUL-terminated, e.g. "omniloop.files" */
  const char* version; /* NUL-terminated semver, e.g. "1.0.0" */
  size_t component_count;
  const ol_component* components;
} ol_plugin_descriptor;

/* The entry point every plugin exports under OMNILOOP_PLUGIN_ENTRY_SYMBOL. */
typedef const ol_plugin_descriptor* (*ol_plugin_entry_fn)(uint16_t host_abi_major,
                                                          uint16_t host_abi_minor);

#ifdef __cplusplus
}
#endif

#endif /* OMNILOOP_PLUGIN_H */
