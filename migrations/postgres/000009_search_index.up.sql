-- Search on PostgreSQL already uses the trigram GIN indexes of migration 2; this version adds SQLite's
-- full-text index, and the two dialects keep the same version numbers.
SELECT 1;
