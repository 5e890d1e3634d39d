-- Site editors and reviewers assigned to particular sites of their department (per site);
-- staff assigned nowhere act on every site their department owns.
CREATE TABLE site_staff (
    site_code TEXT NOT NULL,
    username TEXT NOT NULL,
    PRIMARY KEY (site_code, username)
);
CREATE INDEX site_staff_user ON site_staff (username);
