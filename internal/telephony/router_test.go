package telephony_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/atende/atende/internal/telephony"
)

func TestRouterPlacesThroughTheTenantsAdapter(t *testing.T) {
	t.Parallel()
	simulated := telephony.NewSimulated(nil, nil, telephony.SimulatedOptions{})
	t.Cleanup(func() { require.NoError(t, simulated.Close()) })
	rcv := newReceiver(t, nil)
	hooked := rcv.adapter(telephony.WebhookOptions{})

	simTenant, hookTenant, oddTenant, brokenTenant := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	settingsDown := errors.New("settings unavailable")
	adapters := map[string]telephony.Port{telephony.AdapterSimulated: simulated, telephony.AdapterWebhook: hooked}
	r := telephony.NewRouter(func(_ context.Context, tenant uuid.UUID) (string, error) {
		switch tenant {
		case simTenant:
			return telephony.AdapterSimulated, nil
		case hookTenant:
			return telephony.AdapterWebhook, nil
		case oddTenant:
			return "sip", nil
		}
		return "", settingsDown
	}, adapters)
	delete(adapters, telephony.AdapterWebhook) // the router keeps its own copy

	ctx := bounded(t)
	simCall, hookCall := newCall(simTenant, "+5511900000001"), newCall(hookTenant, "+5511900000002")
	require.NoError(t, r.Place(ctx, simCall))
	require.NoError(t, r.Place(ctx, hookCall))
	require.ErrorIs(t, r.Place(ctx, newCall(oddTenant, "+5511900000003")), telephony.ErrUnknownAdapter)
	require.ErrorIs(t, r.Place(ctx, newCall(brokenTenant, "+5511900000004")), settingsDown)

	require.Equal(t, []telephony.Call{simCall}, simulated.Placed(), "only the simulated tenant's call is simulated")
	got := rcv.deliveries()
	require.Len(t, got, 1, "only the webhook tenant's call is posted")
	require.Equal(t, telephony.DeliveryID(hookCall.ID), got[0].header.Get("webhook-id"))
}
