-- The channel an application came through (web or mobile, from the browser or app that sent
-- it), for the mobile share of applications; and the index the daily figures read by.
ALTER TABLE cases ADD COLUMN channel TEXT NOT NULL DEFAULT 'web';
CREATE INDEX cases_submitted ON cases (submitted_at);
-- What is overdue right now (the dashboards), without reading every open case.
CREATE INDEX cases_open_deadline ON cases (deadline, department_code, matter_code) WHERE status = 'accepted';
