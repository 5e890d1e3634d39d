-- The service catalogue. Materials and form fields are JSON documents owned by their matter:
-- they are always read and written with it.
CREATE TABLE matters (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    department_code TEXT NOT NULL REFERENCES departments (code),
    kind TEXT NOT NULL,
    legal_days BIGINT NOT NULL,
    promised_days BIGINT NOT NULL,
    fee TEXT NOT NULL,
    online_depth BIGINT NOT NULL,
    max_visits BIGINT NOT NULL,
    conditions TEXT NOT NULL,
    legal_basis TEXT NOT NULL,
    published BOOLEAN NOT NULL,
    materials TEXT NOT NULL,
    fields TEXT NOT NULL,
    position BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX matters_department ON matters (department_code, position);
