-- Files of an application that was refused for another reason (a field wrong, a material
-- missing): kept for their owner for a day, so that the corrected form need not choose them
-- again.
CREATE TABLE pending_uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL,
    material_key TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX pending_uploads_account ON pending_uploads (account_id, id);
CREATE INDEX pending_uploads_created ON pending_uploads (created_at);
