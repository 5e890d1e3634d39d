-- Daily figures behind the dashboards: derived data, recomputed per day (in the configured
-- zone) from the cases, work orders and ratings whenever something happened on that day, and
-- rebuildable at any time with `tongban insight rebuild`.

-- Applications per day and department: submitted (and from mobile) that day; decided that day
-- (approved or rejected), on time, working days taken and promised; ratings given. (Per
-- matter would be ~100 times the rows for a city's catalogue; nothing reads it yet.)
CREATE TABLE insight_case_days (
    day TEXT NOT NULL,
    department_code TEXT NOT NULL,
    submitted BIGINT NOT NULL,
    mobile BIGINT NOT NULL,
    decided BIGINT NOT NULL,
    on_time BIGINT NOT NULL,
    days_taken BIGINT NOT NULL,
    days_promised BIGINT NOT NULL,
    rated BIGINT NOT NULL,
    satisfied BIGINT NOT NULL,
    bad BIGINT NOT NULL,
    PRIMARY KEY (day, department_code)
);

-- Work orders per day, responsible department ('' while undispatched), district and top-level
-- category: received (and from mobile, and by phone), answered and answered on time, closed, ratings given.
CREATE TABLE insight_order_days (
    day TEXT NOT NULL,
    department_code TEXT NOT NULL,
    district TEXT NOT NULL,
    category TEXT NOT NULL,
    received BIGINT NOT NULL,
    mobile BIGINT NOT NULL,
    phone BIGINT NOT NULL,
    replied BIGINT NOT NULL,
    replied_on_time BIGINT NOT NULL,
    closed BIGINT NOT NULL,
    rated BIGINT NOT NULL,
    satisfied BIGINT NOT NULL,
    bad BIGINT NOT NULL,
    PRIMARY KEY (day, department_code, district, category)
);

-- Where the daily figures have read up to in each source.
INSERT INTO insight_state (name, value) VALUES ('facts_case_event', 0);
INSERT INTO insight_state (name, value) VALUES ('facts_order_event', 0);
INSERT INTO insight_state (name, value) VALUES ('facts_rating', 0);
