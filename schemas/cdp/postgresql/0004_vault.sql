-- omniloop CDP store, PostgreSQL dialect: the tokenisation vault (docs/privacy.md "Tokenisation
-- vault"). A token ("tk1:<vault key id>:<hex>") maps to its value sealed with AES-256-GCM under
-- the vault key, which lives in its own key file, never in the store. expires_at: rows kept
-- only for a while (unparsable dead-letter records); NULL rows stay until erased.
CREATE TABLE vault (
  token      TEXT   PRIMARY KEY,
  key_id     TEXT   NOT NULL,
  sealed     TEXT   NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT
);
CREATE INDEX vault_expires ON vault(expires_at) WHERE expires_at IS NOT NULL;
