-- 受理时限: working days within which a submitted application is accepted or refused.
ALTER TABLE matters ADD COLUMN accept_days INTEGER NOT NULL DEFAULT 1;
