-- The consent ledger's evidence (docs/privacy.md "Consent ledger"): which pipeline recorded a
-- decision, from which event, and the IAB TCF string it came from when there was one. One row
-- per event, identity and purpose, so replaying a batch records nothing twice.
ALTER TABLE consents ADD COLUMN pipeline TEXT;
ALTER TABLE consents ADD COLUMN event_id TEXT COLLATE "C";
ALTER TABLE consents ADD COLUMN tc_string TEXT;
CREATE UNIQUE INDEX consents_record ON consents(event_id, identity_type, identity_hash, purpose);
