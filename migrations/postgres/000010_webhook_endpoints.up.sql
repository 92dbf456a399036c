-- Outbound webhooks: endpoints that subscribe to events, and the outbox of deliveries to them.
CREATE TABLE webhook_endpoints (
    tenant_id                  uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                         uuid        NOT NULL,
    url                        text        NOT NULL,
    description                text        NOT NULL DEFAULT '',
    events                     jsonb       NOT NULL,
    secret                     text        NOT NULL,
    previous_secret            TEXT,
    previous_expires_at        timestamptz,
    secret_rotated_at          timestamptz,
    enabled                    boolean     NOT NULL DEFAULT true,
    disabled_reason            text        CHECK (disabled_reason IN ('manual', 'failing', 'gone')),
    disabled_at                timestamptz,
    last_success_at            timestamptz,
    failing_since              timestamptz,
    version                    bigint      NOT NULL DEFAULT 1,
    created_at                 timestamptz NOT NULL,
    updated_at                 timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- One row per (event, endpoint). event_id is the webhook-id every attempt carries. The deliverers claim
-- pending rows whose next attempt is due, under a lease a dead deliverer's successor rescues.
CREATE TABLE webhook_deliveries (
    tenant_id        uuid        NOT NULL,
    id               uuid        NOT NULL,
    endpoint_id      uuid        NOT NULL,
    event_id         text        NOT NULL,
    event_type       text        NOT NULL,
    payload          json        NOT NULL, -- the event as sent, only ever read back whole
    status           text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts         INTEGER     NOT NULL DEFAULT 0,
    schedule_start   INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    lease_until      timestamptz,
    leased_by        TEXT,
    first_failed_at  timestamptz,
    last_attempt_at  timestamptz,
    last_status_code INTEGER,
    last_error       TEXT,
    succeeded_at     timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
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
    tenant_id     uuid        NOT NULL,
    id            uuid        NOT NULL,
    delivery_id   uuid        NOT NULL,
    attempted_at  timestamptz NOT NULL,
    status_code   INTEGER,
    error         TEXT,
    duration_ms   bigint      NOT NULL,
    response_body TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, delivery_id) REFERENCES webhook_deliveries (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (tenant_id, delivery_id, attempted_at);
