-- Citizens' names are sealed with SM4 like their ID numbers and phones (existing names are
-- sealed at start-up); the blind index (SM3-HMAC) finds an applicant by exact name.
ALTER TABLE accounts ADD COLUMN name_bidx TEXT;
CREATE INDEX accounts_name_bidx ON accounts (name_bidx);
