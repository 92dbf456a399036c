-- Plinx integration settings of each tenant. Secrets are write-only through the API.
ALTER TABLE tenants ADD COLUMN plinx_base_url TEXT;
ALTER TABLE tenants ADD COLUMN plinx_token TEXT;
ALTER TABLE tenants ADD COLUMN plinx_webhook_secret TEXT;

-- Webhook deliveries accepted, by sender, so a redelivery changes nothing.
CREATE TABLE webhook_receipts (
    tenant_id   TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    source      TEXT        NOT NULL,
    webhook_id  TEXT        NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, source, webhook_id)
);
CREATE INDEX webhook_receipts_received_idx ON webhook_receipts (received_at);

CREATE TABLE conversations (
    tenant_id       TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              TEXT        NOT NULL,
    plinx_id        TEXT        NOT NULL,
    phone_id        TEXT        NOT NULL,
    status          TEXT        NOT NULL CHECK (status IN ('open', 'closed')),
    started_at      TEXT,
    closed_at       TEXT,
    last_message_at TEXT,
    plinx_agent     TEXT,
    assigned_to     TEXT,
    company_id      TEXT,
    contact_id      TEXT,
    lead_id         TEXT,
    qualified_at    TEXT,
    qualified_by    TEXT,
    interaction_id  TEXT,
    version         INTEGER      NOT NULL DEFAULT 1,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, phone_id) REFERENCES phones (tenant_id, id),
    FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id),
    FOREIGN KEY (tenant_id, assigned_to) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, interaction_id) REFERENCES interactions (tenant_id, id)
);
CREATE UNIQUE INDEX conversations_plinx_key ON conversations (tenant_id, plinx_id);
CREATE INDEX conversations_phone_idx ON conversations (tenant_id, phone_id);
CREATE INDEX conversations_company_idx ON conversations (tenant_id, company_id, id);
CREATE INDEX conversations_contact_idx ON conversations (tenant_id, contact_id, id);
CREATE INDEX conversations_lead_idx ON conversations (tenant_id, lead_id, id);

CREATE TABLE conversation_messages (
    tenant_id       TEXT        NOT NULL,
    id              TEXT        NOT NULL,
    conversation_id TEXT        NOT NULL,
    plinx_id        TEXT        NOT NULL,
    direction       TEXT        NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    text            TEXT,
    sent_at         TEXT,
    status          TEXT CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
    status_at       TEXT,
    error_code      TEXT,
    error_message   TEXT,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX conversation_messages_plinx_key ON conversation_messages (tenant_id, plinx_id);
CREATE INDEX conversation_messages_conversation_idx ON conversation_messages (tenant_id, conversation_id, id);

-- Every change of a conversation's link: who, when, from and to.
CREATE TABLE conversation_link_changes (
    tenant_id       TEXT        NOT NULL,
    id              TEXT        NOT NULL,
    conversation_id TEXT        NOT NULL,
    reason          TEXT        NOT NULL CHECK (reason IN ('automatic', 'manual')),
    actor_id        TEXT,
    from_company_id TEXT,
    from_contact_id TEXT,
    from_lead_id    TEXT,
    from_phone_id   TEXT,
    to_company_id   TEXT,
    to_contact_id   TEXT,
    to_lead_id      TEXT,
    to_phone_id     TEXT,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX conversation_link_changes_conversation_idx ON conversation_link_changes (tenant_id, conversation_id, id);
