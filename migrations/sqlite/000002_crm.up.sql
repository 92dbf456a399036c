-- Business hours of the tenant's calendar.
ALTER TABLE tenants ADD COLUMN working_days TEXT NOT NULL DEFAULT 'monday,tuesday,wednesday,thursday,friday';
ALTER TABLE tenants ADD COLUMN opens_at TEXT NOT NULL DEFAULT '08:00';
ALTER TABLE tenants ADD COLUMN closes_at TEXT NOT NULL DEFAULT '18:00';

CREATE TABLE holidays (
    tenant_id  TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         TEXT        NOT NULL,
    date       TEXT        NOT NULL,
    name       TEXT        NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX holidays_tenant_date_key ON holidays (tenant_id, date);

CREATE TABLE companies (
    tenant_id     TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            TEXT        NOT NULL,
    legal_name    TEXT        NOT NULL,
    trade_name    TEXT,
    cnpj          TEXT,
    status        TEXT        NOT NULL CHECK (status IN ('active', 'inactive')),
    owner_id      TEXT,
    custom_fields TEXT       NOT NULL DEFAULT '{}',
    addresses     TEXT       NOT NULL DEFAULT '[]',
    search_text   TEXT        NOT NULL,
    archived_at   TEXT,
    deleted_at    TEXT,
    version       INTEGER      NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, owner_id) REFERENCES users (tenant_id, id)
);
CREATE UNIQUE INDEX companies_tenant_cnpj_key ON companies (tenant_id, cnpj) WHERE cnpj IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE contacts (
    tenant_id   TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          TEXT        NOT NULL,
    name        TEXT        NOT NULL,
    email       TEXT,
    job_title   TEXT,
    birthday    TEXT,
    notes       TEXT,
    search_text TEXT        NOT NULL,
    archived_at TEXT,
    deleted_at  TEXT,
    version     INTEGER      NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX contacts_tenant_email_idx ON contacts (tenant_id, email);
CREATE INDEX companies_tenant_legal_name_idx ON companies (tenant_id, legal_name);

CREATE TABLE contact_companies (
    tenant_id  TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    company_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, contact_id, company_id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES contacts (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, company_id) REFERENCES companies (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_companies_company_idx ON contact_companies (tenant_id, company_id, contact_id);

CREATE TABLE leads (
    tenant_id    TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           TEXT        NOT NULL,
    name         TEXT        NOT NULL,
    company_name TEXT,
    email        TEXT,
    source       TEXT,
    status       TEXT        NOT NULL CHECK (status IN ('new', 'contacted', 'qualified', 'converted', 'lost')),
    search_text  TEXT        NOT NULL,
    archived_at  TEXT,
    deleted_at   TEXT,
    version      INTEGER      NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;

CREATE TABLE phones (
    tenant_id             TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                    TEXT        NOT NULL,
    e164                  TEXT        NOT NULL,
    type                  TEXT        NOT NULL CHECK (type IN ('mobile', 'landline', 'unknown')),
    whatsapp_id           TEXT,
    whatsapp_confirmed_at TEXT,
    version               INTEGER      NOT NULL DEFAULT 1,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX phones_tenant_e164_key ON phones (tenant_id, e164);

-- Which records a phone belongs to. record_id points at companies, contacts or leads by record_type.
CREATE TABLE phone_links (
    tenant_id   TEXT        NOT NULL,
    phone_id    TEXT        NOT NULL,
    record_type TEXT        NOT NULL CHECK (record_type IN ('company', 'contact', 'lead')),
    record_id   TEXT        NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, phone_id, record_id),
    FOREIGN KEY (tenant_id, phone_id) REFERENCES phones (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX phone_links_record_idx ON phone_links (tenant_id, record_id);

-- The updates log (Atualizações): append-only.
CREATE TABLE record_updates (
    tenant_id   TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          TEXT        NOT NULL,
    record_type TEXT        NOT NULL CHECK (record_type IN ('company', 'contact', 'lead')),
    record_id   TEXT        NOT NULL,
    kind        TEXT        NOT NULL CHECK (kind IN ('system', 'user')),
    message     TEXT        NOT NULL,
    actor_id    TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE INDEX record_updates_record_idx ON record_updates (tenant_id, record_id, id);

CREATE TABLE results (
    tenant_id   TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          TEXT        NOT NULL,
    code        TEXT        NOT NULL,
    name        TEXT        NOT NULL,
    description TEXT,
    archived_at TEXT,
    version     INTEGER      NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX results_tenant_code_key ON results (tenant_id, code);

CREATE TABLE follow_ups (
    tenant_id      TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             TEXT        NOT NULL,
    company_id     TEXT,
    contact_id     TEXT,
    lead_id        TEXT,
    phone_id       TEXT,
    due_at         TEXT NOT NULL,
    agent_id       TEXT,
    campaign_id    TEXT,
    status         TEXT        NOT NULL CHECK (status IN ('pending', 'done', 'canceled')),
    notes          TEXT,
    interaction_id TEXT,
    version        INTEGER      NOT NULL DEFAULT 1,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
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
    tenant_id       TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              TEXT        NOT NULL,
    channel         TEXT        NOT NULL CHECK (channel IN ('phone', 'whatsapp', 'email', 'in_person', 'other')),
    origin          TEXT        NOT NULL CHECK (origin IN ('dialer', 'whatsapp', 'manual', 'integration')),
    result_code     TEXT        NOT NULL,
    notes           TEXT,
    agent_id        TEXT,
    company_id      TEXT,
    contact_id      TEXT,
    lead_id         TEXT,
    conversation_id TEXT,
    call_id         TEXT,
    follow_up_id    TEXT,
    occurred_at     TEXT NOT NULL,
    created_at      TEXT NOT NULL,
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
    tenant_id        TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               TEXT        NOT NULL,
    kind             TEXT        NOT NULL,
    status           TEXT        NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    charset          TEXT,
    delimiter        TEXT,
    rows             INTEGER     NOT NULL DEFAULT 0,
    created          INTEGER     NOT NULL DEFAULT 0,
    updated          INTEGER     NOT NULL DEFAULT 0,
    failed           INTEGER     NOT NULL DEFAULT 0,
    ignored_columns  TEXT       NOT NULL DEFAULT '[]',
    errors           TEXT       NOT NULL DEFAULT '[]',
    errors_truncated INTEGER     NOT NULL DEFAULT 0,
    detail           TEXT,
    created_by       TEXT,
    created_at       TEXT NOT NULL,
    finished_at      TEXT,
    PRIMARY KEY (tenant_id, id)
) WITHOUT ROWID;
