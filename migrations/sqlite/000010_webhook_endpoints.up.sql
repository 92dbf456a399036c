-- Outbound webhooks: endpoints that subscribe to events, and the outbox of deliveries to them.
CREATE TABLE webhook_endpoints (
    tenant_id                  TEXT        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                         TEXT        NOT NULL,
    url                        TEXT        NOT NULL,
    description                TEXT        NOT NULL DEFAULT '',
    events                     TEXT        NOT NULL,
    secret                     TEXT        NOT NULL,
    previous_secret            TEXT,
    previous_expires_at        TEXT,
    secret_rotated_at          TEXT,
    enabled                    INTEGER     NOT NULL DEFAULT 1,
    disabled_reason            TEXT        CHECK (disabled_reason IN ('manual', 'failing', 'gone')),
    disabled_at                TEXT,
    last_success_at            TEXT,
    failing_since              TEXT,
    version                    INTEGER     NOT NULL DEFAULT 1,
    created_at                 TEXT NOT NULL,
    updated_at                 TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- One row per (event, endpoint). event_id is the webhook-id every attempt carries. The deliverers claim
-- pending rows whose next attempt is due, under a lease a dead deliverer's successor rescues.
CREATE TABLE webhook_deliveries (
    tenant_id        TEXT        NOT NULL,
    id               TEXT        NOT NULL,
    endpoint_id      TEXT        NOT NULL,
    event_id         TEXT        NOT NULL,
    event_type       TEXT        NOT NULL,
    payload          TEXT        NOT NULL,
    status           TEXT        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         INTEGER    NOT NULL DEFAULT 0,
    schedule_start   INTEGER    NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    lease_until      TEXT,
    leased_by        TEXT,
    first_failed_at  TEXT,
    last_attempt_at  TEXT,
    last_status_code INTEGER,
    last_error       TEXT,
    succeeded_at     TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (tenant_id, endpoint_id, id);
-- An endpoint's pending and failed counts, and its log filtered by status.
CREATE INDEX webhook_deliveries_endpoint_status ON webhook_deliveries (tenant_id, endpoint_id, status, id);
CREATE INDEX webhook_deliveries_created ON webhook_deliveries (created_at);

-- Every POST of a delivery and what came back.
CREATE TABLE webhook_attempts (
    tenant_id     TEXT        NOT NULL,
    id            TEXT        NOT NULL,
    delivery_id   TEXT        NOT NULL,
    attempted_at  TEXT NOT NULL,
    status_code   INTEGER,
    error         TEXT,
    duration_ms   INTEGER     NOT NULL,
    response_body TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, delivery_id) REFERENCES webhook_deliveries (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (tenant_id, delivery_id, attempted_at);
