package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/atende/atende/internal/clock"
	"github.com/atende/atende/internal/tenant"
	"github.com/atende/atende/internal/ticket"
	"github.com/atende/atende/internal/webhook"
)

// webhookSecret finds who a signed webhook is for and the secrets that verify it (during a rotation, the
// old one too). It fails with errWebhookNotConfigured when there is none, whatever the reason, so the
// answer tells nothing.
type webhookSecret func(c echo.Context) (webhookTarget, error)

// webhookTarget is the receiver of a signed delivery: its tenant, the secrets that verify it, and the object
// it is addressed to (an integration), if any.
type webhookTarget struct {
	tenant  tenant.Tenant
	secrets []string
	subject any
	// refresh, when the target came from a cache, reads it again: a signature that fails against the
	// cached secrets is checked once more against the current ones (a rotation in another process).
	refresh func() (webhookTarget, error)
}

var errWebhookNotConfigured = errors.New("webhooks are not configured for this tenant")

// verifyWebhook checks a delivery's Standard Webhooks signature before anything else reads it. A missing
// or bad signature, a stale timestamp or an unknown tenant is a 401, and nothing changes.
func verifyWebhook(c echo.Context, op *operation, secretOf webhookSecret, clk clock.Clock, next echo.HandlerFunc) error {
	ctx := c.Request().Context()
	if secretOf == nil {
		return fmt.Errorf("operation %s is marked signed but has no secret resolver", op.id)
	}
	target, err := secretOf(c)
	if errors.Is(err, errWebhookNotConfigured) {
		return unauthorized(ctx, "Webhooks are not configured for this tenant.")
	}
	if err != nil {
		return err
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return problemErr(ctx, http.StatusRequestEntityTooLarge, problemTooLarge, "The request body is over the size limit.")
		}
		return fmt.Errorf("read webhook body: %w", err)
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	id, err := verifyAgainst(target.secrets, c.Request().Header, body, clk.Now())
	if errors.Is(err, webhook.ErrBadSignature) && target.refresh != nil {
		if target, err = target.refresh(); errors.Is(err, errWebhookNotConfigured) {
			return unauthorized(ctx, "Webhooks are not configured for this tenant.")
		}
		if err != nil {
			return err
		}
		id, err = verifyAgainst(target.secrets, c.Request().Header, body, clk.Now())
	}
	switch {
	case errors.Is(err, webhook.ErrMissingHeaders):
		return unauthorized(ctx, "The webhook-id, webhook-timestamp and webhook-signature headers are required.")
	case errors.Is(err, webhook.ErrBadTimestamp), errors.Is(err, webhook.ErrStale):
		return unauthorized(ctx, "The webhook-timestamp is not within 5 minutes of the server's time.")
	case err != nil:
		return unauthorized(ctx, "The webhook signature does not match.")
	}
	who := caller{webhook: &webhookCaller{tenant: target.tenant, id: id, subject: target.subject}}
	c.SetRequest(c.Request().WithContext(context.WithValue(ctx, callerKey{}, who)))
	return next(c)
}

// verifyAgainst verifies a delivery with each secret in turn until one signs it.
func verifyAgainst(secrets []string, h http.Header, body []byte, now time.Time) (string, error) {
	err := webhook.ErrBadSignature
	for _, secret := range secrets {
		var id string
		if id, err = webhook.Verify(secret, h, body, now); !errors.Is(err, webhook.ErrBadSignature) {
			return id, err
		}
	}
	return "", err
}

// plinxWebhookSecret resolves the tenant of POST /v1/webhooks/plinx/{tenant_id} and its Plinx secret.
func plinxWebhookSecret(tenants *tenant.Service) webhookSecret {
	return func(c echo.Context) (webhookTarget, error) {
		id, err := uuid.Parse(c.Param("tenant_id"))
		if err != nil {
			return webhookTarget{}, errWebhookNotConfigured
		}
		t, err := tenants.Tenant(c.Request().Context(), id)
		if errors.Is(err, tenant.ErrNotFound) {
			return webhookTarget{}, errWebhookNotConfigured
		}
		if err != nil {
			return webhookTarget{}, err
		}
		if t.PlinxWebhookSecret == nil {
			return webhookTarget{}, errWebhookNotConfigured
		}
		return webhookTarget{tenant: t, secrets: []string{*t.PlinxWebhookSecret}}, nil
	}
}

// integrationWebhookSecret resolves the active integration of POST /v1/integrations/{id}/events, its
// tenant and its secrets.
func integrationWebhookSecret(tickets *ticket.Service, clk clock.Clock) webhookSecret {
	return func(c echo.Context) (webhookTarget, error) {
		id, err := uuid.Parse(c.Param("id"))
		if err != nil {
			return webhookTarget{}, errWebhookNotConfigured
		}
		resolve := func(fresh bool) (webhookTarget, error) {
			ig, t, err := tickets.ActiveIntegration(c.Request().Context(), id, fresh)
			if errors.Is(err, ticket.ErrIntegrationUnknown) {
				return webhookTarget{}, errWebhookNotConfigured
			}
			if err != nil {
				return webhookTarget{}, err
			}
			return webhookTarget{tenant: t, secrets: ig.Secrets(clk.Now()), subject: ig}, nil
		}
		target, err := resolve(false)
		target.refresh = func() (webhookTarget, error) { return resolve(true) }
		return target, err
	}
}
