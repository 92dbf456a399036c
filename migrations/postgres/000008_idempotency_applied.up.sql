-- When a request holding a key first committed a write: set inside that write's transaction, so a request
-- that fails after its write is never run again by a retry.
ALTER TABLE idempotency_keys ADD COLUMN applied_at timestamptz;
