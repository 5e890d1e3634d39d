-- English texts of a matter (its materials' are in their JSON): shown to English readers,
-- the Chinese where empty.
ALTER TABLE matters ADD COLUMN name_en TEXT NOT NULL DEFAULT '';
ALTER TABLE matters ADD COLUMN conditions_en TEXT NOT NULL DEFAULT '';
