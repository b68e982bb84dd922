-- omniloop CDP store, SQLite dialect, migration 2: identity resolution and compact keys.
--
-- * profiles.traits_meta: per-trait state needed to combine traits exactly (the time of each
--   `last` value); identity_conflicts: identities a per-type limit kept away from a profile.
-- * Event and profile ids (32 hex) are stored as 16-byte BLOBs and identity hashes
--   ("h1:<key id>:<64 hex>") as 36-byte BLOBs (4 bytes key id + 32 bytes HMAC): half the
--   bytes in every key and index, so a batch dirties fewer pages. A value that is not in the
--   canonical form (an id set by hand, a pseudonym from elsewhere) stays TEXT, unchanged.
--   Read them with lower(hex(id)); the store converts both ways.
-- omniloop_id_blob() and omniloop_hash_blob() are SQL functions the store registers on its
-- connection (32 hex -> 16 bytes; h1 pseudonym -> 36 bytes; anything else unchanged).
-- Runs with foreign keys off (set by the store around migrations), as SQLite's table-rebuild
-- procedure requires.

CREATE TABLE profiles_v2 (
  id          BLOB    PRIMARY KEY,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  first_seen  INTEGER NOT NULL,
  last_seen   INTEGER NOT NULL,
  traits      TEXT    NOT NULL DEFAULT '{}',
  traits_meta TEXT    NOT NULL DEFAULT '{}'
) WITHOUT ROWID;
INSERT INTO profiles_v2 (id, created_at, updated_at, first_seen, last_seen, traits)
  SELECT omniloop_id_blob(id), created_at, updated_at, first_seen, last_seen, traits FROM profiles;

CREATE TABLE identities_v2 (
  type       TEXT    NOT NULL,
  hash       BLOB    NOT NULL,
  profile_id BLOB    NOT NULL REFERENCES profiles(id),
  source     TEXT    NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  PRIMARY KEY (type, hash)
) WITHOUT ROWID;
INSERT INTO identities_v2 (type, hash, profile_id, source, first_seen, last_seen)
  SELECT type, omniloop_hash_blob(hash), omniloop_id_blob(profile_id), source, first_seen, last_seen
  FROM identities;

-- Rows in ingestion order (rowid); the event id is a unique key beside it.
CREATE TABLE events_v2 (
  id          BLOB    NOT NULL UNIQUE,
  pipeline    TEXT    NOT NULL,
  source      TEXT    NOT NULL,
  profile_id  BLOB    REFERENCES profiles(id),
  channel     TEXT,
  type        TEXT,
  occurred_at INTEGER,
  ingested_at INTEGER NOT NULL,
  attributes  TEXT    NOT NULL DEFAULT '{}'
);
INSERT INTO events_v2 (rowid, id, pipeline, source, profile_id, channel, type, occurred_at, ingested_at, attributes)
  SELECT rowid, omniloop_id_blob(id), pipeline, source, omniloop_id_blob(profile_id), channel, type,
         occurred_at, ingested_at, attributes
  FROM events ORDER BY rowid;

CREATE TABLE consents_v2 (
  id             INTEGER PRIMARY KEY,
  profile_id     BLOB    REFERENCES profiles(id),
  identity_type  TEXT,
  identity_hash  TEXT,
  purpose        TEXT    NOT NULL,
  status         TEXT    NOT NULL CHECK (status IN ('granted', 'denied', 'unknown')),
  source         TEXT    NOT NULL,
  captured_at    INTEGER NOT NULL,
  evidence       TEXT,
  notice_version TEXT,
  CHECK (profile_id IS NOT NULL OR identity_hash IS NOT NULL)
);
INSERT INTO consents_v2 SELECT id, omniloop_id_blob(profile_id), identity_type, identity_hash, purpose,
  status, source, captured_at, evidence, notice_version FROM consents;

DROP TABLE consents;
DROP TABLE events;
DROP TABLE identities;
DROP TABLE profiles;
ALTER TABLE profiles_v2 RENAME TO profiles;
ALTER TABLE identities_v2 RENAME TO identities;
ALTER TABLE events_v2 RENAME TO events;
ALTER TABLE consents_v2 RENAME TO consents;
CREATE INDEX identities_profile ON identities(profile_id);
CREATE INDEX events_profile ON events(profile_id, occurred_at);
CREATE INDEX consents_profile ON consents(profile_id, purpose, captured_at);
CREATE INDEX consents_identity ON consents(identity_type, identity_hash, purpose);

-- An identity a per-type limit (identity.types.<type>.max_per_profile) kept off a profile:
-- where it stays (profile_id, '' when it was left unlinked), the profile it was kept away
-- from, how often and when. One row per identity and reason; profile ids as 32 hex text.
CREATE TABLE identity_conflicts (
  type          TEXT    NOT NULL,
  hash          BLOB    NOT NULL,
  reason        TEXT    NOT NULL,
  profile_id    TEXT    NOT NULL,
  other_profile TEXT    NOT NULL,
  first_at      INTEGER NOT NULL,
  last_at       INTEGER NOT NULL,
  occurrences   INTEGER NOT NULL,
  PRIMARY KEY (type, hash, reason)
) WITHOUT ROWID;
CREATE INDEX identity_conflicts_profile ON identity_conflicts(profile_id);
CREATE INDEX identity_conflicts_other ON identity_conflicts(other_profile);
CREATE INDEX profile_merges_into ON profile_merges(into_profile);
