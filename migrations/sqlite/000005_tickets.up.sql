-- Where a ticket's public links point: URL templates with {token}; a null tracking template uses atende's
-- own public page, a null survey template means no survey link.
ALTER TABLE tenants ADD COLUMN tracking_url_template TEXT;
ALTER TABLE tenants ADD COLUMN survey_url_template TEXT;

-- WhatsApp templates (HSM) approved in Plinx.
CREATE TABLE message_templates (
    tenant_id  TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         TEXT        NOT NULL,
    name       TEXT        NOT NULL,
    language   TEXT        NOT NULL,
    body       TEXT        NOT NULL,
    variables  TEXT       NOT NULL DEFAULT '[]',
    version    INTEGER      NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX message_templates_name_key ON message_templates (tenant_id, name, language);

-- Procedures: ordered tasks a ticket goes through.
CREATE TABLE procedures (
    tenant_id   TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          TEXT        NOT NULL,
    name        TEXT        NOT NULL,
    description TEXT,
    version     INTEGER      NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE procedure_tasks (
    tenant_id     TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    procedure_id  TEXT    NOT NULL,
    position      INTEGER NOT NULL CHECK (position >= 1),
    name          TEXT    NOT NULL,
    send_whatsapp INTEGER NOT NULL DEFAULT 0,
    template_id   TEXT,
    variables     TEXT   NOT NULL DEFAULT '[]',
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, procedure_id) REFERENCES procedures (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, template_id) REFERENCES message_templates (tenant_id, id)
);
CREATE INDEX procedure_tasks_procedure_idx ON procedure_tasks (tenant_id, procedure_id, position);

-- External systems (ERPs) that send ticket events, signed with their own secret.
CREATE TABLE integrations (
    tenant_id             TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                    TEXT        NOT NULL,
    name                  TEXT        NOT NULL,
    active                INTEGER     NOT NULL DEFAULT 1,
    secret                TEXT        NOT NULL,
    previous_secret       TEXT,
    previous_expires_at   TEXT,
    secret_rotated_at     TEXT,
    default_procedure_id  TEXT,
    status_map            TEXT       NOT NULL DEFAULT '[]',
    version               INTEGER      NOT NULL DEFAULT 1,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, default_procedure_id) REFERENCES procedures (tenant_id, id)
);
CREATE UNIQUE INDEX integrations_id_key ON integrations (id);

-- Tickets, one per (integration, external code). issued_at is the ERP's issue date, YYYY-MM-DD.
-- The integration, procedure and task a ticket points at are checked by the application (none of them is
-- ever deleted while referenced) rather than by foreign keys: an FK check locks the parent row, and every
-- concurrent intake transaction would share locks on the same few rows.
CREATE TABLE tickets (
    tenant_id           TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  TEXT        NOT NULL,
    integration_id      TEXT        NOT NULL,
    external_code       TEXT        NOT NULL,
    process_number      TEXT,
    issued_at           TEXT,
    product_description TEXT,
    problem             TEXT,
    customer_document   TEXT,
    customer_name       TEXT,
    customer_phone      TEXT,
    customer_email      TEXT,
    company_id          TEXT,
    contact_id          TEXT,
    external_status     TEXT        NOT NULL,
    status              TEXT        NOT NULL CHECK (status IN ('open', 'in_progress', 'waiting', 'closed')),
    critical            INTEGER     NOT NULL DEFAULT 0,
    procedure_id        TEXT,
    current_task_id     TEXT,
    source_version      INTEGER      NOT NULL,
    extra               TEXT       NOT NULL DEFAULT '{}',
    public_token        TEXT        NOT NULL,
    closed_at           TEXT,
    version             INTEGER      NOT NULL DEFAULT 1,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id)
);
CREATE UNIQUE INDEX tickets_external_key ON tickets (tenant_id, integration_id, external_code);
CREATE UNIQUE INDEX tickets_public_token_key ON tickets (public_token);
CREATE INDEX tickets_status_idx ON tickets (tenant_id, status, id);
CREATE INDEX tickets_critical_idx ON tickets (tenant_id, id) WHERE critical = 1;
CREATE INDEX tickets_company_idx ON tickets (tenant_id, company_id, id);
CREATE INDEX tickets_contact_idx ON tickets (tenant_id, contact_id, id);
CREATE INDEX tickets_task_idx ON tickets (tenant_id, current_task_id);

-- What happened to each ticket, oldest first; append-only.
CREATE TABLE ticket_timeline (
    tenant_id  TEXT        NOT NULL,
    ticket_id  TEXT        NOT NULL,
    id         TEXT        NOT NULL,
    kind       TEXT        NOT NULL,
    text       TEXT        NOT NULL,
    message_id TEXT,
    task_id    TEXT,
    data       TEXT        NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, ticket_id, id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE
);

-- The outbox of WhatsApp template messages: one per (ticket, task), ever. The sender claims due rows. Task
-- and template are checked by the application, as for tickets.
CREATE TABLE outbound_messages (
    tenant_id        TEXT        NOT NULL,
    id               TEXT        NOT NULL,
    ticket_id        TEXT        NOT NULL,
    task_id          TEXT        NOT NULL,
    template_id      TEXT        NOT NULL,
    template         TEXT        NOT NULL,
    language         TEXT        NOT NULL,
    variables        TEXT       NOT NULL,
    to_phone         TEXT,
    wa_id            TEXT,
    status           TEXT        NOT NULL CHECK (status IN ('queued', 'accepted', 'sent', 'delivered', 'read', 'failed')),
    attempts         INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    lease_until      TEXT,
    leased_by        TEXT,
    plinx_message_id TEXT,
    error_code       TEXT,
    error_message    TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    accepted_at      TEXT,
    sent_at          TEXT,
    delivered_at     TEXT,
    read_at          TEXT,
    failed_at        TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX outbound_messages_task_key ON outbound_messages (tenant_id, ticket_id, task_id);
CREATE INDEX outbound_messages_due_idx ON outbound_messages (next_attempt_at) WHERE status = 'queued';
CREATE UNIQUE INDEX outbound_messages_plinx_key ON outbound_messages (tenant_id, plinx_message_id);
CREATE INDEX outbound_messages_list_idx ON outbound_messages (tenant_id, id);

-- Plinx statuses that arrived before the send they are about was recorded; applied when it is.
CREATE TABLE pending_message_statuses (
    tenant_id        TEXT        NOT NULL,
    plinx_message_id TEXT        NOT NULL,
    status           TEXT        NOT NULL,
    occurred_at      TEXT NOT NULL,
    error_code       TEXT,
    error_message    TEXT,
    received_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, plinx_message_id, status)
);
CREATE INDEX pending_message_statuses_received_idx ON pending_message_statuses (received_at);
