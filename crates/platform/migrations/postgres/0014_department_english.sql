-- A department's name in English (shown to English readers; the Chinese where empty).
ALTER TABLE departments ADD COLUMN name_en TEXT NOT NULL DEFAULT '';
