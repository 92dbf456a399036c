package outbound

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/atende/atende/internal/store"
	"github.com/atende/atende/internal/validate"
	"github.com/atende/atende/internal/webhook"
)

// NewEndpoint describes an endpoint to create.
type NewEndpoint struct {
	URL         string
	Description string
	Events      []string
	Enabled     *bool
}

// EndpointPatch lists endpoint fields to change; nil fields keep their value.
type EndpointPatch struct {
	URL         *string
	Description *string
	Events      *[]string
	Enabled     *bool
}

// checkURL refuses what cannot be delivered to: other schemes, no host, credentials in the URL, fragments.
func checkURL(errs *validate.Errors, raw string) string {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs():
		errs.Add("url", "must be an absolute http or https URL")
	case u.Scheme != "http" && u.Scheme != "https":
		errs.Add("url", "must use http or https")
	case u.Hostname() == "":
		errs.Add("url", "must name a host")
	case u.User != nil:
		errs.Add("url", "must not carry credentials; verify deliveries by their signature")
	case u.Fragment != "":
		errs.Add("url", "must not have a fragment")
	default:
		if p := u.Port(); p != "" {
			if _, err := net.LookupPort("tcp", p); err != nil {
				errs.Add("url", "has an invalid port")
			}
		}
	}
	return raw
}

// checkEvents refuses unknown and repeated types and an empty list.
func checkEvents(errs *validate.Errors, events []string) []string {
	if len(events) == 0 {
		errs.Add("events", "must name at least one event type")
	}
	out := make([]string, 0, len(events))
	for i, e := range events {
		switch {
		case !slices.Contains(EventTypes, e):
			errs.Add(fmt.Sprintf("events.%d", i), "is not an event type: use one of %s", strings.Join(EventTypes, ", "))
		case slices.Contains(out, e):
			errs.Add(fmt.Sprintf("events.%d", i), "repeats %s", e)
		default:
			out = append(out, e)
		}
	}
	return out
}

// CreateEndpoint stores an endpoint with a new signing secret, returned in it this once.
func (s *Service) CreateEndpoint(ctx context.Context, tenantID uuid.UUID, in NewEndpoint) (Endpoint, error) {
	now := s.clock.Now()
	var errs validate.Errors
	ep := Endpoint{TenantID: tenantID, ID: newID(), URL: checkURL(&errs, in.URL), Description: strings.TrimSpace(in.Description),
		Events: checkEvents(&errs, in.Events), Secret: webhook.NewSecret(), Enabled: true, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := errs.Err(); err != nil {
		return Endpoint{}, err
	}
	if in.Enabled != nil && !*in.Enabled {
		reason := DisabledManual
		ep.Enabled, ep.DisabledReason, ep.DisabledAt = false, &reason, &now
	}
	if _, err := s.db.NewInsert().Model(&ep).Exec(ctx); err != nil {
		return Endpoint{}, fmt.Errorf("insert webhook endpoint: %w", err)
	}
	return ep, nil
}

// withCounts adds the endpoint's pending and failed delivery counts to a select of endpoints.
func withCounts(q *bun.SelectQuery) *bun.SelectQuery {
	return q.ColumnExpr("we.*").
		ColumnExpr("(SELECT count(*) FROM webhook_deliveries wd WHERE wd.tenant_id = we.tenant_id AND wd.endpoint_id = we.id AND wd.status = ?) AS pending", StatusPending).
		ColumnExpr("(SELECT count(*) FROM webhook_deliveries wd WHERE wd.tenant_id = we.tenant_id AND wd.endpoint_id = we.id AND wd.status = ?) AS failed", StatusFailed)
}

// Endpoint returns one endpoint of the tenant, with its delivery counts.
func (s *Service) Endpoint(ctx context.Context, tenantID, id uuid.UUID) (Endpoint, error) {
	var ep Endpoint
	if err := withCounts(s.db.NewSelect().Model(&ep)).Where("we.tenant_id = ? AND we.id = ?", tenantID, id).Scan(ctx); err != nil {
		return Endpoint{}, notFound(err)
	}
	return ep, nil
}

// Endpoints lists the tenant's endpoints, oldest first.
func (s *Service) Endpoints(ctx context.Context, tenantID uuid.UUID, p store.Page) ([]Endpoint, string, error) {
	var out []Endpoint
	if err := p.Apply(withCounts(s.db.NewSelect().Model(&out)).Where("we.tenant_id = ?", tenantID), "we.id").Scan(ctx); err != nil {
		return nil, "", fmt.Errorf("list webhook endpoints: %w", err)
	}
	out, next := store.Trim(p, out, func(ep Endpoint) uuid.UUID { return ep.ID })
	return out, next, nil
}

// lockEndpoint reads an endpoint in tx, locked on PostgreSQL against concurrent changes and deliveries'
// outcomes; events published meanwhile (which share its key) do not wait.
func (s *Service) lockEndpoint(ctx context.Context, tx bun.IDB, tenantID, id uuid.UUID) (Endpoint, error) {
	return s.lockEndpointFor(ctx, tx, tenantID, id, "NO KEY UPDATE")
}

// lockEndpointFor reads an endpoint in tx with a PostgreSQL row lock of the given strength. Whoever locks an
// endpoint and its deliveries locks the endpoint first.
func (s *Service) lockEndpointFor(ctx context.Context, tx bun.IDB, tenantID, id uuid.UUID, strength string) (Endpoint, error) {
	var ep Endpoint
	q := tx.NewSelect().Model(&ep).Where("we.tenant_id = ? AND we.id = ?", tenantID, id)
	if err := store.Lock(s.db.Kind, q, strength).Scan(ctx); err != nil {
		return Endpoint{}, notFound(err)
	}
	return ep, nil
}

// UpdateEndpoint changes an endpoint if it is still at version ifVersion (when given). Enabling it clears why
// it was disabled and makes its waiting deliveries due now, with new retry schedules; disabling holds them.
func (s *Service) UpdateEndpoint(ctx context.Context, tenantID, id uuid.UUID, p EndpointPatch, ifVersion *int64) (Endpoint, error) {
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		ep, err := s.lockEndpoint(ctx, tx, tenantID, id)
		if err != nil {
			return err
		}
		if ifVersion != nil && *ifVersion != ep.Version {
			return ErrStale
		}
		var errs validate.Errors
		if p.URL != nil {
			ep.URL = checkURL(&errs, *p.URL)
		}
		if p.Description != nil {
			ep.Description = strings.TrimSpace(*p.Description)
		}
		if p.Events != nil {
			ep.Events = checkEvents(&errs, *p.Events)
		}
		if err := errs.Err(); err != nil {
			return err
		}
		now := s.clock.Now()
		if p.Enabled != nil && *p.Enabled != ep.Enabled {
			if *p.Enabled {
				ep.Enabled, ep.DisabledReason, ep.DisabledAt, ep.FailingSince = true, nil, nil, nil
				// Waiting deliveries are due now, each with a new retry schedule, as a redelivery has.
				_, err := tx.NewUpdate().Model((*Delivery)(nil)).Set("next_attempt_at = ?", now).Set("updated_at = ?", now).
					Set("schedule_start = attempts").Set("first_failed_at = NULL").
					Where("tenant_id = ? AND endpoint_id = ? AND status = ?", tenantID, id, StatusPending).Exec(ctx)
				if err != nil {
					return fmt.Errorf("resume deliveries: %w", err)
				}
			} else {
				reason := DisabledManual
				ep.Enabled, ep.DisabledReason, ep.DisabledAt = false, &reason, &now
				if err := holdPending(ctx, tx, tenantID, id, now); err != nil {
					return err
				}
			}
		}
		return s.saveEndpoint(ctx, tx, &ep, now)
	})
	if err != nil {
		return Endpoint{}, err
	}
	return s.Endpoint(ctx, tenantID, id)
}

func (s *Service) saveEndpoint(ctx context.Context, tx bun.IDB, ep *Endpoint, now time.Time) error {
	expected := ep.Version
	ep.Version++
	ep.UpdatedAt = now
	res, err := tx.NewUpdate().Model(ep).WherePK().Where("version = ?", expected).Exec(ctx)
	if err != nil {
		return fmt.Errorf("update webhook endpoint: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrStale
	}
	return nil
}

// DeleteEndpoint deletes an endpoint with its deliveries and their attempts.
func (s *Service) DeleteEndpoint(ctx context.Context, tenantID, id uuid.UUID) error {
	return store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		// The strongest lock: events being published to the endpoint finish first.
		if _, err := s.lockEndpointFor(ctx, tx, tenantID, id, "UPDATE"); err != nil {
			return err
		}
		_, err := tx.NewDelete().Model((*Endpoint)(nil)).Where("tenant_id = ? AND id = ?", tenantID, id).Exec(ctx)
		if err != nil {
			return fmt.Errorf("delete webhook endpoint: %w", err)
		}
		return nil
	})
}

// RotateSecret gives the endpoint a new signing secret, returned in it this once; deliveries also carry a
// signature with the previous one for SecretGrace.
func (s *Service) RotateSecret(ctx context.Context, tenantID, id uuid.UUID) (Endpoint, error) {
	var ep Endpoint
	err := store.RunInTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if ep, err = s.lockEndpoint(ctx, tx, tenantID, id); err != nil {
			return err
		}
		now := s.clock.Now()
		previous, expires := ep.Secret, now.Add(SecretGrace)
		ep.PreviousSecret, ep.PreviousExpiresAt, ep.SecretRotatedAt = &previous, &expires, &now
		ep.Secret = webhook.NewSecret()
		return s.saveEndpoint(ctx, tx, &ep, now)
	})
	return ep, err
}
