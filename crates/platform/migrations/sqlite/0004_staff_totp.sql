-- Second factor for staff: the TOTP secret (base32) and the last time step used, so a code
-- cannot be replayed.
ALTER TABLE staff ADD COLUMN totp_secret TEXT;
ALTER TABLE staff ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
