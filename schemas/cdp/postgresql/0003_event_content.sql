-- omniloop CDP store, PostgreSQL dialect: a fingerprint of each event's content.
--
-- events.content_hash: 32 hex digits, a keyed hash (HMAC-SHA256 under the pseudonymisation
-- key) of the event's channel, type, occurred_at, attributes and identities as the source gave
-- them. A second record under a stored event id is an idempotent replay when its fingerprint is
-- equal, and a collision otherwise (dead-lettered; the stored event stays as it was). NULL for
-- events stored before this migration: they are taken as equal to whatever replays them.
ALTER TABLE events ADD COLUMN content_hash text;
