-- The identity graph's foreign key to profiles goes (docs/store.md "Group commit and the
-- PostgreSQL write path"): its check is a trigger and a row lock on the profile per inserted
-- identity, about half of what inserting an identity cost (bench/README.md). Every write of
-- the graph runs under the store's writer lock, and a profile is deleted only after its
-- identities were re-pointed (a merge) or deleted (an erasure) in the same transaction.
ALTER TABLE identities DROP CONSTRAINT IF EXISTS identities_profile_id_fkey;
