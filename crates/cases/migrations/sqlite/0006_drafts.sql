-- Drafts (暂存): a citizen's unfinished application, one per matter, kept 30 days after its
-- last save. The form is sealed like a case's; `given` names the files that go with it
-- (pending uploads, kept as long as the draft, and earlier uploads reused).
CREATE TABLE drafts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL,
    matter_code TEXT NOT NULL,
    form TEXT NOT NULL,
    given TEXT NOT NULL,
    saved_at BIGINT NOT NULL,
    UNIQUE (account_id, matter_code)
);
CREATE INDEX drafts_saved ON drafts (saved_at);
CREATE INDEX drafts_account ON drafts (account_id, saved_at);

-- Pending uploads are kept until a time of their own: a day after a refused attempt, as long
-- as the draft for a draft's files.
ALTER TABLE pending_uploads ADD COLUMN keep_until BIGINT NOT NULL DEFAULT 0;
UPDATE pending_uploads SET keep_until = created_at + 86400000;
DROP INDEX pending_uploads_created;
CREATE INDEX pending_uploads_keep ON pending_uploads (keep_until);
