-- omniloop CDP store, PostgreSQL dialect, migration 2: identity resolution (the twin of
-- schemas/cdp/sqlite/0002_identity.sql; SQLite also moves its keys to BLOBs, PostgreSQL keeps
-- them as "C"-collated text).
--
-- * profiles.traits_meta: per-trait state needed to combine traits exactly (the time of each
--   `last` value);
-- * identity_conflicts: identities a per-type limit kept away from a profile.

ALTER TABLE profiles ADD COLUMN traits_meta JSONB NOT NULL DEFAULT '{}';

-- An identity a per-type limit (identity.types.<type>.max_per_profile) kept off a profile:
-- where it stays (profile_id, '' when it was left unlinked), the profile it was kept away
-- from, how often and when. One row per identity and reason.
CREATE TABLE identity_conflicts (
  type          TEXT    COLLATE "C" NOT NULL,
  hash          TEXT    COLLATE "C" NOT NULL,
  reason        TEXT    COLLATE "C" NOT NULL,
  profile_id    TEXT    COLLATE "C" NOT NULL,
  other_profile TEXT    COLLATE "C" NOT NULL,
  first_at      BIGINT  NOT NULL,
  last_at       BIGINT  NOT NULL,
  occurrences   BIGINT  NOT NULL,
  PRIMARY KEY (type, hash, reason)
);
CREATE INDEX identity_conflicts_profile ON identity_conflicts(profile_id);
CREATE INDEX identity_conflicts_other ON identity_conflicts(other_profile);
CREATE INDEX profile_merges_into ON profile_merges(into_profile);
