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
	"github.com/atende/atende/internal/webhook"
)

// webhookSecret finds the tenant a signed webhook is for and the secret it must be signed with. It fails
// with errWebhookNotConfigured when there is none, whatever the reason, so the answer tells nothing.
type webhookSecret func(c echo.Context) (tenant.Tenant, string, error)

var errWebhookNotConfigured = errors.New("webhooks are not configured for this tenant")

// verifyWebhook checks a delivery's Standard Webhooks signature before anything else reads it. A missing
// or bad signature, a stale timestamp or an unknown tenant is a 401, and nothing changes.
func verifyWebhook(c echo.Context, op *operation, secretOf webhookSecret, clk clock.Clock, next echo.HandlerFunc) error {
	ctx := c.Request().Context()
	if secretOf == nil {
		return fmt.Errorf("operation %s is marked signed but has no secret resolver", op.id)
	}
	t, secret, err := secretOf(c)
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
	id, err := webhook.Verify(secret, c.Request().Header, body, clk.Now())
	switch {
	case errors.Is(err, webhook.ErrMissingHeaders):
		return unauthorized(ctx, "The webhook-id, webhook-timestamp and webhook-signature headers are required.")
	case errors.Is(err, webhook.ErrBadTimestamp), errors.Is(err, webhook.ErrStale):
		return unauthorized(ctx, "The webhook-timestamp is not within 5 minutes of the server's time.")
	case err != nil:
		return unauthorized(ctx, "The webhook signature does not match.")
	}
	who := caller{webhook: &webhookCaller{tenant: t, id: id}}
	c.SetRequest(c.Request().WithContext(context.WithValue(ctx, callerKey{}, who)))
	return next(c)
}

// plinxWebhookSecret resolves the tenant of POST /v1/webhooks/plinx/{tenant_id} and its Plinx secret.
func plinxWebhookSecret(tenants *tenant.Service) webhookSecret {
	return func(c echo.Context) (tenant.Tenant, string, error) {
		id, err := uuid.Parse(c.Param("tenant_id"))
		if err != nil {
			return tenant.Tenant{}, "", errWebhookNotConfigured
		}
		t, err := tenants.Tenant(c.Request().Context(), id)
		if errors.Is(err, tenant.ErrNotFound) {
			return tenant.Tenant{}, "", errWebhookNotConfigured
		}
		if err != nil {
			return tenant.Tenant{}, "", err
		}
		if t.PlinxWebhookSecret == nil {
			return tenant.Tenant{}, "", errWebhookNotConfigured
		}
		return t, *t.PlinxWebhookSecret, nil
	}
}
