-- 12345-style work orders and their timeline. Content and phone are personal data: stored
-- SM4-encrypted like the one-stop core's forms.
CREATE TABLE work_orders (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_no TEXT NOT NULL UNIQUE,
    order_type TEXT NOT NULL,
    category TEXT NOT NULL,
    district TEXT NOT NULL,
    street TEXT NOT NULL,
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    public BOOLEAN NOT NULL,
    lat DOUBLE PRECISION,
    lng DOUBLE PRECISION,
    citizen_id BIGINT,
    phone TEXT,
    status TEXT NOT NULL,
    department_code TEXT,
    received_at BIGINT NOT NULL,
    sign_by TEXT,
    return_by TEXT,
    answer_by TEXT,
    updated_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX work_orders_queue ON work_orders (department_code, status, answer_by);

CREATE TABLE work_order_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id BIGINT NOT NULL REFERENCES work_orders (id),
    at BIGINT NOT NULL,
    action TEXT NOT NULL,
    to_status TEXT NOT NULL,
    actor TEXT NOT NULL,
    department_code TEXT,
    note TEXT NOT NULL
);
CREATE INDEX work_order_events_order ON work_order_events (order_id, id);
