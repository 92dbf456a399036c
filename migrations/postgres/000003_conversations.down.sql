DROP TABLE IF EXISTS conversation_link_changes;
DROP TABLE IF EXISTS conversation_messages;
DROP TABLE IF EXISTS conversations;
DROP TABLE IF EXISTS webhook_receipts;
ALTER TABLE tenants DROP COLUMN IF EXISTS plinx_webhook_secret;
ALTER TABLE tenants DROP COLUMN IF EXISTS plinx_token;
ALTER TABLE tenants DROP COLUMN IF EXISTS plinx_base_url;
