-- Applications (办件), their timeline and uploaded materials.
CREATE TABLE cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_no TEXT NOT NULL UNIQUE,
    matter_code TEXT NOT NULL REFERENCES matters (code),
    department_code TEXT NOT NULL,
    applicant_id BIGINT NOT NULL REFERENCES accounts (id),
    status TEXT NOT NULL,
    form TEXT NOT NULL,
    submitted_at BIGINT NOT NULL,
    -- Dates (YYYY-MM-DD) in the configured zone.
    accepted_on TEXT,
    deadline TEXT,
    -- While needs_supplement: the state to return to, the day the pause began, what to fix.
    resume_status TEXT,
    paused_on TEXT,
    supplement_note TEXT,
    concluded_at BIGINT,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX cases_applicant ON cases (applicant_id, id);
CREATE INDEX cases_queue ON cases (department_code, status, deadline);
CREATE INDEX cases_status ON cases (status);

CREATE TABLE case_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    at BIGINT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id BIGINT NOT NULL,
    actor_name TEXT NOT NULL,
    role TEXT NOT NULL,
    department_code TEXT,
    note TEXT NOT NULL
);
CREATE INDEX case_events_case ON case_events (case_id, id);

CREATE TABLE case_materials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id BIGINT NOT NULL REFERENCES cases (id),
    material_key TEXT NOT NULL,
    filename TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha TEXT NOT NULL,
    uploaded_at BIGINT NOT NULL
);
CREATE INDEX case_materials_case ON case_materials (case_id, material_key);
