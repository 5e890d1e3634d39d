-- Terms are kept only when they cannot identify a person by themselves: no digits (phone,
-- ID, house and flat numbers) and no e-mail addresses. Remove what was kept before the rule.
DELETE FROM insight_terms WHERE term GLOB '*[0-9０-９]*' OR term LIKE '%@%';
DELETE FROM insight_df WHERE term GLOB '*[0-9０-９]*' OR term LIKE '%@%';
DELETE FROM insight_term_days WHERE term GLOB '*[0-9０-９]*' OR term LIKE '%@%';
DELETE FROM insight_term_districts WHERE term GLOB '*[0-9０-９]*' OR term LIKE '%@%';
