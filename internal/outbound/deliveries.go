package outbound

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
)

// DeliveryFilter narrows a delivery list; empty fields do not filter.
type DeliveryFilter struct {
	Status    string
	EventType string
}

// Deliveries lists an endpoint's deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, tenantID, endpointID uuid.UUID, f DeliveryFilter, p store.Page) ([]Delivery, string, error) {
	exists, err := s.db.NewSelect().Model((*Endpoint)(nil)).Where("tenant_id = ? AND id = ?", tenantID, endpointID).Exists(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("find webhook endpoint: %w", err)
	}
	if !exists {
		return nil, "", ErrNotFound
	}
	var out []Delivery
	q := s.db.NewSelect().Model(&out).Where("wd.tenant_id = ? AND wd.endpoint_id = ?", tenantID, endpointID)
	if f.Status != "" {
		q = q.Where("wd.status = ?", f.Status)
	}
	if f.EventType != "" {
		q = q.Where("wd.event_type = ?", f.EventType)
	}
	p.Desc = true
	if err := p.Apply(q, "wd.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list webhook deliveries: %w", err)
	}
	out, next := store.Trim(p, out, func(d Delivery) uuid.UUID { return d.ID })
	return out, next, nil
}

// Delivery returns one delivery of an endpoint with its attempts, oldest first.
func (s *Service) Delivery(ctx context.Context, tenantID, endpointID, id uuid.UUID) (Delivery, []Attempt, error) {
	d, err := deliveryOf(ctx, s.db, tenantID, endpointID, id)
	if err != nil {
		return Delivery{}, nil, err
	}
	var attempts []Attempt
	if err := s.db.NewSelect().Model(&attempts).Where("wa.tenant_id = ? AND wa.delivery_id = ?", tenantID, id).
		OrderExpr("wa.attempted_at, wa.id").Scan(ctx); err != nil {
		return Delivery{}, nil, fmt.Errorf("list webhook attempts: %w", err)
	}
	return d, attempts, nil
}

func deliveryOf(ctx context.Context, db bun.IDB, tenantID, endpointID, id uuid.UUID) (Delivery, error) {
	var d Delivery
	err := db.NewSelect().Model(&d).Where("wd.tenant_id = ? AND wd.endpoint_id = ? AND wd.id = ?", tenantID, endpointID, id).Scan(ctx)
	return d, notFound(err)
}

// Redeliver puts a delivery back in the queue, due now, with a new retry schedule and its webhook-id. A
// disabled endpoint refuses with ErrDisabled.
func (s *Service) Redeliver(ctx context.Context, tenantID, endpointID, id uuid.UUID) (Delivery, error) {
	var d Delivery
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		ep, err := s.lockEndpoint(ctx, tx, tenantID, endpointID)
		if err != nil {
			return err
		}
		if !ep.Enabled {
			return ErrDisabled
		}
		q := tx.NewSelect().Model(&d).Where("wd.tenant_id = ? AND wd.endpoint_id = ? AND wd.id = ?", tenantID, endpointID, id)
		if err := store.Lock(s.db.Kind, q, "UPDATE").Scan(ctx); err != nil {
			return notFound(err)
		}
		if d.Status == StatusPending && d.LeasedBy != nil && d.LeaseUntil != nil && d.LeaseUntil.After(s.clock.Now()) {
			return nil // being sent right now: its outcome decides what comes next
		}
		now := s.clock.Now()
		d.Status, d.NextAttemptAt, d.ScheduleStart, d.FirstFailedAt = StatusPending, &now, d.Attempts, nil
		d.LeaseUntil, d.LeasedBy, d.SucceededAt, d.UpdatedAt = nil, nil, nil, now
		_, err = tx.NewUpdate().Model(&d).Column("status", "next_attempt_at", "schedule_start", "first_failed_at",
			"lease_until", "leased_by", "succeeded_at", "updated_at").WherePK().Exec(ctx)
		if err != nil {
			return fmt.Errorf("redeliver: %w", err)
		}
		return nil
	})
	return d, err
}

// Sweep deletes the deliveries (and their attempts) created before cutoff that are no longer pending.
func (s *Service) Sweep(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := s.db.NewDelete().Model((*Delivery)(nil)).Where("created_at < ? AND status <> ?", cutoff, StatusPending).Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("sweep webhook deliveries: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
