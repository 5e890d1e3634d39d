-- Case and work-order numbers on PostgreSQL come from this sequence: a counter row that every
-- submission updates is held until its commit, so it would let only one submission commit at a
-- time across every node. Numbers stay unique and increasing; they may skip (a rolled-back
-- submission keeps its number). SQLite, with one writer, keeps the day's counter rows.
CREATE SEQUENCE numbers_seq;
