-- The day a built-in dataset (source 'builtin:…') was last refreshed from the platform's
-- figures, in the region's time zone: the worker's claim on the day's refresh.
ALTER TABLE od_datasets ADD COLUMN refreshed_on TEXT;
