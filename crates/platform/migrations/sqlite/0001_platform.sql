-- Shared ground: departments, citizen accounts, staff, sessions, the working-day calendar,
-- and named counters (case numbers). Instants are UTC milliseconds.
CREATE TABLE departments (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL
);

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    id_number TEXT NOT NULL UNIQUE,
    phone TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE staff (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    department_code TEXT NOT NULL REFERENCES departments (code),
    roles TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Sessions live in the database so that any node can serve any request.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject_id BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    idle_ms BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_subject ON sessions (kind, subject_id);

CREATE TABLE calendar_days (
    day TEXT PRIMARY KEY,
    workday BOOLEAN NOT NULL,
    name TEXT NOT NULL,
    year BIGINT NOT NULL
);

CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
