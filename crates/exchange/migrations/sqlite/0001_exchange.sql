-- Data sharing between departments (数据共享交换): the services departments provide, the
-- access they ask for and grant, the base registries behind built-in services, and the
-- hash-chained message log of every exchange.

-- A service a department provides. `sharing` is the national class of the information
-- resource: unconditional (无条件共享), conditional (有条件共享) or none (不予共享).
-- `backend`: registry (a base registry loaded into Tongban) or rest (an external service).
CREATE TABLE exchange_services (
    provider TEXT NOT NULL,
    code TEXT NOT NULL,
    version TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    request_schema TEXT NOT NULL,
    response_schema TEXT NOT NULL,
    sharing TEXT NOT NULL,
    backend TEXT NOT NULL,
    registry TEXT,
    rest_url TEXT,
    timeout_ms BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (provider, code)
);

-- A consumer department's request for access, with its purpose.
CREATE TABLE exchange_access_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    provider TEXT NOT NULL,
    service TEXT NOT NULL,
    consumer TEXT NOT NULL,
    purpose TEXT NOT NULL,
    reason TEXT NOT NULL,
    state TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    decided_by TEXT,
    decided_at BIGINT,
    decision_note TEXT
);
CREATE INDEX exchange_access_requests_provider ON exchange_access_requests (provider, state);

-- What the provider's administrator granted: one service, one consumer, one purpose, until
-- a day. Nothing else is allowed.
CREATE TABLE exchange_grants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    provider TEXT NOT NULL,
    service TEXT NOT NULL,
    consumer TEXT NOT NULL,
    purpose TEXT NOT NULL,
    valid_until BIGINT NOT NULL,
    granted_by TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX exchange_grants_lookup ON exchange_grants (provider, service, consumer);

-- Base registries (人口, 法人, 婚姻, 社保 …) loaded by their departments: each record sealed,
-- found by the blind index of its key.
CREATE TABLE exchange_registries (
    name TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    key_field TEXT NOT NULL,
    fields TEXT NOT NULL,
    records BIGINT NOT NULL,
    loaded_at BIGINT NOT NULL
);
CREATE TABLE exchange_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    registry TEXT NOT NULL,
    key_index TEXT NOT NULL,
    record TEXT NOT NULL,
    UNIQUE (registry, key_index)
);

-- Every exchange, answered or refused, chained with SM3: each entry holds its predecessor's
-- hash. The head row serializes appends on either engine.
CREATE TABLE exchange_log (
    seq BIGINT PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    at BIGINT NOT NULL,
    consumer TEXT NOT NULL,
    provider TEXT NOT NULL,
    service TEXT NOT NULL,
    purpose TEXT NOT NULL,
    subject TEXT NOT NULL,
    outcome TEXT NOT NULL,
    key_id TEXT NOT NULL,
    request_digest TEXT NOT NULL,
    response_digest TEXT NOT NULL,
    elapsed_us BIGINT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX exchange_log_subject ON exchange_log (subject);
CREATE TABLE exchange_log_head (
    id INTEGER PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO exchange_log_head (id, seq, hash) VALUES (1, 0, '');
