-- Terms are kept only when they cannot identify a person by themselves: no digits (phone,
-- ID, house and flat numbers) and no e-mail addresses. Remove what was kept before the rule.
DELETE FROM insight_terms WHERE term ~ '[0-9０-９@]';
DELETE FROM insight_df WHERE term ~ '[0-9０-９@]';
DELETE FROM insight_term_days WHERE term ~ '[0-9０-９@]';
DELETE FROM insight_term_districts WHERE term ~ '[0-9０-９@]';
