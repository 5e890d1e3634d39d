-- Disclosure on request (依申请公开, 政府信息公开条例 Art. 27–45). Who asked and how to reach
-- them, and what they asked, are sealed (SM4). `received_on` is the day the limit counts
-- from (the day a corrected request arrived, Art. 30); `due_on` is empty while the requester
-- corrects the request. One extension of 20 working days (Art. 33).
CREATE TABLE disclosure_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_no TEXT NOT NULL UNIQUE,
    department_code TEXT NOT NULL,
    account_id BIGINT NOT NULL,
    applicant_kind TEXT NOT NULL,
    org_kind TEXT NOT NULL,
    applicant TEXT NOT NULL,
    credit_code TEXT,
    contact TEXT NOT NULL,
    description TEXT NOT NULL,
    purpose TEXT NOT NULL,
    delivery TEXT NOT NULL,
    state TEXT NOT NULL,
    received_on TEXT NOT NULL,
    due_on TEXT,
    extended BOOLEAN NOT NULL,
    correction_note TEXT,
    outcome TEXT,
    reason TEXT,
    answer TEXT,
    answered_on TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX disclosure_requests_dept ON disclosure_requests (department_code, state, due_on);
CREATE INDEX disclosure_requests_account ON disclosure_requests (account_id, id);

CREATE TABLE disclosure_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE INDEX disclosure_events_of ON disclosure_events (request_id, id);
