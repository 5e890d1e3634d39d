-- One-time codes sent by text message to prove a phone is the applicant's (registration,
-- a change of number). Only an SM3-HMAC of purpose, phone and code is kept; the phone is
-- found by its blind index. A newer code for the same phone and purpose retires the older.
CREATE TABLE phone_codes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    phone_bidx TEXT NOT NULL,
    purpose TEXT NOT NULL,
    code_mac TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    tries BIGINT NOT NULL DEFAULT 0,
    used_at BIGINT
);
CREATE INDEX phone_codes_phone ON phone_codes (phone_bidx, purpose, id);
-- When the account's phone was last proved by a code (NULL: registered before codes).
ALTER TABLE accounts ADD COLUMN phone_verified_at BIGINT;
