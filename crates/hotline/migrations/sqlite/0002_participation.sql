-- The rest of the work-order loop, public letters, 好差评 ratings with rectification, and
-- Open311 partner keys.
ALTER TABLE work_orders ADD COLUMN channel TEXT NOT NULL DEFAULT 'web';
ALTER TABLE work_orders ADD COLUMN email TEXT;
ALTER TABLE work_orders ADD COLUMN photo TEXT;
ALTER TABLE work_orders ADD COLUMN supervised BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE work_orders ADD COLUMN escalated BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE work_orders ADD COLUMN dispatched_on TEXT;
-- The deadline that matters now (sign_by while dispatched, answer_by while signed).
ALTER TABLE work_orders ADD COLUMN due_on TEXT;
UPDATE work_orders SET due_on = sign_by WHERE status = 'dispatched';
ALTER TABLE work_orders ADD COLUMN extension_days BIGINT;
ALTER TABLE work_orders ADD COLUMN extension_reason TEXT;
ALTER TABLE work_orders ADD COLUMN reply TEXT;
ALTER TABLE work_orders ADD COLUMN replied_at BIGINT;
ALTER TABLE work_orders ADD COLUMN replied_on_time BOOLEAN;
ALTER TABLE work_orders ADD COLUMN closed_at BIGINT;
-- The editor-reviewed public version of a letter (personal data removed) and its reply.
ALTER TABLE work_orders ADD COLUMN public_text TEXT;
ALTER TABLE work_orders ADD COLUMN public_reply TEXT;
ALTER TABLE work_orders ADD COLUMN published_at BIGINT;
ALTER TABLE work_orders ADD COLUMN api_key_id BIGINT;
CREATE INDEX work_orders_citizen ON work_orders (citizen_id, id);
CREATE INDEX work_orders_status ON work_orders (status, id);
-- A department's queue, walked in deadline order.
CREATE INDEX work_orders_dept_queue ON work_orders (department_code, due_on, id) WHERE status IN ('dispatched', 'signed');
CREATE INDEX work_orders_published ON work_orders (published_at);
CREATE INDEX work_orders_closed ON work_orders (closed_at);
-- What the escalation sweep looks at.
CREATE INDEX work_orders_escalation ON work_orders (due_on) WHERE status IN ('dispatched', 'signed') AND NOT escalated;
-- What the supervisor watches.
CREATE INDEX work_orders_attention ON work_orders (due_on, id) WHERE (escalated OR supervised OR extension_days IS NOT NULL) AND status <> 'closed';

-- One rating per case or order (一事一评). rater_id is never shown to the department.
CREATE TABLE ratings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject_kind TEXT NOT NULL,
    subject_no TEXT NOT NULL,
    department_code TEXT NOT NULL,
    matter_code TEXT,
    rater_id BIGINT,
    level BIGINT NOT NULL,
    dimensions TEXT NOT NULL,
    comment TEXT NOT NULL,
    by_default BOOLEAN NOT NULL,
    rated_at BIGINT NOT NULL,
    appeal TEXT,
    appeal_outcome TEXT,
    UNIQUE (subject_kind, subject_no)
);
CREATE INDEX ratings_department ON ratings (department_code, level);
CREATE INDEX ratings_matter ON ratings (matter_code, level);

-- 整改: every 不满意 / 非常不满意 rating opens one.
CREATE TABLE rectifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rating_id BIGINT NOT NULL UNIQUE REFERENCES ratings (id),
    department_code TEXT NOT NULL,
    status TEXT NOT NULL,
    due_by TEXT NOT NULL,
    callback_note TEXT,
    callback_at BIGINT,
    outcome TEXT,
    done_at BIGINT,
    on_time BOOLEAN,
    escalated BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);
CREATE INDEX rectifications_department ON rectifications (department_code, status, due_by);

-- Open311 partner applications; the key itself is kept only as its SM3 hash.
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    revoked BOOLEAN NOT NULL DEFAULT FALSE
);

-- Editable configuration of the hotline: routing rules and time limits (JSON values).
CREATE TABLE hotline_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
