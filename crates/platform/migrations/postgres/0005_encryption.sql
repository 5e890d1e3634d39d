-- Blind indexes (SM3-HMAC) for exact lookups of the SM4-encrypted ID number and phone.
ALTER TABLE accounts ADD COLUMN id_number_bidx TEXT;
ALTER TABLE accounts ADD COLUMN phone_bidx TEXT;
CREATE UNIQUE INDEX accounts_id_number_bidx ON accounts (id_number_bidx);
CREATE UNIQUE INDEX accounts_phone_bidx ON accounts (phone_bidx);
