-- Derived data for hot topics and warnings, rebuilt from the work orders at any time.
-- One row per analysed message, in event time.
CREATE TABLE insight_docs (
    order_id BIGINT PRIMARY KEY,
    order_no TEXT NOT NULL,
    at BIGINT NOT NULL,
    district TEXT NOT NULL,
    category TEXT NOT NULL,
    department_code TEXT
);
CREATE INDEX insight_docs_at ON insight_docs (at);
CREATE INDEX insight_docs_place ON insight_docs (district, at);

-- The terms of each message.
CREATE TABLE insight_terms (
    order_id BIGINT NOT NULL,
    term TEXT NOT NULL,
    tf BIGINT NOT NULL,
    PRIMARY KEY (order_id, term)
);
CREATE INDEX insight_terms_term ON insight_terms (term, order_id);

-- Document frequency of each term over all history (for TF-IDF), and when it first appeared.
CREATE TABLE insight_df (
    term TEXT PRIMARY KEY,
    n BIGINT NOT NULL,
    first_at BIGINT NOT NULL
);

-- Messages per day and scope containing each term. Scope: 'city', 'd:<district>' or
-- 'dept:<code>'; the day is in the configured zone (YYYY-MM-DD).
CREATE TABLE insight_term_days (
    day TEXT NOT NULL,
    scope TEXT NOT NULL,
    term TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (day, scope, term)
);

-- Messages per day and scope.
CREATE TABLE insight_doc_days (
    day TEXT NOT NULL,
    scope TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (day, scope)
);

-- When each term was first seen in each district (for never-seen-before terms).
CREATE TABLE insight_term_districts (
    term TEXT NOT NULL,
    district TEXT NOT NULL,
    first_at BIGINT NOT NULL,
    PRIMARY KEY (term, district)
);

-- Messages per hour (epoch hours, UTC) per top-level category and district.
CREATE TABLE insight_hours (
    hour BIGINT NOT NULL,
    category TEXT NOT NULL,
    district TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (category, district, hour)
);
CREATE INDEX insight_hours_hour ON insight_hours (hour);

-- Cursors of the incremental computation.
CREATE TABLE insight_state (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

-- Early warnings. kind: 'rate' (category x district) or 'term' (a new term in a district).
CREATE TABLE insight_warnings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    category TEXT,
    district TEXT,
    term TEXT,
    department_code TEXT,
    since BIGINT NOT NULL,
    detected_at BIGINT NOT NULL,
    observed BIGINT NOT NULL,
    expected DOUBLE PRECISION NOT NULL,
    p_value DOUBLE PRECISION NOT NULL,
    samples TEXT NOT NULL,
    status TEXT NOT NULL,
    note TEXT,
    handled_by TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX insight_warnings_detected ON insight_warnings (detected_at);
CREATE INDEX insight_warnings_key ON insight_warnings (kind, category, district, term, detected_at);

-- The indexing cursor: the last work order analysed.
INSERT INTO insight_state (name, value) VALUES ('index_cursor', 0);

-- Page views counted by the platform itself, per day and device class (mobile/desktop).
CREATE TABLE insight_visits (
    day TEXT NOT NULL,
    device TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (day, device)
);

-- Distinct visitors per day: a keyed SM3 digest of the day, address and browser; no address
-- is stored, and the digests of different days cannot be linked.
CREATE TABLE insight_visitors (
    day TEXT NOT NULL,
    visitor TEXT NOT NULL,
    device TEXT NOT NULL,
    PRIMARY KEY (day, visitor)
);

-- Minutes in which a node was serving (for service availability).
CREATE TABLE insight_uptime (
    minute BIGINT PRIMARY KEY
);
