-- Where a ticket's public links point: URL templates with {token}; a null tracking template uses atende's
-- own public page, a null survey template means no survey link.
ALTER TABLE tenants ADD COLUMN tracking_url_template text;
ALTER TABLE tenants ADD COLUMN survey_url_template text;

-- WhatsApp templates (HSM) approved in Plinx.
CREATE TABLE message_templates (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         uuid        NOT NULL,
    name       text        NOT NULL,
    language   text        NOT NULL,
    body       text        NOT NULL,
    variables  jsonb       NOT NULL DEFAULT '[]',
    version    bigint      NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX message_templates_name_key ON message_templates (tenant_id, name, language);

-- Procedures: ordered tasks a ticket goes through.
CREATE TABLE procedures (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid        NOT NULL,
    name        text        NOT NULL,
    description text,
    version     bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE procedure_tasks (
    tenant_id     uuid    NOT NULL,
    id            uuid    NOT NULL,
    procedure_id  uuid    NOT NULL,
    position      integer NOT NULL CHECK (position >= 1),
    name          text    NOT NULL,
    send_whatsapp boolean NOT NULL DEFAULT false,
    template_id   uuid,
    variables     jsonb   NOT NULL DEFAULT '[]',
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, procedure_id) REFERENCES procedures (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, template_id) REFERENCES message_templates (tenant_id, id)
);
CREATE INDEX procedure_tasks_procedure_idx ON procedure_tasks (tenant_id, procedure_id, position);

-- External systems (ERPs) that send ticket events, signed with their own secret.
CREATE TABLE integrations (
    tenant_id             uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                    uuid        NOT NULL,
    name                  text        NOT NULL,
    active                boolean     NOT NULL DEFAULT true,
    secret                text        NOT NULL,
    previous_secret       text,
    previous_expires_at   timestamptz,
    secret_rotated_at     timestamptz,
    default_procedure_id  uuid,
    status_map            jsonb       NOT NULL DEFAULT '[]',
    version               bigint      NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, default_procedure_id) REFERENCES procedures (tenant_id, id)
);
CREATE UNIQUE INDEX integrations_id_key ON integrations (id);

-- Tickets, one per (integration, external code). issued_at is the ERP's issue date, YYYY-MM-DD.
-- The integration, procedure and task a ticket points at are checked by the application (none of them is
-- ever deleted while referenced) rather than by foreign keys: an FK check locks the parent row, and every
-- concurrent intake transaction would share locks on the same few rows.
CREATE TABLE tickets (
    tenant_id           uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                  uuid        NOT NULL,
    integration_id      uuid        NOT NULL,
    external_code       text        NOT NULL,
    process_number      text,
    issued_at           text,
    product_description text,
    problem             text,
    customer_document   text,
    customer_name       text,
    customer_phone      text,
    customer_email      text,
    company_id          uuid,
    contact_id          uuid,
    external_status     text        NOT NULL,
    status              text        NOT NULL CHECK (status IN ('open', 'in_progress', 'waiting', 'closed')),
    critical            boolean     NOT NULL DEFAULT false,
    procedure_id        uuid,
    current_task_id     uuid,
    source_version      bigint      NOT NULL,
    extra               jsonb       NOT NULL DEFAULT '{}',
    public_token        text        NOT NULL,
    closed_at           timestamptz,
    version             bigint      NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id)
) WITH (fillfactor = 70);
CREATE UNIQUE INDEX tickets_external_key ON tickets (tenant_id, integration_id, external_code);
CREATE UNIQUE INDEX tickets_public_token_key ON tickets (public_token);
CREATE INDEX tickets_status_idx ON tickets (tenant_id, status, id);
CREATE INDEX tickets_critical_idx ON tickets (tenant_id, id) WHERE critical;
CREATE INDEX tickets_company_idx ON tickets (tenant_id, company_id, id);
CREATE INDEX tickets_contact_idx ON tickets (tenant_id, contact_id, id);
CREATE INDEX tickets_task_idx ON tickets (tenant_id, current_task_id);

-- What happened to each ticket, oldest first; append-only.
CREATE TABLE ticket_timeline (
    tenant_id  uuid        NOT NULL,
    ticket_id  uuid        NOT NULL,
    id         uuid        NOT NULL,
    kind       text        NOT NULL,
    text       text        NOT NULL,
    message_id uuid,
    task_id    uuid,
    data       json        NOT NULL,
    at         timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, ticket_id, id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE
);

-- The outbox of WhatsApp template messages: one per (ticket, task), ever. The sender claims due rows. Task
-- and template are checked by the application, as for tickets.
CREATE TABLE outbound_messages (
    tenant_id        uuid        NOT NULL,
    id               uuid        NOT NULL,
    ticket_id        uuid        NOT NULL,
    task_id          uuid        NOT NULL,
    template_id      uuid        NOT NULL,
    template         text        NOT NULL,
    language         text        NOT NULL,
    variables        jsonb       NOT NULL,
    to_phone         text,
    wa_id            text,
    status           text        NOT NULL CHECK (status IN ('queued', 'accepted', 'sent', 'delivered', 'read', 'failed')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    lease_until      timestamptz,
    leased_by        text,
    plinx_message_id text,
    error_code       text,
    error_message    text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    accepted_at      timestamptz,
    sent_at          timestamptz,
    delivered_at     timestamptz,
    read_at          timestamptz,
    failed_at        timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, ticket_id) REFERENCES tickets (tenant_id, id) ON DELETE CASCADE
) WITH (fillfactor = 80);
CREATE UNIQUE INDEX outbound_messages_task_key ON outbound_messages (tenant_id, ticket_id, task_id);
CREATE INDEX outbound_messages_due_idx ON outbound_messages (next_attempt_at) WHERE status = 'queued';
CREATE UNIQUE INDEX outbound_messages_plinx_key ON outbound_messages (tenant_id, plinx_message_id);
CREATE INDEX outbound_messages_list_idx ON outbound_messages (tenant_id, id);

-- Plinx statuses that arrived before the send they are about was recorded; applied when it is.
CREATE TABLE pending_message_statuses (
    tenant_id        uuid        NOT NULL,
    plinx_message_id text        NOT NULL,
    status           text        NOT NULL,
    occurred_at      timestamptz NOT NULL,
    error_code       text,
    error_message    text,
    received_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, plinx_message_id, status)
);
CREATE INDEX pending_message_statuses_received_idx ON pending_message_statuses (received_at);
