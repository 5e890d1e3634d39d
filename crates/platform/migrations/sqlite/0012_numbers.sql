-- PostgreSQL numbers cases and work orders from a sequence (see its 0012_numbers.sql). SQLite,
-- with one writer, keeps the day's counter rows: nothing changes here.
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
