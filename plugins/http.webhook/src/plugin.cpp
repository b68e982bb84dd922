// http.webhook: JSON posts from any SaaS, checked (HMAC-SHA256 signature, replay window, size)
// and spooled durably before they are acknowledged. Built with the plugin SDK alone plus Poco,
// OpenSSL and the shared filetail helper. Component (bottom of this file): source http.webhook.
#include <omniloop/plugin.hpp>

#include "webhook_source.h"

namespace {

constexpr const char* kWebhookSchema =
    R"({"type": "object", "additionalProperties": false, "required": ["spool_dir"], "properties": {)"
    R"("listen": {"type": "string", "minLength": 3, "default": "127.0.0.1:8088",)"
    R"( "description": "host:port to listen on (loopback unless you set another address)."},)"
    R"("path": {"type": "string", "pattern": "^/", "default": "/webhook", "description": "URL path senders POST to."},)"
    R"("spool_dir": {"type": "string", "format": "path", "minLength": 1,)"
    R"( "description": "Directory of the durable spool (webhook.spool): every accepted body is written and synced there before the 2xx answer."},)"
    R"("secret_file": {"type": "string", "format": "path", "minLength": 1,)"
    R"( "description": "File holding the HMAC-SHA256 key senders sign with (required unless allow_unsigned)."},)"
    R"("signature_header": {"type": "string", "minLength": 1, "default": "X-Hub-Signature-256",)"
    R"( "description": "Header with the signature: sha256=<hex> or bare hex."},)"
    R"("timestamp_header": {"type": "string", "minLength": 1,)"
    R"( "description": "Header with the send time (epoch seconds): then the signed text is <timestamp>.<body> and requests outside replay_window_seconds are refused."},)"
    R"("replay_window_seconds": {"type": "integer", "minimum": 1, "default": 300, "description": "Accepted clock difference with timestamp_header."},)"
    R"("id_header": {"type": "string", "minLength": 1,)"
    R"( "description": "Header with the sender's delivery id (e.g. X-GitHub-Delivery): the event key, so a redelivery is stored once."},)"
    R"("max_body_bytes": {"type": "integer", "minimum": 64, "default": 1048576, "description": "Largest body accepted (413 beyond)."},)"
    R"("allow_unsigned": {"type": "boolean", "default": false, "description": "Accept requests without a signature (no secret_file)."},)"
    R"("threads": {"type": "integer", "minimum": 1, "maximum": 64, "default": 4, "description": "HTTP worker threads."},)"
    R"("type": {"type": "string", "minLength": 1, "default": "webhook.received", "description": "Event type set on every event."},)"
    R"("channel": {"type": "string", "minLength": 1, "default": "webhook", "description": "Channel set on every event."}}})";

}  // namespace

OMNILOOP_PLUGIN("http.webhook", "1.0.0",
                OMNILOOP_SOURCE(omniloop::webhook::WebhookSource, "http.webhook",
                                "Signed JSON webhooks over HTTP, spooled durably before the 2xx "
                                "answer",
                                kWebhookSchema))
