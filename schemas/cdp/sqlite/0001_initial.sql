-- omniloop CDP store, SQLite dialect, migration 1: the initial schema.
-- Times are INTEGER microseconds since 1970-01-01 UTC (datetime(x / 1000000, 'unixepoch')
-- shows one); JSON columns are TEXT holding one JSON object. Identity values are only ever
-- stored pseudonymised: "h1:<key id>:<HMAC-SHA256 hex>".

-- Applied migrations, one row each. The highest version is the schema version.
CREATE TABLE schema_version (
  version    INTEGER PRIMARY KEY,
  name       TEXT    NOT NULL,
  applied_at INTEGER NOT NULL
);

-- One row per known person. id: 32 hex, derived from the identity that created it.
CREATE TABLE profiles (
  id         TEXT    PRIMARY KEY,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  traits     TEXT    NOT NULL DEFAULT '{}'
);

-- The identity graph: a pseudonymised identifier (type + keyed hash) points at one profile.
CREATE TABLE identities (
  type       TEXT    NOT NULL,
  hash       TEXT    NOT NULL,
  profile_id TEXT    NOT NULL REFERENCES profiles(id),
  source     TEXT    NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  PRIMARY KEY (type, hash)
) WITHOUT ROWID;
CREATE INDEX identities_profile ON identities(profile_id);

-- Every event that reached the store; id is deterministic, so a replay updates in place.
CREATE TABLE events (
  id          TEXT    PRIMARY KEY,
  pipeline    TEXT    NOT NULL,
  source      TEXT    NOT NULL,
  profile_id  TEXT    REFERENCES profiles(id),
  channel     TEXT,
  type        TEXT,
  occurred_at INTEGER,
  ingested_at INTEGER NOT NULL,
  attributes  TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX events_profile ON events(profile_id, occurred_at);

-- The consent ledger: what a subject (a profile, or a pseudonymised identity before any
-- profile exists) agreed to, for which purpose, when, and the evidence.
CREATE TABLE consents (
  id             INTEGER PRIMARY KEY,
  profile_id     TEXT    REFERENCES profiles(id),
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
CREATE INDEX consents_profile ON consents(profile_id, purpose, captured_at);
CREATE INDEX consents_identity ON consents(identity_type, identity_hash, purpose);

-- Profiles folded into another one (the identity graph found they are one person).
CREATE TABLE profile_merges (
  id           INTEGER PRIMARY KEY,
  from_profile TEXT    NOT NULL,
  into_profile TEXT    NOT NULL,
  reason       TEXT    NOT NULL,
  merged_at    INTEGER NOT NULL
);
CREATE INDEX profile_merges_from ON profile_merges(from_profile);

-- Erased subjects: their pseudonymised identifiers are refused at ingestion.
CREATE TABLE suppressions (
  type       TEXT    NOT NULL,
  hash       TEXT    NOT NULL,
  reason     TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (type, hash)
) WITHOUT ROWID;

-- Events no stage or sink could handle, with why. id is deterministic (pipeline, source, event).
CREATE TABLE dead_letters (
  id         TEXT    PRIMARY KEY,
  pipeline   TEXT    NOT NULL,
  source     TEXT    NOT NULL,
  event_id   TEXT,
  reason     TEXT    NOT NULL,
  payload    TEXT    NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX dead_letters_pipeline ON dead_letters(pipeline, source, created_at);

-- Where each pipeline's source resumes: written in the same transaction as its events.
CREATE TABLE checkpoints (
  pipeline   TEXT    NOT NULL,
  source     TEXT    NOT NULL,
  cursor     TEXT    NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (pipeline, source)
) WITHOUT ROWID;

-- Who did what to personal data (erasure, export, key rotation, merges). Never clear values.
CREATE TABLE audit_log (
  id      INTEGER PRIMARY KEY,
  at      INTEGER NOT NULL,
  actor   TEXT    NOT NULL,
  action  TEXT    NOT NULL,
  subject TEXT,
  details TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log(at);
