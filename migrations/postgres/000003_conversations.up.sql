-- Plinx integration settings of each tenant. Secrets are write-only through the API.
ALTER TABLE tenants ADD COLUMN plinx_base_url text;
ALTER TABLE tenants ADD COLUMN plinx_token text;
ALTER TABLE tenants ADD COLUMN plinx_webhook_secret text;

-- Webhook deliveries accepted, by sender, so a redelivery changes nothing.
CREATE TABLE webhook_receipts (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    source      text        NOT NULL,
    webhook_id  text        NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, source, webhook_id)
);
CREATE INDEX webhook_receipts_received_idx ON webhook_receipts (received_at);

CREATE TABLE conversations (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              uuid        NOT NULL,
    plinx_id        text        NOT NULL,
    phone_id        uuid        NOT NULL,
    status          text        NOT NULL CHECK (status IN ('open', 'closed')),
    started_at      timestamptz,
    closed_at       timestamptz,
    last_message_at timestamptz,
    plinx_agent     text,
    assigned_to     uuid,
    company_id      uuid,
    contact_id      uuid,
    lead_id         uuid,
    qualified_at    timestamptz,
    qualified_by    uuid,
    interaction_id  uuid,
    version         bigint      NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
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
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    conversation_id uuid        NOT NULL,
    plinx_id        text        NOT NULL,
    direction       text        NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    text            text,
    sent_at         timestamptz,
    status          text CHECK (status IN ('sent', 'delivered', 'read', 'failed')),
    status_at       timestamptz,
    error_code      text,
    error_message   text,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX conversation_messages_plinx_key ON conversation_messages (tenant_id, plinx_id);
CREATE INDEX conversation_messages_conversation_idx ON conversation_messages (tenant_id, conversation_id, id);

-- Every change of a conversation's link: who, when, from and to.
CREATE TABLE conversation_link_changes (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    conversation_id uuid        NOT NULL,
    reason          text        NOT NULL CHECK (reason IN ('automatic', 'manual')),
    actor_id        uuid,
    from_company_id uuid,
    from_contact_id uuid,
    from_lead_id    uuid,
    from_phone_id   uuid,
    to_company_id   uuid,
    to_contact_id   uuid,
    to_lead_id      uuid,
    to_phone_id     uuid,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, conversation_id) REFERENCES conversations (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX conversation_link_changes_conversation_idx ON conversation_link_changes (tenant_id, conversation_id, id);
