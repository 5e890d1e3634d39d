-- Datasets people ask for (the request-a-dataset form), public with their answers:
-- status 'open', then 'planned', 'published' or 'declined' with a reply by a publisher of
-- the department asked (or of any department when none was named).
CREATE TABLE od_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    department_code TEXT,
    contact TEXT NOT NULL,
    status TEXT NOT NULL,
    reply TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    answered_at BIGINT,
    answered_by TEXT
);
CREATE INDEX od_requests_created ON od_requests (created_at);
