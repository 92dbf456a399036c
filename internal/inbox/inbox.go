// Package inbox remembers the webhook deliveries atende accepted, by sender and delivery id, so that a
// redelivery changes nothing. Accept runs in the transaction that applies the delivery: if applying fails,
// the delivery is not remembered either, and the sender's retry is processed.
package inbox

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
)

// Retention is how long deliveries are remembered; senders retry within minutes to hours.
const Retention = 7 * 24 * time.Hour

// Receipt is one accepted delivery.
type Receipt struct {
	bun.BaseModel `bun:"table:webhook_receipts,alias:wr"`

	TenantID   uuid.UUID `bun:"tenant_id,pk"`
	Source     string    `bun:"source,pk"`
	WebhookID  string    `bun:"webhook_id,pk"`
	ReceivedAt time.Time `bun:"received_at"`
}

// Accept records a delivery and reports whether it is new; false means it was accepted before.
func Accept(ctx context.Context, db bun.IDB, tenantID uuid.UUID, source, webhookID string, now time.Time) (bool, error) {
	r := Receipt{TenantID: tenantID, Source: source, WebhookID: webhookID, ReceivedAt: now}
	res, err := db.NewInsert().Model(&r).On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return false, fmt.Errorf("record webhook delivery: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Sweep forgets deliveries received before cutoff.
func Sweep(ctx context.Context, db bun.IDB, cutoff time.Time) (int64, error) {
	res, err := db.NewDelete().Model((*Receipt)(nil)).Where("received_at < ?", cutoff).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("sweep webhook deliveries: %w", err)
	}
	return res.RowsAffected()
}
