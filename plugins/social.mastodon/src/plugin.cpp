// social.mastodon: an account's notifications (mention, favourite, reblog, follow) and statuses
// from the Mastodon REST API, over libcurl. Built with the plugin SDK alone plus libcurl and the
// shared filetail text helpers. Component (bottom of this file): source mastodon.api.
#include <omniloop/plugin.hpp>

#include "mastodon_source.h"

namespace {

constexpr const char* kMastodonSchema =
    R"({"type": "object", "additionalProperties": false, "required": ["base_url"], "properties": {)"
    R"("base_url": {"type": "string", "minLength": 8,)"
    R"( "description": "The instance, e.g. https://mastodon.social (https; http only for 127.0.0.1/localhost)."},)"
    R"("base_url_env": {"type": "string", "minLength": 1,)"
    R"( "description": "Environment variable that, when set and not empty, replaces base_url."},)"
    R"("token_file": {"type": "string", "format": "path", "minLength": 1,)"
    R"( "description": "File holding the account's access token (one line; relative: to the pipeline file)."},)"
    R"("token_env": {"type": "string", "minLength": 1,)"
    R"( "description": "Environment variable holding the access token (when no token_file)."},)"
    R"("ca_file": {"type": "string", "format": "path", "minLength": 1,)"
    R"( "description": "PEM file of the CA certificates to trust instead of the system's (TLS is always verified)."},)"
    R"("streams": {"type": "array", "minItems": 1, "items": {"enum": ["notifications", "statuses"]},)"
    R"( "default": ["notifications", "statuses"], "description": "What to read: the account's notifications, its own statuses, or both."},)"
    R"("notification_types": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1},)"
    R"( "default": ["mention", "favourite", "reblog", "follow"], "description": "Notification types to read (types[] of GET /api/v1/notifications)."},)"
    R"("account_id": {"type": "string", "pattern": "^[0-9]+$",)"
    R"( "description": "Account whose statuses are read; default: the token's own account (verify_credentials)."},)"
    R"("instance_domain": {"type": "string", "minLength": 1,)"
    R"( "description": "Domain appended to local accounts' acct (user -> user@domain); default: base_url's host."},)"
    R"("visibility": {"type": "array", "minItems": 1, "items": {"enum": ["public", "unlisted", "private", "direct"]},)"
    R"( "default": ["public", "unlisted"], "description": "Statuses (and notifications about statuses) of these visibilities are read; the others are skipped."},)"
    R"("identity_type": {"type": "string", "minLength": 1, "default": "mastodon",)"
    R"( "description": "Identity type of the account handle (user@domain)."},)"
    R"("identity_from_fields": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1},)"
    R"( "description": "Profile metadata fields whose value is an identity: {field name: identity type}, e.g. {Email: email}."},)"
    R"("channel": {"type": "string", "minLength": 1, "default": "social", "description": "Channel set on every event."},)"
    R"("page_size": {"type": "integer", "minimum": 1, "maximum": 80, "default": 40, "description": "limit of each page (statuses: at most 40)."},)"
    R"("timeout_ms": {"type": "integer", "minimum": 100, "default": 30000, "description": "Longest wait for one whole request; a slower one is retried."},)"
    R"("max_retries": {"type": "integer", "minimum": 0, "maximum": 100, "default": 5,)"
    R"( "description": "Retries of a request that failed with 429, 5xx, a timeout or no connection before the pipeline's own retry takes over."},)"
    R"("retry_base_ms": {"type": "integer", "minimum": 1, "default": 1000, "description": "First retry delay; doubled each retry, with jitter."},)"
    R"("retry_max_ms": {"type": "integer", "minimum": 1, "default": 60000, "description": "Longest retry delay."},)"
    R"("max_rate_limit_wait_ms": {"type": "integer", "minimum": 0, "default": 300000,)"
    R"( "description": "Longest wait for X-RateLimit-Reset (rate limit used up, or 429)."},)"
    R"("poll_interval_ms": {"type": "integer", "minimum": 0, "default": 60000,)"
    R"( "description": "Pause between two polls once everything available was read."},)"
    R"("max_response_bytes": {"type": "integer", "minimum": 1024, "default": 16777216, "description": "Largest response accepted."}}})";

// The account (handle, names, profile URL, id: all of its children), what the person wrote, the
// people it mentions and the status URL (it names the author). ($identities are pseudonymised
// by the store.)
constexpr const char* kPersonal[] = {"account", "status.content", "status.spoiler_text",
                                     "status.mentions", "status.url"};

}  // namespace

OMNILOOP_PLUGIN("social.mastodon", "1.0.0",
                omniloop::sdk::withPersonalFields(
                    OMNILOOP_SOURCE(omniloop::mastodon::MastodonSource, "mastodon.api",
                                    "An account's Mastodon notifications (mention, favourite, "
                                    "reblog, follow) and statuses from the REST API, polled",
                                    kMastodonSchema),
                    kPersonal))
