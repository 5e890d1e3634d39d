-- Audit entries not yet chained (see the PostgreSQL migration of the same number). SQLite,
-- with one writer, chains each entry in the transaction that writes it; this stays empty.
CREATE TABLE audit_pending (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    department TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    result TEXT NOT NULL,
    source TEXT NOT NULL,
    detail TEXT NOT NULL
);
