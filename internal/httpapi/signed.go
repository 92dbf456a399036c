package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

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
	var id string
	err = errWebhookNotConfigured
	for _, secret := range target.secrets {
		if id, err = webhook.Verify(secret, c.Request().Header, body, clk.Now()); !errors.Is(err, webhook.ErrBadSignature) {
			break
		}
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
func integrationWebhookSecret(tenants *tenant.Service, tickets *ticket.Service, clk clock.Clock) webhookSecret {
	return func(c echo.Context) (webhookTarget, error) {
		ctx := c.Request().Context()
		id, err := uuid.Parse(c.Param("id"))
		if err != nil {
			return webhookTarget{}, errWebhookNotConfigured
		}
		ig, err := tickets.ActiveIntegration(ctx, id)
		if errors.Is(err, ticket.ErrIntegrationUnknown) {
			return webhookTarget{}, errWebhookNotConfigured
		}
		if err != nil {
			return webhookTarget{}, err
		}
		t, err := tenants.Tenant(ctx, ig.TenantID)
		if err != nil {
			return webhookTarget{}, err
		}
		return webhookTarget{tenant: t, secrets: ig.Secrets(clk.Now()), subject: ig}, nil
	}
}
