-- Business hours of the tenant's calendar.
ALTER TABLE tenants ADD COLUMN working_days text NOT NULL DEFAULT 'monday,tuesday,wednesday,thursday,friday';
ALTER TABLE tenants ADD COLUMN opens_at text NOT NULL DEFAULT '08:00';
ALTER TABLE tenants ADD COLUMN closes_at text NOT NULL DEFAULT '18:00';

CREATE TABLE holidays (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         uuid        NOT NULL,
    date       text        NOT NULL,
    name       text        NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX holidays_tenant_date_key ON holidays (tenant_id, date);

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE companies (
    tenant_id     uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            uuid        NOT NULL,
    legal_name    text        NOT NULL,
    trade_name    text,
    cnpj          text,
    status        text        NOT NULL CHECK (status IN ('active', 'inactive')),
    owner_id      uuid,
    custom_fields jsonb       NOT NULL DEFAULT '{}',
    addresses     jsonb       NOT NULL DEFAULT '[]',
    search_text   text        NOT NULL,
    archived_at   timestamptz,
    deleted_at    timestamptz,
    version       bigint      NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id)
);
CREATE UNIQUE INDEX companies_tenant_cnpj_key ON companies (tenant_id, cnpj) WHERE cnpj IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX companies_search_idx ON companies USING gin (search_text gin_trgm_ops);

CREATE TABLE contacts (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid        NOT NULL,
    name        text        NOT NULL,
    email       text,
    job_title   text,
    birthday    text,
    notes       text,
    search_text text        NOT NULL,
    archived_at timestamptz,
    deleted_at  timestamptz,
    version     bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX contacts_search_idx ON contacts USING gin (search_text gin_trgm_ops);
CREATE INDEX contacts_tenant_email_idx ON contacts (tenant_id, email);
CREATE INDEX companies_tenant_legal_name_idx ON companies (tenant_id, legal_name);

CREATE TABLE contact_companies (
    tenant_id  uuid NOT NULL,
    contact_id uuid NOT NULL,
    company_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, contact_id, company_id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_companies_company_idx ON contact_companies (tenant_id, company_id, contact_id);

CREATE TABLE leads (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid        NOT NULL,
    name         text        NOT NULL,
    company_name text,
    email        text,
    source       text,
    status       text        NOT NULL CHECK (status IN ('new', 'contacted', 'qualified', 'converted', 'lost')),
    search_text  text        NOT NULL,
    archived_at  timestamptz,
    deleted_at   timestamptz,
    version      bigint      NOT NULL DEFAULT 1,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX leads_search_idx ON leads USING gin (search_text gin_trgm_ops);

CREATE TABLE phones (
    tenant_id             uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                    uuid        NOT NULL,
    e164                  text        NOT NULL,
    type                  text        NOT NULL CHECK (type IN ('mobile', 'landline', 'unknown')),
    whatsapp_id           text,
    whatsapp_confirmed_at timestamptz,
    version               bigint      NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX phones_tenant_e164_key ON phones (tenant_id, e164);

-- Which records a phone belongs to. record_id points at companies, contacts or leads by record_type.
CREATE TABLE phone_links (
    tenant_id   uuid        NOT NULL,
    phone_id    uuid        NOT NULL,
    record_type text        NOT NULL CHECK (record_type IN ('company', 'contact', 'lead')),
    record_id   uuid        NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, phone_id, record_id),
    FOREIGN KEY (tenant_id, phone_id) REFERENCES phones (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX phone_links_record_idx ON phone_links (tenant_id, record_id);

-- The updates log (Atualizações): append-only.
CREATE TABLE record_updates (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid        NOT NULL,
    record_type text        NOT NULL CHECK (record_type IN ('company', 'contact', 'lead')),
    record_id   uuid        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('system', 'user')),
    message     text        NOT NULL,
    actor_id    uuid,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX record_updates_record_idx ON record_updates (tenant_id, record_id, id);

CREATE TABLE results (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid        NOT NULL,
    code        text        NOT NULL,
    name        text        NOT NULL,
    description text,
    archived_at timestamptz,
    version     bigint      NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX results_tenant_code_key ON results (tenant_id, code);

CREATE TABLE follow_ups (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             uuid        NOT NULL,
    company_id     uuid,
    contact_id     uuid,
    lead_id        uuid,
    phone_id       uuid,
    due_at         timestamptz NOT NULL,
    agent_id       uuid,
    campaign_id    uuid,
    status         text        NOT NULL CHECK (status IN ('pending', 'done', 'canceled')),
    notes          text,
    interaction_id uuid,
    version        bigint      NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES users (tenant_id, id),
    CHECK (company_id IS NOT NULL OR contact_id IS NOT NULL OR lead_id IS NOT NULL)
);
CREATE INDEX follow_ups_due_idx ON follow_ups (tenant_id, status, due_at);
CREATE INDEX follow_ups_company_idx ON follow_ups (tenant_id, company_id);
CREATE INDEX follow_ups_contact_idx ON follow_ups (tenant_id, contact_id);
CREATE INDEX follow_ups_lead_idx ON follow_ups (tenant_id, lead_id);

CREATE TABLE interactions (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              uuid        NOT NULL,
    channel         text        NOT NULL CHECK (channel IN ('phone', 'whatsapp', 'email', 'in_person', 'other')),
    origin          text        NOT NULL CHECK (origin IN ('dialer', 'whatsapp', 'manual', 'integration')),
    result_code     text        NOT NULL,
    notes           text,
    agent_id        uuid,
    company_id      uuid,
    contact_id      uuid,
    lead_id         uuid,
    conversation_id uuid,
    call_id         uuid,
    follow_up_id    uuid,
    occurred_at     timestamptz NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, id),
    FOREIGN KEY (tenant_id, agent_id) REFERENCES users (tenant_id, id),
    FOREIGN KEY (tenant_id, follow_up_id) REFERENCES follow_ups (tenant_id, id),
    CHECK (company_id IS NOT NULL OR contact_id IS NOT NULL OR lead_id IS NOT NULL)
);
CREATE INDEX interactions_company_idx ON interactions (tenant_id, company_id, id);
CREATE INDEX interactions_contact_idx ON interactions (tenant_id, contact_id, id);
CREATE INDEX interactions_lead_idx ON interactions (tenant_id, lead_id, id);
CREATE INDEX interactions_result_idx ON interactions (tenant_id, result_code);

CREATE TABLE imports (
    tenant_id        uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               uuid        NOT NULL,
    kind             text        NOT NULL,
    status           text        NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    charset          text,
    delimiter        text,
    rows             integer     NOT NULL DEFAULT 0,
    created          integer     NOT NULL DEFAULT 0,
    updated          integer     NOT NULL DEFAULT 0,
    failed           integer     NOT NULL DEFAULT 0,
    ignored_columns  jsonb       NOT NULL DEFAULT '[]',
    errors           jsonb       NOT NULL DEFAULT '[]',
    errors_truncated boolean     NOT NULL DEFAULT false,
    detail           text,
    created_by       uuid,
    created_at       timestamptz NOT NULL,
    finished_at      timestamptz,
    PRIMARY KEY (tenant_id, id)
);
