-- A department left out of a later region import is retired: kept (its staff, cases and
-- orders still name it), no longer offered in pickers or to routing. A catalogue import
-- that names it brings it back.
ALTER TABLE departments ADD COLUMN retired_at BIGINT;
