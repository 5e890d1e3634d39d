-- The region as data (issue 14): the administrative divisions the platform serves (GB/T 2260
-- codes; 12-digit 统计用区划代码 for streets and towns), their boundaries, the departments'
-- kind, parent and phone, and their service halls. Loaded by `tongban region import DIR`.
-- A division left out of a later import is retired, never deleted: orders and cases keep
-- the names they were filed with.
CREATE TABLE divisions (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    parent TEXT,
    level TEXT NOT NULL,
    population BIGINT,
    position BIGINT NOT NULL DEFAULT 0,
    retired_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX divisions_parent ON divisions (parent);

-- One GeoJSON geometry (Polygon or MultiPolygon, WGS 84 longitude/latitude) per division.
CREATE TABLE division_boundaries (
    code TEXT PRIMARY KEY,
    geometry TEXT NOT NULL
);

-- What the region says about itself: its name and the code in case and order numbers.
CREATE TABLE region_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

ALTER TABLE departments ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE departments ADD COLUMN parent TEXT;
ALTER TABLE departments ADD COLUMN phone TEXT NOT NULL DEFAULT '';

-- Service halls (办理地点) of departments, shown on matter guides (GB/T 39554).
CREATE TABLE halls (
    department_code TEXT NOT NULL,
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    hours TEXT NOT NULL,
    phone TEXT NOT NULL,
    complaint_phone TEXT NOT NULL,
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    PRIMARY KEY (department_code, position)
);
